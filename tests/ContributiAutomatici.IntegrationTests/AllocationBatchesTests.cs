using ContributiAutomatici.Client;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Server;
using ContributiAutomatici.Tooling;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>AllocateBatches (a year's items several per message, both ways) against Allocate, and the typed client's allocation on it.</summary>
[Collection("server")]
public sealed class AllocationBatchesTests(ServerFixture fixture)
{
    private static readonly DateTime Deadline = DateTime.UtcNow.AddMinutes(10);
    private static readonly Marshaller<byte[]> RawBytes = Marshallers.Create(b => b, b => b);

    private static AllocationYear Example(string file) =>
        JsonParser.Default.Parse<AllocationYear>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", file)));

    /// <summary>The example years and a synthetic year of 900 works (its result more than one batch of answers), under both policies.</summary>
    private List<AllocateRequest>[] Years()
    {
        var synthetic = YearSynthesizer.Items(fixture.Server.Catalog.Find("dm-2021")!, 250, 900, seed: 11, year: 2023, budget: 50_000_000m).ToList();
        var years = new List<List<AllocateRequest>>
        {
            AllocationMapper.Items(Example("year-2023.json")).ToList(), AllocationMapper.Items(Example("year-2021.json")).ToList(), synthetic,
        };
        foreach (var year in years.ToList())
        {
            var redistributed = year.Select(i => i.Clone()).ToList();
            redistributed[0].Header.ExcessPolicy = ExcessPolicy.Redistribute;
            years.Add(redistributed);
        }
        return [.. years];
    }

    private static readonly Method<AllocateRequest, byte[]> AllocateRaw = new(MethodType.DuplexStreaming, "contributi.v1.AllocationService", "Allocate",
        Marshallers.Create<AllocateRequest>(r => r.ToByteArray(), AllocateRequest.Parser.ParseFrom), RawBytes);

    private static readonly Method<AllocateBatchesRequest, byte[]> BatchesRaw = new(MethodType.DuplexStreaming, "contributi.v1.AllocationService",
        "AllocateBatches", Marshallers.Create<AllocateBatchesRequest>(r => r.ToByteArray(), AllocateBatchesRequest.Parser.ParseFrom), RawBytes);

    /// <summary>Allocate: every response message's bytes as they came over the wire.</summary>
    private async Task<List<byte[]>> AllocateBytes(IReadOnlyList<AllocateRequest> items)
    {
        using var call = fixture.Channel.CreateCallInvoker().AsyncDuplexStreamingCall(AllocateRaw, null, new CallOptions(deadline: Deadline));
        foreach (var item in items) await call.RequestStream.WriteAsync(item);
        await call.RequestStream.CompleteAsync();
        var answers = new List<byte[]>();
        await foreach (var a in call.ResponseStream.ReadAllAsync()) answers.Add(a);
        return answers;
    }

    /// <summary>AllocateBatches with the items in batches of the given sizes, in turn: every response message's bytes as they came.</summary>
    private async Task<List<byte[]>> BatchesBytes(IReadOnlyList<AllocateRequest> items, int[] sizes)
    {
        using var call = fixture.Channel.CreateCallInvoker().AsyncDuplexStreamingCall(BatchesRaw, null, new CallOptions(deadline: Deadline));
        for (int at = 0, k = 0; at < items.Count; k++)
        {
            var batch = new AllocateBatchesRequest();
            batch.Items.AddRange(items.Skip(at).Take(sizes[k % sizes.Length]));
            at += batch.Items.Count;
            await call.RequestStream.WriteAsync(batch);
        }
        await call.RequestStream.CompleteAsync();
        var answers = new List<byte[]>();
        await foreach (var a in call.ResponseStream.ReadAllAsync()) answers.Add(a);
        return answers;
    }

    /// <summary>The items of an AllocateBatchesResponse's bytes, each its bytes as written (field 1, length-delimited; nothing else).</summary>
    private static List<byte[]> ItemsOf(byte[] batch)
    {
        var input = new CodedInputStream(batch);
        var items = new List<byte[]>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            Assert.Equal(WireFormat.MakeTag(AllocateBatchesResponse.ItemsFieldNumber, WireFormat.WireType.LengthDelimited), tag);
            items.Add(input.ReadBytes().ToByteArray());
        }
        return items;
    }

    private static string[] Hex(IEnumerable<byte[]> items) => items.Select(Convert.ToHexString).ToArray();

    [Fact]
    public async Task The_batches_carry_Allocate_items_byte_for_byte_in_its_order_at_most_1024_items_and_1_MiB_a_message()
    {
        var sawSeveral = false;
        foreach (var year in Years())
        {
            var single = await AllocateBytes(year);
            // Batches of every size, an empty one among them, and one batch for the whole year.
            foreach (var sizes in new[] { new[] { 1, 7, 0, 500, 3 }, [RequestLimits.MaxAllocateBatchItems] })
            {
                var batches = await BatchesBytes(year, sizes);
                Assert.Equal(Hex(single), Hex(batches.SelectMany(ItemsOf)));
                Assert.All(batches, b => Assert.InRange(ItemsOf(b).Count, 1, AllocationFrames.BatchItems));
                Assert.All(batches, b => Assert.True(b.Length <= AllocationFrames.BatchBytes || ItemsOf(b).Count == 1, $"{b.Length} bytes"));
                // Every batch but the last is full by count or by bytes.
                Assert.All(batches.SkipLast(1), b => Assert.True(ItemsOf(b).Count == AllocationFrames.BatchItems || b.Length > AllocationFrames.BatchBytes / 2));
                sawSeveral |= batches.Count > 1;
            }
        }
        Assert.True(sawSeveral, "no year had more than one batch of answers");
    }

    [Fact]
    public void Batched_frames_hold_each_item_as_protobuf_writes_it_and_end_at_the_count_or_the_bytes()
    {
        var items = Enumerable.Range(0, 50).Select(i => new AllocateResponse
        {
            Exclusion = new Exclusion { CompanyId = new string('c', i * 40), Reason = $"r{i}" },
        }).ToList();
        foreach (var (maxItems, maxBytes) in new[] { (7, 1 << 20), (1_000, 600), (3, 100) })
        {
            var batches = AllocationFrames.Batches(items.Select(i => (ReadOnlyMemory<byte>)i.ToByteArray()), maxItems, maxBytes)
                .Select(b => b.ToArray()).ToList();
            var parsed = batches.Select(AllocateBatchesResponse.Parser.ParseFrom).ToList();
            Assert.Equal(items, parsed.SelectMany(b => b.Items));
            // The bytes are those protobuf writes for the batch message.
            Assert.Equal(Hex(parsed.Select(p => p.ToByteArray())), Hex(batches));
            Assert.All(batches, b => Assert.True(ItemsOf(b).Count <= maxItems && (b.Length <= maxBytes || ItemsOf(b).Count == 1)));
            Assert.All(batches.SkipLast(1).Zip(batches.Skip(1)), p =>
                Assert.True(ItemsOf(p.First).Count == maxItems || p.First.Length + 1 + ItemsOf(p.Second)[0].Length + 2 > maxBytes));
        }
        // An item larger than the limit goes alone (its varint length two bytes long).
        var large = AllocationFrames.Batches([new byte[300], new byte[10]], 10, 100).Select(b => b.ToArray()).ToList();
        Assert.Equal([3 + 300, 2 + 10], large.Select(b => b.Length));
    }

    [Fact]
    public async Task The_typed_client_allocates_every_year_as_Allocate_does()
    {
        var logs = new ListLoggerProvider();
        using var factory = new LoggerFactory([logs]);
        using var client = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address, LoggerFactory = factory });
        foreach (var year in Years())
        {
            var expected = AllocationMapper.Result((await AllocateBytes(year)).Select(AllocateResponse.Parser.ParseFrom));
            var result = await client.AllocateAsync(year);
            Assert.Equal(expected.ToByteArray(), result.ToByteArray());
            Assert.NotEmpty(result.Companies);
        }
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("AllocateBatches", StringComparison.Ordinal)); // no fallback: batches served
    }

    [Fact]
    public async Task The_typed_client_hands_out_every_year_s_items_as_they_come_byte_for_byte_those_of_Allocate()
    {
        using var client = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address });
        foreach (var year in Years())
        {
            var expected = Hex(await AllocateBytes(year));
            var items = new List<byte[]>();
            await foreach (var item in client.AllocateItemsAsync(year)) items.Add(item.ToByteArray());
            Assert.Equal(expected, Hex(items));
            Assert.Equal(AllocateResponse.ItemOneofCase.Summary, AllocateResponse.Parser.ParseFrom(items[0]).ItemCase);
        }
    }

    [Fact]
    public async Task Handing_out_items_a_bad_year_fails_at_the_first_item_and_a_caller_may_stop_early()
    {
        var year = Example("year-2023.json");
        year.Claims[1].RightsSharePercent = "150";
        using var client = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address, RetryCount = 0 });
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in client.AllocateItemsAsync(AllocationMapper.Items(year).ToList())) Assert.Fail("an item of a refused year");
        });
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal($"items[{1 + year.Companies.Count + year.Works.Count + 1}].claim.rights_share_percent",
            Assert.Single(ContributiClient.FieldViolations(ex)).Field);

        // A caller that stops after the summary ends the call; the client serves the next one.
        var synthetic = YearSynthesizer.Items(fixture.Server.Catalog.Find("dm-2021")!, 250, 900, seed: 11, year: 2023, budget: 50_000_000m).ToList();
        await foreach (var item in client.AllocateItemsAsync(synthetic))
        {
            Assert.Equal(900, item.Summary.Works);
            break;
        }
        var whole = new List<AllocateResponse>();
        await foreach (var item in client.AllocateItemsAsync(synthetic)) whole.Add(item);
        Assert.Equal((await client.AllocateAsync(synthetic)).Works.Count, whole.Count(i => i.ItemCase == AllocateResponse.ItemOneofCase.Work));
    }

    [Fact]
    public async Task A_caller_that_cancels_while_the_year_is_being_written_gets_the_cancellation_and_the_client_serves_on()
    {
        var items = YearSynthesizer.Items(fixture.Server.Catalog.Find("dm-2021")!, 1_000, 10_000, seed: 5, year: 2023, budget: 50_000_000m).ToList();
        using var client = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address, RetryCount = 0 });
        foreach (var ms in new[] { 1, 20, 60, 150 })
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(ms));
            var collected = await Assert.ThrowsAnyAsync<Exception>(() => client.AllocateAsync(items, cts.Token));
            Assert.True(Cancelled(collected), collected.ToString());
            using var cts2 = new CancellationTokenSource(TimeSpan.FromMilliseconds(ms));
            var handed = await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                await foreach (var _ in client.AllocateItemsAsync(items, cts2.Token)) { }
            });
            Assert.True(Cancelled(handed), handed.ToString());
        }
        Assert.Equal(10_000, (await client.AllocateAsync(items)).Works.Count);

        static bool Cancelled(Exception ex) => ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled };
    }

    [Fact]
    public async Task Statements_for_one_company_are_honoured_as_Allocate_honours_them()
    {
        var year = Example("year-2023.json");
        year.Header.StatementsFor.Add("alfa-film");
        var items = AllocationMapper.Items(year).ToList();
        using var client = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address });

        var single = await AllocateBytes(items);
        var batched = await BatchesBytes(items, [2, 5]);
        var result = await client.AllocateAsync(year);

        Assert.Equal(Hex(single), Hex(batched.SelectMany(ItemsOf)));
        Assert.Equal(AllocationMapper.Result(single.Select(AllocateResponse.Parser.ParseFrom)), result);
        Assert.Equal("alfa-film", Assert.Single(result.Companies).CompanyId);
        Assert.Equal(["campione-incassi", "opera-prima"], result.Works.Select(w => w.WorkId));
    }

    [Fact]
    public async Task A_bad_year_is_refused_with_Allocate_field_paths_counting_items_across_the_batches()
    {
        var year = Example("year-2023.json");
        year.Header.Budget = "-5";
        year.Claims[0].Role.Role = (Role)42;
        year.Claims[1].RightsSharePercent = "150";
        year.Claims[2].WorkId = "never-given";
        year.Claims[^1].RightsSharePercent = "-1";
        var items = AllocationMapper.Items(year).ToList();

        var single = await Assert.ThrowsAsync<RpcException>(() => AllocateBytes(items));
        using var client = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address, RetryCount = 0 });
        var typed = await Assert.ThrowsAsync<RpcException>(() => client.AllocateAsync(items));
        foreach (var sizes in new[] { new[] { 3, 2 }, [1], [RequestLimits.MaxAllocateBatchItems] })
        {
            var batched = await Assert.ThrowsAsync<RpcException>(() => BatchesBytes(items, sizes));
            Assert.Equal(StatusCode.InvalidArgument, batched.StatusCode);
            Assert.Equal(single.Status.Detail, batched.Status.Detail);
            Assert.Equal(Violations(single), Violations(batched));
        }
        Assert.Equal(Violations(single), Violations(typed));

        var claims = 1 + year.Companies.Count + year.Works.Count;
        string[] expected = ["items[0].header.budget", $"items[{claims}].claim.role.role", $"items[{claims + 1}].claim.rights_share_percent",
            $"items[{claims + 2}].claim.work_id", $"items[{items.Count - 1}].claim.rights_share_percent"];
        Assert.Equal(expected.Order(StringComparer.Ordinal), ContributiClient.FieldViolations(single).Select(v => v.Field).Order(StringComparer.Ordinal));
    }

    private static string[] Violations(RpcException ex) => ContributiClient.FieldViolations(ex).Select(v => $"{v.Field}: {v.Description}").ToArray();

    [Fact]
    public async Task A_batch_over_the_limit_ends_the_call_with_INVALID_ARGUMENT_naming_items()
    {
        Assert.Equal(RequestLimits.MaxAllocateBatchItems, ContributiClientOptions.AllocationBatchItems); // the client's limit is the server's
        var items = AllocationMapper.Items(Example("year-2023.json")).ToList();
        using var call = new AllocationService.AllocationServiceClient(fixture.Channel).AllocateBatches(deadline: Deadline);
        var first = new AllocateBatchesRequest();
        first.Items.AddRange(items);
        await call.RequestStream.WriteAsync(first);
        var tooMany = new AllocateBatchesRequest();
        for (var i = 0; i <= RequestLimits.MaxAllocateBatchItems; i++) tooMany.Items.Add(items[1]);
        await call.RequestStream.WriteAsync(tooMany);

        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var violation = Assert.Single(ContributiClient.FieldViolations(ex));
        Assert.Equal("items", violation.Field);
        Assert.Equal($"at most {RequestLimits.MaxAllocateBatchItems} items in one batch, got {RequestLimits.MaxAllocateBatchItems + 1} (request limit)",
            violation.Description);
    }

    [Fact]
    public async Task A_server_without_AllocateBatches_is_asked_again_on_Allocate_with_the_same_result()
    {
        await using var old = await OldServer<OldAllocation>.StartAsync();
        // Some 10,000 items: the client is still writing its batches when UNIMPLEMENTED comes.
        var year = new List<AllocateRequest> { new() { Header = new AllocationHeader { ApplicationYear = 2023, Budget = "1000" } } };
        year.AddRange(Enumerable.Range(0, 10_000).Select(i => new AllocateRequest { Company = new Company { Id = $"c{i}", Name = new string('n', 200) } }));
        var logs = new ListLoggerProvider();
        using var factory = new LoggerFactory([logs]);
        using var client = new ContributiClient(new ContributiClientOptions { Address = old.Address, LoggerFactory = factory });
        AllocationResult? first = null;
        for (var call = 0; call < 2; call++) // the second call goes straight to Allocate
        {
            var result = await client.AllocateAsync(year);
            Assert.Equal(10_000, result.Summary.Companies);
            var items = new List<AllocateResponse>();
            await foreach (var item in client.AllocateItemsAsync(year)) items.Add(item);
            Assert.Equal([new AllocateResponse { Summary = result.Summary }, .. result.Companies.Select(c => new AllocateResponse { Company = c })], items);
            Assert.Equal(year.Skip(1).Select(i => i.Company.Id), result.Companies.Select(c => c.CompanyId));
            if (first is not null) Assert.Equal(first, result);
            first = result;
        }
        Assert.Equal(1, old.Service.BatchCalls);
        Assert.Equal(4, old.Service.SingleCalls);
        Assert.Single(logs.Entries, e => e.Message.Contains("does not serve AllocateBatches", StringComparison.Ordinal));
    }

    /// <summary>A server as it was before AllocateBatches: Allocate answers a summary counting the companies, then one statement per company.</summary>
    public sealed class OldAllocation : AllocationService.AllocationServiceBase
    {
        private int _single;
        private int _batches;
        public int SingleCalls => _single;
        public int BatchCalls => _batches;

        public override async Task Allocate(IAsyncStreamReader<AllocateRequest> requestStream, IServerStreamWriter<AllocateResponse> responseStream,
            ServerCallContext context)
        {
            Interlocked.Increment(ref _single);
            var companies = new List<string>();
            await foreach (var item in requestStream.ReadAllAsync(context.CancellationToken))
                if (item.ItemCase == AllocateRequest.ItemOneofCase.Company) companies.Add(item.Company.Id);
            await responseStream.WriteAsync(new AllocateResponse { Summary = new AllocationSummary { Companies = companies.Count } });
            foreach (var c in companies) await responseStream.WriteAsync(new AllocateResponse { Company = new CompanyStatement { CompanyId = c } });
        }

        public override Task AllocateBatches(IAsyncStreamReader<AllocateBatchesRequest> requestStream,
            IServerStreamWriter<AllocateBatchesResponse> responseStream, ServerCallContext context)
        {
            Interlocked.Increment(ref _batches);
            return base.AllocateBatches(requestStream, responseStream, context); // UNIMPLEMENTED, as a server without it answers
        }
    }
}
