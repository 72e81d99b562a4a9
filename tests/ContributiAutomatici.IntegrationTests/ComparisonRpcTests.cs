using ContributiAutomatici.Client;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using Grpc.Core;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>contributi.v1.ComparisonService over a real loopback Kestrel.</summary>
[Collection("server")]
public sealed class ComparisonRpcTests(ServerFixture fixture)
{
    private ComparisonService.ComparisonServiceClient Raw => new(fixture.Channel);

    private static DateTime Deadline => DateTime.UtcNow.AddMinutes(1);

    private static RuleSetRef Plain(string id) => new() { RuleSetId = id, WithoutOverlays = { "*" } };

    [Fact]
    public async Task DiffRuleSets_names_the_Covid_rows_with_and_without_the_overlay()
    {
        var diff = await Raw.DiffRuleSetsAsync(new DiffRuleSetsRequest { A = Plain("dm-2021"), B = new RuleSetRef { RuleSetId = "dm-2021" } }, deadline: Deadline);

        Assert.Equal("dm-2021", diff.A);
        Assert.Equal("dm-2021+covid-19", diff.B);
        // Art. 17.1 changes the quantities T1.A.1, T1.A.1.rapporto and T1.A.2 read, not those rows.
        Assert.Equal(["T1.A.1.covid", "T3.A.1.covid", "T4.A.1", "T5.A.1"], diff.Rows.Select(r => r.RowId));
        Assert.Equal(["derogation_revenue", "producer_box_office", "producer_media_sales"], diff.Quantities.Select(q => q.Field));
        Assert.Equal("added", diff.Rows.Single(r => r.RowId == "T1.A.1.covid").Change);
    }

    [Fact]
    public async Task CompareWorks_streams_one_answer_per_work_in_order_with_the_rows_that_differ()
    {
        var film = Examples.FirstFeature();
        // Inside the Covid-19 window: the overlay adds 100% of the box-office points (art. 17.2.a).
        film.Work.BoxOffice[0].Date = new Google.Type.Date { Year = 2021, Month = 6, Day = 1 };
        film.Work.BoxOffice[1].Date = new Google.Type.Date { Year = 2021, Month = 7, Day = 1 };
        using var call = Raw.CompareWorks(deadline: Deadline);
        await call.RequestStream.WriteAsync(new CompareWorksRequest { RequestId = "w1", A = Plain("dm-2021"), B = new RuleSetRef { RuleSetId = "dm-2021" }, Work = film.Work, Roles = { film.Roles } });
        await call.RequestStream.WriteAsync(new CompareWorksRequest { RequestId = "bad", A = Plain("dm-2021"), B = Plain("dm-2021"), Work = new Work() });
        await call.RequestStream.CompleteAsync();
        var answers = new List<CompareWorksResponse>();
        await foreach (var a in call.ResponseStream.ReadAllAsync()) answers.Add(a);

        Assert.Equal(["w1", "bad"], answers.Select(a => a.RequestId));
        var producer = answers[0].Comparison.Roles.Single(r => r.Role == Role.Producer);
        var row = Assert.Single(producer.Rows);
        Assert.Equal("T1.A.1.covid", row.RowId);
        Assert.Equal("", row.APoints);
        // 2,400,000 of box office, all inside the window: 100% of its 386.6667 base points.
        Assert.Equal(386.6667m, Math.Round(decimal.Parse(row.BPoints, System.Globalization.CultureInfo.InvariantCulture), 4));
        Assert.Equal((int)StatusCode.InvalidArgument, answers[1].Error.Code);
    }

    [Fact]
    public async Task CompareAllocations_allocates_a_year_under_both_sides()
    {
        var year = JsonParser.Default.Parse<AllocationYear>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "year-2021.json")));
        using var call = Raw.CompareAllocations(deadline: Deadline);
        var a = year.Header.Clone();
        a.WithoutOverlays.Add("*");
        await call.RequestStream.WriteAsync(new CompareAllocationsRequest { Sides = new CompareSides { A = a, B = year.Header } });
        foreach (var item in AllocationMapper.Items(year).Skip(1))
            await call.RequestStream.WriteAsync(item.ItemCase switch
            {
                AllocateRequest.ItemOneofCase.Company => new CompareAllocationsRequest { Company = item.Company },
                AllocateRequest.ItemOneofCase.Work => new CompareAllocationsRequest { Work = item.Work },
                _ => new CompareAllocationsRequest { Claim = item.Claim },
            });
        await call.RequestStream.CompleteAsync();
        var r = await call.ResponseAsync;

        Assert.Empty(r.A.Overlays);
        Assert.Equal(["covid-19"], r.B.Overlays);
        Assert.Equal(r.Companies.Count, year.Companies.Count);
        Assert.All(r.Gainers, g => Assert.DoesNotContain("-", g.Difference));
        Assert.All(r.Losers, l => Assert.StartsWith("-", l.Difference));
        Assert.Contains(r.Losers, l => l.CompanyId == "delta-international");
        Assert.Contains(r.Rows, x => x.RowId == "T4.A.1");
    }
}

/// <summary>GetRuleSet shows a version with its overlays, figures included.</summary>
[Collection("server")]
public sealed class GetRuleSetTests(ServerFixture fixture)
{
    [Fact]
    public async Task GetRuleSet_names_the_overlays_and_shows_figures_and_windowed_figures()
    {
        var client = new ScoringService.ScoringServiceClient(fixture.Channel);
        var plain = await client.GetRuleSetAsync(new GetRuleSetRequest { RuleSetId = "dm-2021~covid-19" }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Equal(["covid-19"], plain.Summary.Overlays);
        var t4 = plain.Tables.Single(t => t.Id == "T4").Rows.Single(r => r.Id == "T4.A.1");
        Assert.Equal(("eur_per_point", "5000", "EUR"), (t4.Figures[0].Name, t4.Figures[0].Value, t4.Figures[0].Unit));
        Assert.Null(t4.Windowed);

        var covid = await client.GetRuleSetAsync(new GetRuleSetRequest { RuleSetId = "dm-2021+covid-19" }, deadline: DateTime.UtcNow.AddSeconds(30));
        var w = covid.Tables.Single(t => t.Id == "T4").Rows.Single(r => r.Id == "T4.A.1").Windowed;
        Assert.Equal(("covid-19", "1000", "art. 17.2.b"), (w.OverlayId, w.Figures[0].Value, w.Citation));
        Assert.Equal(new Google.Type.Date { Year = 2020, Month = 2, Day = 23 }, w.From);
        Assert.Contains(covid.Tables.Single(t => t.Id == "T1").Rows, r => r.Id == "T1.A.1.covid" && r.PatchedBy.Contains("covid-19: art. 17.2.a"));
    }
}
