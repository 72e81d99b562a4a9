using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Server;
using ContributiAutomatici.Tooling;
using Google.Protobuf;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// Issue 27 item 1 over a real loopback server: ScoreWork with totals_only is answered over gRPC by bytes encoded from the
/// totals through pooled carriers (ScoringGrpcService.ScoreWork), and must give the message the server gave before
/// (<see cref="ResponseMapper.Score(ScoringRequest)"/> with its reform set), for many works, one after the other and many
/// at once (a carrier reused while another call still writes it would mix two answers); the JSON path, which formats the
/// message itself, answers the same.
/// </summary>
[Collection("server")]
public sealed class TotalsAnswerTests(ServerFixture fixture)
{
    private ScoringService.ScoringServiceClient Grpc => new(fixture.Channel);

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(60);

    /// <summary>The works of a synthetic year as totals-only requests (each with every role claimed on it), under <paramref name="ruleSet"/>.</summary>
    private List<ScoreWorkRequest> Requests(string ruleSet, int works, int seed)
    {
        var items = YearSynthesizer.Items(fixture.Server.Catalog.Find("dm-2021")!, Math.Max(4, works / 10), works, seed, 2023, 10_000_000m).ToList();
        var roles = items.Where(i => i.ItemCase == AllocateRequest.ItemOneofCase.Claim).GroupBy(i => i.Claim.WorkId)
            .ToDictionary(g => g.Key, g => g.Select(i => i.Claim.Role).DistinctBy(r => r.Role).ToList());
        return [.. items.Where(i => i.ItemCase == AllocateRequest.ItemOneofCase.Work && roles.ContainsKey(i.Work.Work.Id))
            .Select(i => new ScoreWorkRequest { RuleSetId = ruleSet, Work = i.Work.Work, TotalsOnly = true, Roles = { roles[i.Work.Work.Id] } })];
    }

    /// <summary>The answer as the server made it before: the totals path's message, its reform set.</summary>
    private ScoreWorkResponse Expected(ScoreWorkRequest request)
    {
        var catalog = fixture.Server.Catalog;
        var mapped = RequestMapper.Map(request, catalog);
        var message = ResponseMapper.Score(mapped);
        message.Reform = ReformMapper.Applied(mapped.RuleSet, catalog, mapped.ReformSource);
        return message;
    }

    [Fact]
    public async Task Totals_only_answers_are_the_messages_of_before_one_after_the_other()
    {
        var requests = Requests("dm-2021", 60, 3).Concat(Requests("dm-2017", 30, 4)).ToList();
        var coproductions = 0;
        var asBytes = ScoringGrpcService.AnswersAsBytes;
        foreach (var request in requests)
        {
            var answer = await Grpc.ScoreWorkAsync(request, deadline: Deadline);
            var expected = Expected(request);
            Assert.Equal(expected, answer);
            Assert.Equal(expected.ToByteArray(), answer.ToByteArray());
            coproductions += answer.Coproduction is null ? 0 : 1;
        }
        Assert.Equal(requests.Count, ScoringGrpcService.AnswersAsBytes - asBytes); // each answered by the encoded bytes
        Assert.True(coproductions > 0, "no co-production among the works");
        Assert.Contains(requests, r => r.Roles.Count > 1);
    }

    [Fact]
    public async Task Totals_only_answers_stay_each_call_s_own_under_concurrent_calls()
    {
        var requests = Requests("dm-2021", 80, 9);
        var expected = requests.Select(Expected).ToList();
        var (asBytes, made) = (ScoringGrpcService.AnswersAsBytes, ScoringGrpcService.AnswerCarriersMade);
        // 8 callers at once, each through the works in its own order, several times: the server's pool of carriers is
        // rented and given back all the time, on its threads.
        var callers = Enumerable.Range(0, 8).Select(c => Task.Run(async () =>
        {
            for (var round = 0; round < 3; round++)
                for (var k = 0; k < requests.Count; k++)
                {
                    var i = (k * (2 * c + 1) + round) % requests.Count;
                    var answer = await Grpc.ScoreWorkAsync(requests[i], deadline: Deadline);
                    Assert.Equal(expected[i], answer);
                }
        }));
        await Task.WhenAll(callers);
        Assert.Equal(8 * 3 * requests.Count, ScoringGrpcService.AnswersAsBytes - asBytes);
        // At most as many carriers at once as calls in flight (8), and those given back are taken again: a few made, not one a call.
        Assert.InRange(ScoringGrpcService.AnswerCarriersMade - made, 0, 8 + 4 * Environment.ProcessorCount);
    }

    [Fact]
    public async Task A_refused_totals_request_names_its_fields_and_the_next_one_is_answered_whole()
    {
        // Each request is mapped into a pooled carrier's scratch: a refused one must name the same fields as a request mapped
        // afresh, give its carrier back, and leave nothing of itself in the scratch for the calls after it.
        var requests = Requests("dm-2021", 40, 11);
        var (asBytes, made) = (ScoringGrpcService.AnswersAsBytes, ScoringGrpcService.AnswerCarriersMade);
        for (var i = 0; i < requests.Count; i++)
        {
            var bad = requests[i].Clone();
            bad.Work.Festivals.Add(new FestivalEntry { FestivalId = "no-such-festival", Section = FestivalSection.Competition });
            bad.Work.BoxOffice.Add(new DatedAmount { Date = new Google.Type.Date { Year = 2023, Month = 2, Day = 30 }, Amount = "1,5" });
            var expected = Assert.Throws<InvalidRequestException>(() => RequestMapper.Map(bad, fixture.Server.Catalog));
            var refused = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(() => Grpc.ScoreWorkAsync(bad, deadline: Deadline).ResponseAsync);
            Assert.Equal(global::Grpc.Core.StatusCode.InvalidArgument, refused.StatusCode);
            Assert.Equal(expected.Errors.Select(e => $"{e.Field}: {e.Description}"),
                ContributiAutomatici.Client.ContributiClient.FieldViolations(refused).Select(v => $"{v.Field}: {v.Description}"));
            Assert.Contains(expected.Errors, e => e.Field.StartsWith("work.festivals[", StringComparison.Ordinal));
            Assert.Equal(Expected(requests[i]), await Grpc.ScoreWorkAsync(requests[i], deadline: Deadline));
        }
        Assert.Equal(requests.Count, ScoringGrpcService.AnswersAsBytes - asBytes);
        // The refused calls' carriers went back to the pool: one call at a time needs a carrier or two, not one per call.
        Assert.InRange(ScoringGrpcService.AnswerCarriersMade - made, 0, 8 + 4 * Environment.ProcessorCount);
    }

    [Fact]
    public async Task The_json_path_answers_a_totals_only_request_with_the_same_message()
    {
        using var http = new HttpClient
        {
            BaseAddress = fixture.Server.Address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
        var asBytes = ScoringGrpcService.AnswersAsBytes;
        foreach (var request in Requests("dm-2021", 20, 5).Take(12))
        {
            using var body = new StringContent(JsonFormatter.Default.Format(request), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
            using var response = await http.PostAsync(new Uri("/v1/works:score", UriKind.Relative), body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var json = await response.Content.ReadAsStringAsync();
            var rest = JsonParser.Default.Parse<ScoreWorkResponse>(json);
            Assert.Equal(Expected(request), rest);
            Assert.NotEmpty(rest.Roles); // a filled message, not an empty carrier
            Assert.Equal(asBytes, ScoringGrpcService.AnswersAsBytes);
            Assert.Equal(await Grpc.ScoreWorkAsync(request, deadline: Deadline), rest);
            asBytes++; // the gRPC call was
        }
    }
}
