using System.Net;
using System.Text;
using ContributiAutomatici.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// One way to name a rule set (issue 24, item 6): over gRPC and REST, "dm-2021" (the version as in force) and
/// "dm-2021+covid-19" give the same answer, and "dm-2021~covid-19" the one of without_overlays: ["covid-19"], for a work
/// whose box office falls inside the art. 17 window.
/// </summary>
[Collection("server")]
public sealed class SelectorRpcTests(ServerFixture fixture) : IDisposable
{
    private readonly HttpClient _http = new()
    {
        BaseAddress = fixture.Server.Address,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    public void Dispose() => _http.Dispose();

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(30);

    /// <summary>The README's first feature, released and in theatres in 2021: inside the Covid-19 window.</summary>
    private static ScoreWorkRequest InTheWindow(string selector)
    {
        var request = Examples.FirstFeature();
        request.RuleSetId = selector;
        request.Work.FirstReleaseDate = new Google.Type.Date { Year = 2021, Month = 7, Day = 10 };
        request.Work.BoxOffice[0].Date = new Google.Type.Date { Year = 2021, Month = 7, Day = 31 };
        request.Work.BoxOffice[1].Date = new Google.Type.Date { Year = 2021, Month = 9, Day = 30 };
        foreach (var f in request.Work.Festivals) f.SelectionDate = new Google.Type.Date { Year = 2021, Month = 7, Day = 26 };
        foreach (var p in request.Work.Prizes) p.SelectionDate = new Google.Type.Date { Year = 2021, Month = 12, Day = 1 };
        foreach (var m in request.Work.Markets) m.SelectionDate = new Google.Type.Date { Year = 2021, Month = 2, Day = 1 };
        foreach (var role in request.Roles) if (role.ContractSignedOn is not null) role.ContractSignedOn = new Google.Type.Date { Year = 2021, Month = 1, Day = 10 };
        return request;
    }

    private async Task<ScoreWorkResponse> Rest(ScoreWorkRequest request)
    {
        using var response = await _http.PostAsync(new Uri("/v1/works:score", UriKind.Relative),
            new StringContent(JsonFormatter.Default.Format(request), Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonParser.Default.Parse<ScoreWorkResponse>(body);
    }

    [Fact]
    public async Task Every_name_of_the_same_rule_set_scores_the_same_over_gRPC_and_REST()
    {
        var client = new ScoringService.ScoringServiceClient(fixture.Channel);
        var asInForce = await client.ScoreWorkAsync(InTheWindow("dm-2021"), deadline: Deadline);
        var withOverlay = await client.ScoreWorkAsync(InTheWindow("dm-2021+covid-19"), deadline: Deadline);
        var byYear = await client.ScoreWorkAsync(InTheWindow("2021"), deadline: Deadline);
        Assert.Equal(["covid-19"], asInForce.Overlays);
        Assert.Equal(asInForce, withOverlay);
        Assert.Equal(asInForce, byYear);
        Assert.Equal(asInForce, await Rest(InTheWindow("dm-2021+covid-19")));

        var without = await client.ScoreWorkAsync(InTheWindow("dm-2021~covid-19"), deadline: Deadline);
        var leftOff = InTheWindow("dm-2021");
        leftOff.WithoutOverlays.Add("covid-19");
        Assert.Equal(without, await client.ScoreWorkAsync(leftOff, deadline: Deadline));
        Assert.Equal(without, await Rest(InTheWindow("dm-2021~covid-19")));
        Assert.Empty(without.Overlays);
        // The +100% of art. 17.2.a is the difference: present with the overlay, absent without.
        var producer = asInForce.Roles.Single(r => r.Role == Role.Producer);
        Assert.Contains(producer.Quotas.SelectMany(q => q.Lines), l => l.RowId == "T1.A.1.covid");
        Assert.DoesNotContain(without.Roles.Single(r => r.Role == Role.Producer).Quotas.SelectMany(q => q.Lines), l => l.RowId == "T1.A.1.covid");
    }

    [Fact]
    public async Task A_selector_naming_an_overlay_the_version_lacks_is_INVALID_ARGUMENT_on_rule_set_id()
    {
        var client = new ScoringService.ScoringServiceClient(fixture.Channel);
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.ScoreWorkAsync(InTheWindow("dm-2021+covid-20"), deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("rule_set_id", ex.Status.Detail);
        Assert.Contains("'covid-20' is not an overlay of dm-2021", ex.Status.Detail);
    }
}
