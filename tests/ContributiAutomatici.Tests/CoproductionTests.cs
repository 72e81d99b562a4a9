using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using Xunit;

namespace ContributiAutomatici.Tests;

/// <summary>
/// A work's category by its producers' States (art. 2.f-h) on its recognition date, from the shipped dated lists, and
/// the art. 5.8 threshold it answers to (issue 25, item 5); the lists' own checks at load.
/// </summary>
public class CoproductionTests
{
    private static Work Film(string country, int year, int month, int day, decimal? cost = null, WorkKind kind = WorkKind.Cinema) => new()
    {
        Id = "w", Kind = kind, ProductionCost = cost,
        CoProducers = [new CoProducer("estero", country, 70m)], NationalityRecognisedOn = new DateOnly(year, month, day),
    };

    private static Engine.Allocation.CoproductionStatus Classify(Work w, string ruleSet = "dm-2021") =>
        Repo.Catalog.Find(ruleSet)!.Coproductions.Classify(w);

    [Fact]
    public void An_agreement_counts_from_the_day_it_entered_into_force_not_the_day_before()
    {
        // France: the DGCA's agreement of 6.11.2000, in force from 1.6.2003 (France's ETS 147 entry has no verified date).
        var before = Classify(Film("FR", 2003, 5, 31, cost: 6_000_000m));
        var on = Classify(Film("FR", 2003, 6, 1, cost: 6_000_000m));

        Assert.Equal(CoproductionCategory.Participation, before.Category);
        Assert.Equal("art. 2.g", before.Article);
        Assert.Equal(20m, before.ThresholdPercent);
        Assert.Equal(CoproductionCategory.BilateralCoproduction, on.Category);
        Assert.Equal("art. 2.f", on.Article);
        Assert.Equal(10m, on.ThresholdPercent); // bilateral, cost >= EUR 5,000,000
        Assert.Equal(20m, Classify(Film("FR", 2024, 1, 1, cost: 4_999_999.99m)).ThresholdPercent);
        Assert.Equal(20m, Classify(Film("FR", 2024, 1, 1)).ThresholdPercent); // cost not given: 20%
    }

    [Fact]
    public void Under_the_convention_both_States_must_be_parties_that_day_and_the_work_is_multilateral()
    {
        // Belgium: no bilateral agreement listed; ETS 147 in force for Belgium from 1.12.2004, for Italy from 31.12.2003.
        Assert.Equal(CoproductionCategory.Participation, Classify(Film("BE", 2004, 11, 30)).Category);
        var on = Classify(Film("BE", 2004, 12, 1));
        Assert.Equal(CoproductionCategory.MultilateralCoproduction, on.Category);
        Assert.Equal(10m, on.ThresholdPercent); // multilateral: 10% whatever the cost
        Assert.Contains("ets-147", on.Reason);
        // Germany: ETS 147 from 24.3.1995 but Italy only from 31.12.2003, and the bilateral agreement from 5.11.2002.
        Assert.Equal(CoproductionCategory.Participation, Classify(Film("DE", 2001, 1, 1)).Category);
        Assert.Equal(CoproductionCategory.BilateralCoproduction, Classify(Film("DE", 2002, 11, 5)).Category);
    }

    [Fact]
    public void One_partner_without_an_agreement_makes_a_compartecipazione_or_for_other_works_a_produzione_internazionale()
    {
        var korean = Film("KR", 2026, 9, 1, cost: 6_000_000m) with
        {
            CoProducers = [new CoProducer("paris", "FR", 30m), new CoProducer("seoul", "KR", 40m), new CoProducer("roma", "IT", 30m)],
        };
        var cinema = Classify(korean);
        Assert.Equal(CoproductionCategory.Participation, cinema.Category);
        // Only the State without an agreement is named.
        Assert.StartsWith("no co-production agreement in force with KR on 2026-09-01", cinema.Reason);
        Assert.Contains("being prepared", cinema.Reason); // the shipped KR entry's note

        var tv = Classify(korean with { Kind = WorkKind.TvWeb });
        Assert.Equal(CoproductionCategory.InternationalProduction, tv.Category);
        Assert.Equal("art. 2.h", tv.Article);
        Assert.Equal(20m, tv.ThresholdPercent); // not a coproduzione: 20% although the cost is EUR 6,000,000
    }

    [Fact]
    public void Two_agreement_States_make_a_multilateral_coproduzione_and_Italian_producers_alone_a_national_work()
    {
        var multi = Film("FR", 2024, 1, 15) with { CoProducers = [new CoProducer("p", "FR", 44m), new CoProducer("b", "DE", 44m)] };
        Assert.Equal(CoproductionCategory.MultilateralCoproduction, Classify(multi).Category);
        Assert.Equal(10m, Classify(multi).ThresholdPercent);

        var national = Film("IT", 2024, 1, 15);
        Assert.Equal(CoproductionCategory.National, Classify(national).Category);
        Assert.Null(Classify(national).ThresholdPercent);
        Assert.False(national.International);
        Assert.True(multi.International);
    }

    [Fact]
    public void Without_co_producers_the_request_s_flag_is_taken_as_declared_with_the_thresholds_as_before()
    {
        var bilateral = new Work { Coproduction = CoproductionKind.Bilateral, ProductionCost = 5_000_000m };
        var multilateral = new Work { Coproduction = CoproductionKind.Multilateral };

        Assert.Equal(CoproductionCategory.Declared, Classify(bilateral).Category);
        Assert.Equal(10m, Classify(bilateral).ThresholdPercent);
        Assert.Equal(20m, Classify(bilateral with { ProductionCost = null }).ThresholdPercent);
        Assert.Equal(10m, Classify(multilateral).ThresholdPercent);
        Assert.Equal(CoproductionCategory.National, Classify(new Work()).Category);
    }

    [Fact]
    public void DM_2017_classes_works_with_DM_2021_s_lists_borrowed()
    {
        Assert.Equal(CoproductionCategory.BilateralCoproduction, Classify(Film("FR", 2018, 1, 1), "dm-2017").Category);
        Assert.Equal(CoproductionCategory.Participation, Classify(Film("KR", 2018, 1, 1), "dm-2017").Category);
        Assert.StartsWith("DM 31/07/2017", Classify(Film("KR", 2018, 1, 1), "dm-2017").Article);
    }

    [Fact]
    public void The_shipped_lists_date_no_Korean_agreement_and_every_undated_State_says_why()
    {
        var lists = Repo.Catalog.Find("dm-2021")!.Lists;
        var korea = Assert.Single(lists.Entries("coproduction_agreements", "KR"));
        Assert.Null(korea.InForceFrom);
        Assert.Contains("being prepared", korea.Note);
        foreach (var kind in new[] { "coproduction_agreements", "coproduction_conventions", "oda_recipients" })
        {
            var list = Assert.Single(lists.Lists, l => l.Kind == kind);
            Assert.All(list.Entries, e => Assert.True(e.InForceFrom is not null || !string.IsNullOrWhiteSpace(e.Note), $"{kind} {e.Id}"));
            Assert.All(list.Entries, e => Assert.False(string.IsNullOrWhiteSpace(e.Citation), $"{kind} {e.Id} has no source"));
        }
        Assert.Equal(new DateOnly(2024, 1, 1), lists.Entries("oda_recipients", "AF").Single().InForceFrom);
    }

    [Theory]
    [InlineData("  - { id: Korea, name: \"Corea\", category: bilaterale, in_force_from: 2026-07-01, cite: \"x\" }", "ISO 3166-1 alpha-2")]
    [InlineData("  - { id: NZ, name: \"Nuova Zelanda\", category: bilaterale, cite: \"x\" }", "has no in_force_from: say in a note why")]
    public void A_State_entry_with_a_bad_code_or_no_date_and_no_note_is_refused_with_its_line(string entry, string message)
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/accordi-coproduzione.yaml", "entries:\n", "entries:\n" + entry + "\n");

        var errors = new List<RuleError>();
        RuleFileParser.Parse(Path.Combine(t.Root, "dm-2021"), errors);

        var error = Assert.Single(errors);
        Assert.EndsWith("accordi-coproduzione.yaml", error.File);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void A_festival_entry_cannot_be_dated()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/tabella-6-festival.yaml", "    band: A\n", "    band: A\n    in_force_from: 2020-01-01\n");

        var errors = new List<RuleError>();
        RuleFileParser.Parse(Path.Combine(t.Root, "dm-2021"), errors);

        Assert.Contains("in_force_from dates the entries of", Assert.Single(errors).Message);
    }
}
