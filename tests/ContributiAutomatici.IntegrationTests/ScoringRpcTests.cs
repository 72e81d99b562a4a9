using System.Globalization;
using ContributiAutomatici.Client;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Contracts.V1;
using Google.Rpc;
using Grpc.Core;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>The four RPCs and their errors over a real loopback Kestrel, raw (Grpc.Net.Client) and typed.</summary>
[Collection("server")]
public sealed class ScoringRpcTests(ServerFixture fixture)
{
    private ScoringService.ScoringServiceClient Raw => new(fixture.Channel);

    private ContributiClient Typed(int retries = 2) => new(new ContributiClientOptions
    {
        Address = fixture.Server.Address,
        RetryCount = retries,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        PerCallTimeout = TimeSpan.FromSeconds(30),
    });

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(30);

    [Fact]
    public async Task ListRuleSets_lists_dm_2021_with_its_content_hash()
    {
        var response = await Raw.ListRuleSetsAsync(new ListRuleSetsRequest(), deadline: Deadline);

        var dm = Assert.Single(response.RuleSets, r => r.Id == "dm-2021");
        Assert.Equal(fixture.Server.Catalog.Find("dm-2021")!.ContentHash, dm.ContentHash);
        Assert.Matches("^[0-9a-f]{64}$", dm.ContentHash);
        Assert.Equal(2020, dm.ApplicationYearFrom);
        Assert.Contains(dm.Tables, t => t.Id == "T1" && t.RowCount > 0);

        using var typed = Typed();
        var again = await typed.ListRuleSetsAsync();
        Assert.Equal(response, again);
    }

    [Fact]
    public async Task GetRuleSet_returns_the_tables_and_NOT_FOUND_for_an_unknown_id()
    {
        // "dm-2021" is the version as in force (with art. 17); the version alone is "dm-2021~covid-19".
        Assert.Equal("dm-2021+covid-19", (await Raw.GetRuleSetAsync(new GetRuleSetRequest { RuleSetId = "dm-2021" }, deadline: Deadline)).Summary.Id);
        var detail = await Raw.GetRuleSetAsync(new GetRuleSetRequest { RuleSetId = "dm-2021~covid-19" }, deadline: Deadline);
        Assert.Equal("dm-2021", detail.Summary.Id);
        var t1 = Assert.Single(detail.Tables, t => t.Id == "T1");
        var a1 = Assert.Single(t1.Rows, r => r.Id == "T1.A.1");
        Assert.Contains(a1.Cells, c => c.Role == Role.Producer && c.QuotaId == "cinema.economic" && c.Points.Contains("Tiers"));
        // The decree's words the row implements (rules/dm-2021/decreto.md): Tabella 1, A.1, then art. 7.1.a.
        Assert.Equal(["Tabella 1, A.1", "art. 7.1.a"], a1.DecreeText.Select(p => p.Address));
        Assert.All(a1.DecreeText, p => Assert.Equal("DM 15/07/2021", p.Decree));
        Assert.Contains("1 punto ogni € 25.000", a1.DecreeText[0].Text);
        Assert.StartsWith("a) in relazione ai proventi relativi ai diritti di utilizzazione", a1.DecreeText[1].Text);
        Assert.StartsWith("decreto.md:", a1.DecreeText[1].Location);
        Assert.Contains(detail.Quotas, q => q.Id == "cinema.economic");

        var raw = await Assert.ThrowsAsync<RpcException>(() => Raw.GetRuleSetAsync(new GetRuleSetRequest { RuleSetId = "dm-1999" }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, raw.StatusCode);

        using var typed = Typed();
        Assert.Equal(detail, await typed.GetRuleSetAsync("dm-2021~covid-19"));
        var typedError = await Assert.ThrowsAsync<RpcException>(() => typed.GetRuleSetAsync("dm-1999"));
        Assert.Equal(StatusCode.NotFound, typedError.StatusCode);
    }

    [Fact]
    public async Task ScoreWork_scores_the_first_feature_example_as_checked_by_hand()
    {
        var response = await Raw.ScoreWorkAsync(Examples.FirstFeature(), deadline: Deadline);

        Assert.Equal("dm-2021", response.RuleSetId);
        // The Covid-19 overlay is part of DM 2021 (art. 17): on by default, named, and in the content hash.
        Assert.Equal(["covid-19"], response.Overlays);
        var listed = await Raw.ListRuleSetsAsync(new ListRuleSetsRequest(), deadline: Deadline);
        Assert.Contains("covid-19", listed.RuleSets.Single(r => r.Id == "dm-2021").Overlays);
        Assert.Equal(fixture.Server.Catalog.Find("dm-2021+covid-19")!.ContentHash, response.ContentHash);
        Assert.Equal("esempio-opera-prima", response.WorkId);

        // Producer: 386.67 + 77.33 + 193.33 = 657.33 economic; 15 + 100 + 50 + 25 = 190 cultural.
        Assert.Equal(657.3333333333m, Math.Round(Examples.Points(response, Role.Producer, "cinema.economic"), 10));
        Assert.Equal(190m, Examples.Points(response, Role.Producer, "cinema.cultural"));
        var producer = response.Roles.Single(r => r.Role == Role.Producer);
        var lines = producer.Quotas.SelectMany(q => q.Lines).ToDictionary(l => l.RowId, l => decimal.Parse(l.Points, CultureInfo.InvariantCulture));
        Assert.Equal(386.67m, Math.Round(lines["T1.A.1"], 2));
        Assert.Equal(77.33m, Math.Round(lines["T1.A.1.rapporto"], 2));
        Assert.Equal(193.33m, Math.Round(lines["T1.A.1.estivo"], 2));
        Assert.Equal(15m, lines["T1.B.10"]);
        Assert.Equal(100m, lines["T1.C.1"]);
        Assert.Equal(50m, lines["T1.C.13"]);
        Assert.Equal(25m, lines["T1.C.17"]);
        Assert.Equal(7, lines.Count);

        // Distributor: 96 + 19.2 + 48 = 163.2 economic; 10 + 20 + 10 = 40 cultural.
        Assert.Equal(163.2m, Examples.Points(response, Role.TheatricalDistributor, "cinema.economic"));
        Assert.Equal(40m, Examples.Points(response, Role.TheatricalDistributor, "cinema.cultural"));

        Examples.AssertMatches(Examples.ExpectedFor(2_400_000m), response, "example");

        using var typed = Typed();
        Assert.Equal(response, await typed.ScoreWorkAsync(Examples.FirstFeature()));
    }

    [Fact]
    public async Task ScoreWork_with_totals_only_gives_the_same_points_without_lines()
    {
        var full = await Raw.ScoreWorkAsync(Examples.FirstFeature(), deadline: Deadline);
        var request = Examples.FirstFeature();
        request.TotalsOnly = true;
        request.IncludeNotApplied = true; // ignored with totals_only
        var totals = await Raw.ScoreWorkAsync(request, deadline: Deadline);

        Assert.Equal(full.ContentHash, totals.ContentHash);
        foreach (var role in full.Roles)
        {
            var t = totals.Roles.Single(r => r.Role == role.Role);
            Assert.Equal(role.TotalPoints, t.TotalPoints);
            Assert.Equal(role.Quotas.Select(q => (q.QuotaId, q.Points)), t.Quotas.Select(q => (q.QuotaId, q.Points)));
            Assert.All(t.Quotas, q => Assert.Empty(q.Lines));
            Assert.Empty(t.NotApplied);
        }
        Assert.True(totals.CalculateSize() * 5 < full.CalculateSize(), $"{totals.CalculateSize()} vs {full.CalculateSize()} bytes");
    }

    [Fact]
    public async Task Three_bad_fields_give_one_INVALID_ARGUMENT_naming_all_three()
    {
        var request = Examples.FirstFeature();
        request.Work.BoxOffice[0].Amount = "-5";
        request.Work.Festivals[0].FestivalId = "festival-che-non-esiste";
        request.Work.ItalianSharePercent = "150";

        var ex = await Assert.ThrowsAsync<RpcException>(() => Raw.ScoreWorkAsync(request, deadline: Deadline).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var status = ex.GetRpcStatus();
        Assert.NotNull(status);
        var badRequest = status.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        Assert.Equal(
            ["work.box_office[0].amount", "work.festivals[0].festival_id", "work.italian_share_percent"],
            badRequest.FieldViolations.Select(v => v.Field).Order(StringComparer.Ordinal).ToArray());
        Assert.All(badRequest.FieldViolations, v => Assert.False(string.IsNullOrWhiteSpace(v.Description)));

        // The typed client surfaces it at once: INVALID_ARGUMENT is never retried.
        var retries = 0;
        using var typed = new ContributiClient(new ContributiClientOptions
        {
            Address = fixture.Server.Address,
            RetryCount = 3,
            OnRetry = _ => Interlocked.Increment(ref retries),
        });
        var typedError = await Assert.ThrowsAsync<RpcException>(() => typed.ScoreWorkAsync(request));
        Assert.Equal(StatusCode.InvalidArgument, typedError.StatusCode);
        Assert.Equal(3, ContributiClient.FieldViolations(typedError).Count);
        Assert.Equal(0, retries);
    }

    [Fact]
    public async Task A_result_dated_before_2017_is_kept_out_with_art_5_2_while_the_others_count()
    {
        var request = Examples.FirstFeature();
        request.Work.BoxOffice[1].Date = new Google.Type.Date { Year = 2016, Month = 12, Day = 31 };

        var response = await Raw.ScoreWorkAsync(request, deadline: Deadline);

        var excluded = Assert.Single(response.Excluded);
        Assert.Equal("box_office[1]", excluded.Field);
        Assert.Equal("art. 5.2", excluded.Article);
        Assert.Equal("esempio-opera-prima", excluded.WorkId);
        // Only the 2022 period counts: 1,000,000 / 5,000 + 500,000 / 7,500 = 266.6667 (was 386.6667 with both).
        var a1 = response.Roles[0].Quotas.Single(q => q.QuotaId == "cinema.economic").Lines.Single(l => l.RowId == "T1.A.1");
        Assert.Equal(266.6667m, Math.Round(decimal.Parse(a1.Points, System.Globalization.CultureInfo.InvariantCulture), 4));
    }

    [Fact]
    public async Task Unknown_rule_set_is_NOT_FOUND()
    {
        var request = Examples.FirstFeature();
        request.RuleSetId = "dm-1999";

        var ex = await Assert.ThrowsAsync<RpcException>(() => Raw.ScoreWorkAsync(request, deadline: Deadline).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("dm-1999", ex.Status.Detail);
    }

    [Fact]
    public async Task Application_year_picks_the_decree_version_in_force()
    {
        var request = Examples.FirstFeature();
        request.RuleSetId = "";
        request.ApplicationYear = 2022;
        var response = await Raw.ScoreWorkAsync(request, deadline: Deadline);
        Assert.Equal("dm-2021", response.RuleSetId);
        Examples.AssertMatches(Examples.ExpectedFor(2_400_000m), response, "2022");

        // 2018 is DM 2017's (its rows provisional, listed); 2016 no version governs: NOT_FOUND naming the governed years.
        request.ApplicationYear = 2018;
        foreach (var e in request.Work.BoxOffice) e.Date.Year = 2018;
        request.Work.FirstReleaseDate.Year = 2018;
        var old = await Raw.ScoreWorkAsync(request, deadline: Deadline);
        Assert.Equal("dm-2017", old.RuleSetId);
        Assert.Contains("T1.A.1", old.ProvisionalRows);

        request.ApplicationYear = 2016;
        var ex = await Assert.ThrowsAsync<RpcException>(() => Raw.ScoreWorkAsync(request, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("2017-2019 by dm-2017", ex.Status.Detail);
        Assert.Contains("2020- by dm-2021", ex.Status.Detail);
    }

    [Fact]
    public async Task An_expired_deadline_is_DEADLINE_EXCEEDED()
    {
        // A stream that the server waits on: its deadline passes on the server and the call ends.
        var before = fixture.Server.Stats.CancelledStreams;
        using (var call = Raw.ScoreWorks(deadline: DateTime.UtcNow.AddMilliseconds(300)))
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        }
        Assert.True(await Eventually.TrueAsync(() => fixture.Server.Stats.CancelledStreams > before && fixture.Server.Stats.ActiveStreams == 0),
            "the server's stream handler did not stop at the deadline");

        // Unary: a deadline already past.
        var unary = await Assert.ThrowsAsync<RpcException>(() =>
            Raw.ScoreWorkAsync(Examples.FirstFeature(), deadline: DateTime.UtcNow.AddMilliseconds(-1)).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, unary.StatusCode);

        // The typed client retries DEADLINE_EXCEEDED (idempotent call), then surfaces it.
        var retries = new List<ContributiRetryEvent>();
        using var typed = new ContributiClient(new ContributiClientOptions
        {
            Address = fixture.Server.Address,
            PerCallTimeout = TimeSpan.FromTicks(1),
            RetryCount = 2,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
            OnRetry = e => { lock (retries) retries.Add(e); },
        });
        var typedError = await Assert.ThrowsAsync<RpcException>(() => typed.ScoreWorkAsync(Examples.FirstFeature()));
        Assert.Equal(StatusCode.DeadlineExceeded, typedError.StatusCode);
        Assert.Equal(2, retries.Count);
        Assert.All(retries, r => Assert.Equal(StatusCode.DeadlineExceeded, r.StatusCode));
        Assert.All(retries, r => Assert.Equal("ScoreWork", r.Operation));
    }
}
