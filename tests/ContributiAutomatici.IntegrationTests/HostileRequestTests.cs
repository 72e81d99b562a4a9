using System.Globalization;
using ContributiAutomatici.Client;
using ContributiAutomatici.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// Requests built to break the server: values beyond the decree's bounds, huge or numerous bad values, malformed
/// bytes, and a seeded fuzz of both. None may be INTERNAL or UNKNOWN, and none may disturb a neighbour call.
/// </summary>
[Collection("server")]
public sealed class HostileRequestTests(ServerFixture fixture)
{
    private ScoringService.ScoringServiceClient Client => new(fixture.Channel);

    private static CallOptions Options => new(deadline: DateTime.UtcNow.AddSeconds(30));

    /// <summary>Every metadata entry of a status, as sent: the client's header limit is 64 KiB.</summary>
    private static int TrailerBytes(RpcException ex) =>
        ex.Trailers.Sum(t => t.Key.Length + (t.IsBinary ? (t.ValueBytes.Length + 2) / 3 * 4 : t.Value.Length)) + ex.Status.Detail.Length * 3;

    [Fact]
    public async Task Amounts_that_would_overflow_a_rule_are_INVALID_ARGUMENT_naming_each_field_never_INTERNAL()
    {
        var request = Examples.FirstFeature();
        request.Work.BoxOffice[0].Amount = "79228162514264337593543950335";
        request.Work.BoxOffice[1].Amount = "79228162514264337593543950335";
        request.Roles[1].DistributionCost = "0.00000000000000000000000001";

        var ex = await Assert.ThrowsAsync<RpcException>(() => Client.ScoreWorkAsync(request, Options).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal(
            ["roles[1].distribution_cost", "work.box_office[0].amount", "work.box_office[1].amount"],
            ContributiClient.FieldViolations(ex).Select(v => v.Field).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task A_70000_character_value_is_echoed_cut_and_the_status_stays_small()
    {
        var request = Examples.FirstFeature();
        request.Work.Festivals[0].FestivalId = new string('x', 70_000);

        var ex = await Assert.ThrowsAsync<RpcException>(() => Client.ScoreWorkAsync(request, Options).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var violations = ContributiClient.FieldViolations(ex);
        Assert.Contains(violations, v => v.Field == "work.festivals[0].festival_id" && v.Description.Contains("characters)") && v.Description.Length < 300);
        Assert.All(violations, v => Assert.True(v.Description.Length < 300, v.Description.Length.ToString(CultureInfo.InvariantCulture)));
        Assert.True(TrailerBytes(ex) < 4_096, $"{TrailerBytes(ex)} bytes of status");
    }

    [Fact]
    public async Task Two_thousand_bad_entries_are_summarised_and_a_neighbour_call_on_the_same_connection_is_not_affected()
    {
        var request = Examples.FirstFeature();
        request.Work.Festivals.Clear();
        for (var i = 0; i < 2_000; i++)
            request.Work.Festivals.Add(new FestivalEntry { FestivalId = $"no-such-festival-{i}-" + new string('y', 150), Section = FestivalSection.Competition });

        var bad = Client.ScoreWorkAsync(request, Options).ResponseAsync;
        var neighbour = Client.ScoreWorkAsync(Examples.FirstFeature(), Options).ResponseAsync;
        var ex = await Assert.ThrowsAsync<RpcException>(() => bad);
        var good = await neighbour;

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal(20, ContributiClient.FieldViolations(ex).Count);
        Assert.Contains("2000 fields are wrong; the first 20 are in the BadRequest details, and 1980 more", ex.Status.Detail);
        Assert.True(TrailerBytes(ex) < 16_384, $"{TrailerBytes(ex)} bytes of status");
        Examples.AssertMatches(Examples.ExpectedFor(2_400_000m), good, "neighbour");
        // And the connection still serves.
        Examples.AssertMatches(Examples.ExpectedFor(2_400_000m), await Client.ScoreWorkAsync(Examples.FirstFeature(), Options), "after");
    }

    private static readonly Method<byte[], byte[]> RawScoreWork = new(MethodType.Unary, "contributi.v1.ScoringService", "ScoreWork",
        Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

    private static readonly Method<byte[], byte[]> RawScoreWorks = new(MethodType.DuplexStreaming, "contributi.v1.ScoringService", "ScoreWorks",
        Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

    [Fact]
    public async Task Malformed_bytes_are_INVALID_ARGUMENT_and_logged_once_as_a_warning_without_a_stack_trace()
    {
        var invoker = fixture.Channel.CreateCallInvoker();
        var before = fixture.Server.Logs.Entries.Count;
        byte[][] payloads = [[0xFF, 0xFF, 0xFF], [0x0A, 0x80], [0x12, 0x05, 0x01], [.. Enumerable.Repeat((byte)0x0A, 1000)]];
        for (var i = 0; i < 50; i++)
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => invoker.AsyncUnaryCall(RawScoreWork, null, Options, payloads[i % payloads.Length]).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
            Assert.StartsWith("malformed request message: not a ScoreWorkRequest", ex.Status.Detail);
        }
        using (var stream = invoker.AsyncDuplexStreamingCall(RawScoreWorks, null, Options))
        {
            await stream.RequestStream.WriteAsync([0xFF, 0xFF]);
            var ex = await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        }

        // At most one warning (another test may have had the one of these 10 seconds), no error, no stack trace.
        var logged = fixture.Server.Logs.Entries.Skip(before).ToList();
        Assert.True(logged.Count(e => e.Message.Contains("malformed request message")) <= 1);
        Assert.All(logged, e => Assert.True(e.Level == LogLevel.Warning && e.Exception is null, $"{e.Level} {e.Message}"));
        Assert.True(fixture.Server.App.Services.GetService(typeof(Server.MalformedMessages)) is Server.MalformedMessages { Total: >= 51 });
    }

    [Fact]
    public async Task Malformed_messages_are_logged_at_most_once_per_interval_then_counted()
    {
        var logs = new ListLoggerProvider();
        var log = new Server.MalformedMessages(new LoggerFactory([logs]).CreateLogger<Server.MalformedMessages>()) { Interval = TimeSpan.FromMilliseconds(300) };
        for (var i = 0; i < 1_000; i++) log.Received("/contributi.v1.ScoringService/ScoreWork", "127.0.0.1", "While parsing a protocol message, the input ended unexpectedly");
        await Task.Delay(400);
        log.Received("/contributi.v1.ScoringService/ScoreWork", "127.0.0.1", "Protocol message contained an invalid tag (zero).");

        var lines = logs.Entries.ToList();
        Assert.Equal(2, lines.Count);
        Assert.All(lines, e => Assert.True(e.Level == LogLevel.Warning && e.Exception is null));
        Assert.Contains("999 more since the last warning, not logged", lines[1].Message);
        Assert.Equal(1_001, log.Total);
    }

    [Fact]
    public async Task Seeded_fuzz_of_raw_bytes_never_gives_INTERNAL_or_UNKNOWN()
    {
        var random = new Random(20260801);
        var invoker = fixture.Channel.CreateCallInvoker();
        var valid = Examples.FirstFeature().ToByteArray();
        var codes = new Dictionary<StatusCode, int>();
        for (var i = 0; i < 2_000; i++)
        {
            var payload = Mutate(valid, random);
            var code = StatusCode.OK;
            try { await invoker.AsyncUnaryCall(RawScoreWork, null, Options, payload).ResponseAsync; }
            catch (RpcException ex) { code = ex.StatusCode; }
            codes[code] = codes.GetValueOrDefault(code) + 1;
            Assert.True(code is StatusCode.OK or StatusCode.InvalidArgument or StatusCode.NotFound,
                $"payload {i} ({Convert.ToHexString(payload)}) gave {code}");
        }
        Assert.True(codes.GetValueOrDefault(StatusCode.InvalidArgument) > 100, string.Join(", ", codes));
        Examples.AssertMatches(Examples.ExpectedFor(2_400_000m), await Client.ScoreWorkAsync(Examples.FirstFeature(), Options), "after");
    }

    [Fact]
    public async Task Seeded_fuzz_of_request_fields_never_gives_INTERNAL_or_UNKNOWN()
    {
        var random = new Random(20260802);
        var codes = new Dictionary<StatusCode, int>();
        for (var i = 0; i < 3_000; i++)
        {
            var request = RequestFuzzer.Mutate(Examples.FirstFeature(), random);
            var code = StatusCode.OK;
            try { await Client.ScoreWorkAsync(request, Options); }
            catch (RpcException ex) { code = ex.StatusCode; }
            codes[code] = codes.GetValueOrDefault(code) + 1;
            Assert.True(code is StatusCode.OK or StatusCode.InvalidArgument or StatusCode.NotFound,
                $"request {i} gave {code}: {JsonFormatter.Default.Format(request)}");
        }
        Assert.True(codes.GetValueOrDefault(StatusCode.OK) > 100 && codes.GetValueOrDefault(StatusCode.InvalidArgument) > 100, string.Join(", ", codes));
    }

    [Theory]
    [InlineData("01000000020aff")]       // compressed flag without grpc-encoding
    [InlineData("0000000010")]           // a length of 16, no bytes
    [InlineData("0000")]                 // half a frame header
    [InlineData("00000000000000000000")] // an empty message, then more data
    [InlineData("0100000004deadbeef", "gzip")] // compressed, but not gzip data
    [InlineData("0100000004deadbeef", "snappy")] // an encoding the server does not know
    [InlineData("0000000010", null, "ScoreWorks")] // the stream: a length of 16, no bytes
    [InlineData("0000000002ffff", null, "ScoreWorks")] // the stream: bytes that are not a message
    [InlineData("0100000004deadbeef", "gzip", "ScoreWorks")] // the stream: compressed, not gzip data
    public async Task Broken_grpc_framing_is_not_INTERNAL_or_UNKNOWN(string hex, string? encoding = null, string method = "ScoreWork")
    {
        using var http = new HttpClient(new SocketsHttpHandler());
        using var content = new ByteArrayContent(Convert.FromHexString(hex));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Server.Address, "/contributi.v1.ScoringService/" + method))
        {
            Content = content,
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TE.ParseAdd("trailers");
        if (encoding is not null) request.Headers.Add("grpc-encoding", encoding);
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        var status = response.TrailingHeaders.TryGetValues("grpc-status", out var t) ? t.Single()
            : response.Headers.TryGetValues("grpc-status", out var h) ? h.Single() : "none";
        var message = response.TrailingHeaders.TryGetValues("grpc-message", out var tm) ? tm.Single()
            : response.Headers.TryGetValues("grpc-message", out var hm) ? hm.Single() : "";
        // An encoding the server does not know is UNIMPLEMENTED, as the gRPC protocol says; anything else is the caller's INVALID_ARGUMENT.
        var expected = encoding == "snappy" ? StatusCode.Unimplemented : StatusCode.InvalidArgument;
        Assert.True(status == ((int)expected).ToString(CultureInfo.InvariantCulture), $"grpc-status {status}: {message} (HTTP {(int)response.StatusCode} {response.Version} {response.Headers} {response.TrailingHeaders})");
    }

    [Fact]
    public async Task A_gzip_compressed_request_is_still_scored()
    {
        var headers = new Metadata { { "grpc-internal-encoding-request", "gzip" } };
        var response = await Client.ScoreWorkAsync(Examples.FirstFeature(), headers, DateTime.UtcNow.AddSeconds(30));
        Examples.AssertMatches(Examples.ExpectedFor(2_400_000m), response, "gzip");
    }

    /// <summary>Bit flips, byte changes, truncation, insertion, duplication or random bytes.</summary>
    private static byte[] Mutate(byte[] valid, Random random)
    {
        var bytes = valid.ToList();
        switch (random.Next(6))
        {
            case 0:
                for (var k = 0; k < 1 + random.Next(4); k++) { var at = random.Next(bytes.Count); bytes[at] ^= (byte)(1 << random.Next(8)); }
                break;
            case 1:
                for (var k = 0; k < 1 + random.Next(4); k++) bytes[random.Next(bytes.Count)] = (byte)random.Next(256);
                break;
            case 2:
                var from = random.Next(bytes.Count);
                bytes.RemoveRange(from, random.Next(bytes.Count - from + 1));
                break;
            case 3:
                bytes.InsertRange(random.Next(bytes.Count), Enumerable.Range(0, 1 + random.Next(16)).Select(_ => (byte)random.Next(256)));
                break;
            case 4:
                bytes.AddRange(bytes.Take(random.Next(bytes.Count)));
                break;
            default:
                return [.. Enumerable.Range(0, random.Next(64)).Select(_ => (byte)random.Next(256))];
        }
        return [.. bytes];
    }
}

/// <summary>Seeded mutations of a valid request's fields: strings, amounts, dates, enums and list lengths a careless or hostile caller could send.</summary>
public static class RequestFuzzer
{
    private static readonly string[] Strings =
        ["", " ", "dm-2021", "venezia", "x", "-1", "1e5", "NaN", "∞", "0x10", "1,5", "١٢٣", "\0", "'; DROP TABLE", new string('z', 5_000), "🎬"];

    private static readonly string[] Amounts =
        ["", "0", "-0", "1", "0.0001", "0.00001", "-5", "1000000000000", "1000000000000.0001", "79228162514264337593543950335",
         "-79228162514264337593543950335", "99999999999999999999999999999999", "1.5e3", " 12", "12 ", "+3", ".5", "5.", "1_000", "abc"];

    public static ScoreWorkRequest Mutate(ScoreWorkRequest r, Random random)
    {
        for (var k = 0; k < 1 + random.Next(4); k++)
        {
            var w = r.Work;
            switch (random.Next(16))
            {
                case 0: r.RuleSetId = Pick(Strings, random); break;
                case 1: r.ApplicationYear = random.Next(-5, 3) * random.Next(0, 2100); break;
                case 2: w.BoxOffice[random.Next(w.BoxOffice.Count)].Amount = Pick(Amounts, random); break;
                case 3: w.ProductionCost = Pick(Amounts, random); break;
                case 4: w.ItalianSharePercent = Pick(Amounts, random); break;
                case 5: w.DurationMinutes = Pick(Amounts, random); break;
                case 6: w.BoxOffice[0].Date = Date(random); break;
                case 7: w.FirstReleaseDate = Date(random); break;
                case 8: w.Festivals[0].FestivalId = Pick(Strings, random); break;
                case 9: w.Festivals[0].Section = (FestivalSection)random.Next(-2, 5); w.Festivals[0].OtherPrizes = random.Next(int.MinValue, int.MaxValue); break;
                case 10: w.Prizes[0].Category = (PrizeCategory)random.Next(-1, 4); w.Prizes[0].Outcome = (PrizeOutcome)random.Next(-1, 4); break;
                case 11: w.Kind = (WorkKind)random.Next(-1, 4); w.Coproduction = (CoproductionKind)random.Next(-1, 5); break;
                case 12: r.Roles.Add(new RoleInput { Role = (Role)random.Next(-1, 6), DistributionCost = Pick(Amounts, random), ContractSignedOn = Date(random) }); break;
                case 13: w.FirstBroadcastStart = new Google.Type.TimeOfDay { Hours = random.Next(-2, 26), Minutes = random.Next(-2, 62), Seconds = random.Next(-2, 62), Nanos = random.Next() }; break;
                case 14:
                    var n = random.Next(0, 3) == 0 ? random.Next(10_001, 10_050) : random.Next(0, 200);
                    for (var i = 0; i < n; i++) w.Markets.Add(new MarketEntry { MarketId = random.Next(3) == 0 ? Pick(Strings, random) : "torino-film-lab" });
                    break;
                default:
                    w.ForeignSales.Add(new ForeignSale { Country = Pick(Strings, random), Amount = Pick(Amounts, random), Date = Date(random) });
                    w.ItalianPhases.Add((ProcessingPhase)random.Next(-1, 12));
                    break;
            }
        }
        return r;
    }

    private static Google.Type.Date? Date(Random random) => random.Next(6) == 0
        ? null
        : new Google.Type.Date { Year = random.Next(-1, 3) == 0 ? random.Next(int.MinValue, int.MaxValue) : random.Next(1990, 2030), Month = random.Next(-1, 14), Day = random.Next(-1, 33) };

    private static string Pick(string[] values, Random random) => values[random.Next(values.Length)];
}
