using System.Globalization;
using ContributiAutomatici.Client;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using Grpc.Core;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>ScoreWorkBatches (several works per message) against ScoreWorks, and the typed client's bulk scoring on it.</summary>
[Collection("server")]
public sealed class BatchStreamingTests(ServerFixture fixture)
{
    private static readonly DateTime Deadline = DateTime.UtcNow.AddMinutes(10);

    /// <summary>
    /// Items of every kind: totals only and explained, one role or two, with include_not_applied, bad amounts (error items
    /// with BadRequest details), an unknown rule set (NOT_FOUND), an item with no request at all.
    /// </summary>
    private static List<ScoreWorksRequest> Mixed(int count)
    {
        var template = Examples.FirstFeature();
        var items = new List<ScoreWorksRequest>(count);
        for (var i = 0; i < count; i++)
        {
            var request = template.Clone();
            request.Work.Id = $"w{i}";
            request.Work.BoxOffice[0].Amount = (1_500_000m + i * 137m).ToString(CultureInfo.InvariantCulture);
            request.TotalsOnly = i % 4 != 3;
            request.IncludeNotApplied = i % 8 == 7;
            if (i % 3 == 2) request.Roles.RemoveAt(1);
            if (i % 7 == 5) request.Work.BoxOffice[0].Amount = "-1";
            if (i % 29 == 11) request.RuleSetId = "dm-1999";
            items.Add(new ScoreWorksRequest { RequestId = $"r{i}", Request = i % 31 == 17 ? null : request });
        }
        return items;
    }

    private static async Task<List<ScoreWorksResponse>> SingleStream(ScoringService.ScoringServiceClient raw, IReadOnlyList<ScoreWorksRequest> requests)
    {
        using var call = raw.ScoreWorks(deadline: Deadline);
        var writing = Task.Run(async () =>
        {
            foreach (var r in requests) await call.RequestStream.WriteAsync(r);
            await call.RequestStream.CompleteAsync();
        });
        var answers = new List<ScoreWorksResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) answers.Add(call.ResponseStream.Current.Clone());
        await writing;
        return answers;
    }

    /// <summary>The requests in batches of the given sizes, in turn; the answers item by item, with each batch's size.</summary>
    private static async Task<(List<ScoreWorksResponse> Items, List<int> BatchSizes)> Batches(ScoringService.ScoringServiceClient raw,
        IReadOnlyList<ScoreWorksRequest> requests, int[] sizes)
    {
        using var call = raw.ScoreWorkBatches(deadline: Deadline);
        var sent = new List<int>();
        var writing = Task.Run(async () =>
        {
            for (int at = 0, k = 0; at < requests.Count; k++)
            {
                var batch = new ScoreWorkBatchesRequest();
                batch.Items.AddRange(requests.Skip(at).Take(sizes[k % sizes.Length]));
                at += batch.Items.Count;
                sent.Add(batch.Items.Count);
                await call.RequestStream.WriteAsync(batch);
            }
            await call.RequestStream.CompleteAsync();
        });
        var items = new List<ScoreWorksResponse>();
        var answered = new List<int>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            answered.Add(call.ResponseStream.Current.Items.Count);
            items.AddRange(call.ResponseStream.Current.Items.Select(a => a.Clone()));
        }
        await writing;
        Assert.Equal(sent, answered);
        return (items, answered);
    }

    private static string[] Bytes(IEnumerable<ScoreWorksResponse> answers) => answers.Select(a => Convert.ToHexString(a.ToByteArray())).ToArray();

    [Fact]
    public async Task Batched_answers_are_byte_for_byte_those_of_the_single_item_stream_in_order()
    {
        var raw = new ScoringService.ScoringServiceClient(fixture.Channel);
        var requests = Mixed(400);
        var single = await SingleStream(raw, requests);
        // Batches of every size, an empty one among them: each item's answer is where it was asked, as ScoreWorks gives it.
        // A quarter of the mix asks for the explanation: 120 items hold 30, within the 32 a batch may hold.
        var (batched, sizes) = await Batches(raw, requests, [1, 7, 64, 0, 3, 120]);

        Assert.Equal(requests.Count, single.Count);
        Assert.Equal(Bytes(single), Bytes(batched));
        Assert.Contains(0, sizes);
        Assert.Equal(requests.Select(r => r.RequestId), batched.Select(a => a.RequestId));
        // The mix did what it says: explained answers, totals, error items with their details, NOT_FOUND.
        Assert.Contains(batched, a => a.Response is { } r && r.Roles[0].Quotas.Any(q => q.Lines.Count > 0));
        Assert.Contains(batched, a => a.Response is { } r && r.Roles.Count == 1);
        Assert.Equal("work.box_office[0].amount", Assert.Single(ContributiClient.FieldViolations(batched[5].Error)).Field);
        Assert.Equal((int)StatusCode.NotFound, batched[11].Error.Code);
        Assert.Equal((int)StatusCode.InvalidArgument, batched[17].Error.Code);
        Examples.AssertMatches(Examples.ExpectedFor(2_400_000m), batched[0].Response, "item 0");
    }

    [Fact]
    public async Task A_batch_over_the_limit_ends_the_call_with_INVALID_ARGUMENT_naming_items_after_the_batches_before_it()
    {
        Assert.Equal(RequestLimits.MaxBatchItems, ContributiClientOptions.MaxStreamBatchSize); // the client's limit is the server's
        var raw = new ScoringService.ScoringServiceClient(fixture.Channel);
        using var call = raw.ScoreWorkBatches(deadline: Deadline);
        var first = new ScoreWorkBatchesRequest();
        first.Items.AddRange(Mixed(3));
        await call.RequestStream.WriteAsync(first);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(["r0", "r1", "r2"], call.ResponseStream.Current.Items.Select(a => a.RequestId).ToArray());

        var tooMany = new ScoreWorkBatchesRequest();
        var item = new ScoreWorksRequest { RequestId = "x", Request = Examples.FirstFeature() };
        for (var i = 0; i <= RequestLimits.MaxBatchItems; i++) tooMany.Items.Add(item);
        await call.RequestStream.WriteAsync(tooMany);
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var violation = Assert.Single(ContributiClient.FieldViolations(ex));
        Assert.Equal("items", violation.Field);
        Assert.Contains($"at most {RequestLimits.MaxBatchItems} items", violation.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_batch_with_more_explained_works_than_the_limit_ends_the_call_the_same_way_and_one_at_the_limit_is_answered()
    {
        Assert.Equal(RequestLimits.MaxBatchExplained, ContributiClientOptions.StreamBatchExplained); // the client's limit is the server's
        var raw = new ScoringService.ScoringServiceClient(fixture.Channel);
        using var call = raw.ScoreWorkBatches(deadline: Deadline);
        ScoreWorkBatchesRequest Batch(int explained, int totals)
        {
            var batch = new ScoreWorkBatchesRequest();
            for (var i = 0; i < explained + totals; i++)
            {
                var request = Examples.FirstFeature();
                request.TotalsOnly = i >= explained;
                batch.Items.Add(new ScoreWorksRequest { RequestId = $"b{i}", Request = request });
            }
            return batch;
        }

        // At the limit, with totals-only works beside it: answered, the explained ones with their lines.
        await call.RequestStream.WriteAsync(Batch(RequestLimits.MaxBatchExplained, 200));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var answered = call.ResponseStream.Current.Items;
        Assert.Equal(RequestLimits.MaxBatchExplained + 200, answered.Count);
        Assert.Equal(RequestLimits.MaxBatchExplained, answered.Count(a => a.Response.Roles[0].Quotas.Any(q => q.Lines.Count > 0)));

        await call.RequestStream.WriteAsync(Batch(RequestLimits.MaxBatchExplained + 1, 0));
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var violation = Assert.Single(ContributiClient.FieldViolations(ex));
        Assert.Equal("items", violation.Field);
        Assert.Equal($"at most {RequestLimits.MaxBatchExplained} items with the explanation (totals_only false) in one batch, got " +
                     $"{RequestLimits.MaxBatchExplained + 1} (request limit)", violation.Description);
    }

    [Fact]
    public async Task The_typed_client_answers_as_the_single_item_stream_did_whatever_its_batch_size()
    {
        var requests = Mixed(700);
        var asBefore = new List<ScoreWorksResponse>();
        using (var single = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address, StreamBatchSize = 1 }))
            await foreach (var a in single.ScoreWorksAsync(requests, Deadline)) asBefore.Add(a.Clone());
        Assert.Equal(Bytes(await SingleStream(new ScoringService.ScoringServiceClient(fixture.Channel), requests)), Bytes(asBefore));

        foreach (var size in new[] { 64, 5, ContributiClientOptions.MaxStreamBatchSize })
        {
            using var client = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address, StreamBatchSize = size });
            var answers = new List<ScoreWorksResponse>();
            await foreach (var a in client.ScoreWorksAsync(requests, Deadline)) answers.Add(a.Clone());
            Assert.Equal(Bytes(asBefore), Bytes(answers));
        }
    }

    [Fact]
    public async Task A_slow_source_gets_each_answer_before_it_gives_its_next_request()
    {
        // The source gives a request only once the answer to the one before came back: a client that held requests to
        // fill a batch would wait forever (the deadline below ends the test then).
        using var client = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address });
        var answered = new SemaphoreSlim(0);

        async IAsyncEnumerable<ScoreWorksRequest> OneAtATime()
        {
            for (var i = 0; i < 20; i++)
            {
                if (i > 0) Assert.True(await answered.WaitAsync(TimeSpan.FromSeconds(30)), $"no answer to request {i - 1}");
                yield return new ScoreWorksRequest { RequestId = $"r{i}", Request = Examples.Variant($"w{i}", i) };
            }
        }

        var seen = 0;
        await foreach (var item in client.ScoreWorksAsync(OneAtATime(), DateTime.UtcNow.AddMinutes(2)))
        {
            Assert.Equal($"r{seen}", item.RequestId);
            Assert.Equal($"w{seen}", item.Response.WorkId);
            seen++;
            answered.Release();
        }
        Assert.Equal(20, seen);
    }

    [Fact]
    public async Task A_server_without_ScoreWorkBatches_is_asked_again_on_ScoreWorks_from_the_first_request()
    {
        await using var old = await OldServer<OldScoring>.StartAsync();
        using var client = new ContributiClient(new ContributiClientOptions { Address = old.Address });
        for (var call = 0; call < 2; call++) // the second call goes straight to ScoreWorks
        {
            var requests = Enumerable.Range(0, 300).Select(i => new ScoreWorksRequest { RequestId = $"r{i}", Request = Examples.Variant($"w{i}", i) });
            var seen = 0;
            await foreach (var item in client.ScoreWorksAsync(requests, DateTime.UtcNow.AddMinutes(2)))
            {
                Assert.Equal($"r{seen}", item.RequestId);
                Assert.Equal($"w{seen}", item.Response.WorkId);
                seen++;
            }
            Assert.Equal(300, seen);
        }
        Assert.Equal(1, old.Service.BatchCalls);
        Assert.Equal(2, old.Service.SingleCalls);
    }

    /// <summary>A server as it was before ScoreWorkBatches: ScoreWorks answers each item with its work id; the rest is UNIMPLEMENTED.</summary>
    public sealed class OldScoring : ScoringService.ScoringServiceBase
    {
        private int _single;
        private int _batches;
        public int SingleCalls => _single;
        public int BatchCalls => _batches;

        public override async Task ScoreWorks(IAsyncStreamReader<ScoreWorksRequest> requestStream, IServerStreamWriter<ScoreWorksResponse> responseStream,
            ServerCallContext context)
        {
            Interlocked.Increment(ref _single);
            await foreach (var item in requestStream.ReadAllAsync(context.CancellationToken))
                await responseStream.WriteAsync(new ScoreWorksResponse { RequestId = item.RequestId, Response = new ScoreWorkResponse { WorkId = item.Request.Work.Id } });
        }

        public override Task ScoreWorkBatches(IAsyncStreamReader<ScoreWorkBatchesRequest> requestStream,
            IServerStreamWriter<ScoreWorkBatchesResponse> responseStream, ServerCallContext context)
        {
            Interlocked.Increment(ref _batches);
            return base.ScoreWorkBatches(requestStream, responseStream, context); // UNIMPLEMENTED, as a server without it answers
        }
    }
}
