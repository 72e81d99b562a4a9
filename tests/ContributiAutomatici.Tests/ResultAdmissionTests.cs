using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Tests;

/// <summary>
/// The decree's result admission (art. 5.2, 5.10) is the engine's: a work scored directly through <see cref="CompiledRuleSet"/>,
/// with no request mapped, has a result dated before the version's admissibility date kept out with its article (and a
/// result declared twice counted once), while its other results count; the explained and the totals paths alike.
/// </summary>
public class ResultAdmissionTests
{
    private static readonly CompiledRuleSet Dm2021 = Repo.Catalog.FindVersion("dm-2021")!;

    private static Work Film(params DatedAmount[] boxOffice) => new()
    {
        Id = "film", Title = "film", Kind = WorkKind.Cinema, ProductionCost = 3_000_000m, FirstReleaseDate = new DateOnly(2021, 10, 1),
        BoxOffice = boxOffice,
    };

    [Fact]
    public void A_result_before_the_admissibility_date_is_kept_out_with_its_article_and_the_others_count()
    {
        Assert.Equal(new DateOnly(2017, 1, 1), Dm2021.Definition.AdmissibleResultsFrom);
        var early = new DatedAmount(new DateOnly(2016, 12, 20), 1_000_000m);
        var counted = new DatedAmount(new DateOnly(2021, 10, 1), 2_400_000m);
        RoleInput[] producer = [new(Role.Producer)];

        var result = Dm2021.Score(Film(early, counted), producer);
        var alone = Dm2021.Score(Film(counted), producer);

        var excluded = Assert.Single(result.Excluded);
        Assert.Equal(("film", "box_office[0]", "art. 5.2"), (excluded.WorkId, excluded.Field, excluded.Article));
        Assert.Equal("obtained on 2016-12-20, before 2017-01-01: results before then are inadmissible", excluded.Reason);
        Assert.Null(excluded.Role);
        // The points are those of the work with its admissible result alone: T1.A.1 reads 2,400,000, not 3,400,000.
        Assert.Equal(alone.For(Role.Producer)!.TotalPoints, result.For(Role.Producer)!.TotalPoints);
        var a1 = result.For(Role.Producer)!.Quotas.SelectMany(q => q.Lines).Single(l => l.RowId == "T1.A.1");
        Assert.Contains(new KeyValuePair<string, string>("Work.BoxOfficeTotal", "2400000"), a1.Inputs);
        Assert.True(a1.Points > 0m);
        Assert.Empty(alone.Excluded);

        // The totals path keeps it out too, and says so.
        var totals = new PointTotals();
        Dm2021.ScoreTotals(Film(early, counted), producer, totals);
        Assert.Equal(alone.For(Role.Producer)!.TotalPoints, totals.Total(Role.Producer));
        Assert.Equal(excluded, Assert.Single(totals.Excluded));
        Dm2021.ScoreTotals(Film(counted), producer, totals);
        Assert.Empty(totals.Excluded);
    }

    [Fact]
    public void A_result_declared_twice_counts_once_and_a_claimants_own_results_are_judged_too()
    {
        var day = new DatedAmount(new DateOnly(2021, 10, 1), 2_400_000m);
        RoleInput[] roles =
        [
            new(Role.Producer),
            new(Role.HomeEntertainmentPublisher)
            {
                HomeEntertainmentSales = [new(new DateOnly(2016, 6, 1), 50_000m), new(new DateOnly(2022, 3, 1), 80_000m)],
            },
        ];

        var result = Dm2021.Score(Film(day, day with { Amount = 1m }), roles);

        Assert.Equal(
            [("", "box_office[1]", (Role?)null, Dm2021.Definition.Allocation!.DeclaredOnceCitation),
             ("", "role.home_entertainment_sales[0]", Role.HomeEntertainmentPublisher, "art. 5.2")],
            result.Excluded.Select(e => (e.CompanyId, e.Field, e.Role, e.Article)));
        Assert.Equal(Dm2021.Score(Film(day), [roles[0], roles[1] with { HomeEntertainmentSales = [new(new DateOnly(2022, 3, 1), 80_000m)] }])
            .Roles.Select(r => r.TotalPoints), result.Roles.Select(r => r.TotalPoints));
    }
    /// <summary>
    /// Whether a day counts (<see cref="Engine.Allocation.ResultAdmission.Admits"/>, worked out as one window of days) is what the
    /// reasons say (<see cref="Engine.Allocation.ResultAdmission.Reject"/> gives none): for scoring alone and for an allocation's year,
    /// with the first exploitation unknown, in the year, before and after it, and with 0 to 3 too-early years (and none), every day
    /// around each year's ends and the admissibility date.
    /// </summary>
    [Fact]
    public void A_day_counts_exactly_when_no_rule_keeps_it_out()
    {
        var rules = Dm2021.Definition;
        var fe = rules.Allocation!.FirstExploitation!;
        var days = new List<DateOnly>();
        for (var y = 2014; y <= 2027; y++)
            foreach (var d in new[] { new DateOnly(y, 1, 1), new DateOnly(y, 6, 15), new DateOnly(y, 12, 31) })
                days.AddRange([d.AddDays(-1), d, d.AddDays(1)]);
        var from = rules.AdmissibleResultsFrom!.Value;
        days.AddRange([from.AddDays(-1), from, from.AddDays(1)]);
        var variants = new List<Engine.Rules.RuleSetDefinition> { rules, rules with { Allocation = rules.Allocation with { FirstExploitation = null } } };
        foreach (var tooEarly in new[] { 0, 1, 2, 3 })
            variants.Add(rules with { Allocation = rules.Allocation with { FirstExploitation = fe with { TooEarlyYears = tooEarly } } });
        var checkedDays = 0;
        foreach (var r in variants)
            foreach (int? year in new int?[] { null, 2021, 2022, 2023 })
                foreach (int? first in new int?[] { null, 2019, 2020, 2021, 2022, 2023, 2024 })
                {
                    var judge = new Engine.Allocation.ResultAdmission(r, year, first is { } f ? new DateOnly(f, 3, 1) : null);
                    foreach (var day in days)
                    {
                        Assert.True(judge.Admits(day) == (judge.Reject(day) is null), $"{day} year {year} first {first} too early {r.Allocation?.FirstExploitation?.TooEarlyYears}");
                        checkedDays++;
                    }
                }
        Assert.True(checkedDays > 5_000);
    }
}
