using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Benchmarks;

/// <summary>
/// Tabella 1 written by hand in C#, the baseline the compiled rules are measured against: the same rows,
/// the same semantics (marginal tiers, increments on the base, festival lists and increments, a festival
/// once per row, prizes once per row, markets once, the distributor's contract before the selection).
/// Totals per role and sub-quota, no explanation, like the compiled rules' totals-only path.
/// </summary>
public sealed class HandWrittenTabella1(IReadOnlyDictionary<string, (string Band, string Category, decimal Increment)[]> festivals)
{
    private static readonly string[] Seven = ["david-di-donatello", "nastri-d-argento", "efa", "goya", "cesar", "lola", "bafta"];
    private static readonly string[] Eight = [.. Seven, "academy-award"];
    private static readonly string[] BandBLists = ["tutte_le_opere", "cortometraggi", "documentari"];
    private static readonly string[] BandCLists = ["tutte_le_opere", "documentari"];

    public (decimal Economic, decimal Cultural) Score(Work w, RoleInput claimant)
    {
        if (w.Animation) return (0, 0);
        var producer = claimant.Role == Role.Producer;
        decimal econ = 0, cult = 0;
        if (!w.ShortFilm)
        {
            var bo = w.BoxOfficeTotal;
            var a1 = producer ? Tiers3(bo) : Math.Min(bo, 5_000_000m) / 25_000m;
            if (bo <= 0) a1 = 0;
            econ += a1;
            var cost = producer ? w.ProductionCost : claimant.DistributionCost;
            if (cost > 0 && bo / cost > 0.5m) econ += a1 * 0.20m;
            if (w.FirstReleaseDate is { Month: >= 6 and <= 8 }) econ += a1 * 0.50m;
            if (producer && (w.Kind == WorkKind.Cinema || w.ResearchAndTraining))
                econ += Math.Max(w.MediaSalesTotal, 0) / 20_000m + Math.Max(w.ForeignSalesTotal, 0) / 5_000m;
        }
        if (!(w.Kind == WorkKind.Cinema || w.ResearchAndTraining)) return (econ, cult);

        cult += producer ? (w.Essai ? 5 : 0) + (w.SelectiveContributions ? 15 : 0) : (w.Essai ? 5 : 0) + (w.SelectiveContributions ? 5 : 0);
        if (w.Coproduction != CoproductionKind.None && w.ItalianSharePercent is >= 20 and <= 90) cult += producer ? 25 : 10;
        if (w.FemaleMajorityAuthors) cult += producer ? 10 : 5;
        if (w.FemaleDirector) cult += producer ? 15 : 5;
        if (w.FemaleHeadsOfDepartment) cult += producer ? 15 : 5;
        if (w.SupranationalFunding) cult += producer ? 50 : 10;
        if (w.BilateralFund) cult += producer ? 25 : 5;
        if (w.Documentary && !w.ShortFilm) cult += producer ? 15 : 10;
        if (w.ShortFilm) cult += 10;
        if (w.FirstOrSecondWork && !w.ShortFilm) cult += producer ? 15 : 10;
        if (w.YoungAuthors && !w.ShortFilm) cult += producer ? 15 : 10;
        if (w.ItalianComposers) cult += producer ? 15 : 5;

        var cb = !producer;
        cult += Fest(w, claimant, "A", null, e => e.Section == FestivalSection.Competition, producer ? 100 : 20, cb);
        cult += Fest(w, claimant, "A", null, e => e.Section == FestivalSection.OfficialOutOfCompetition, producer ? 50 : 10, cb);
        cult += Fest(w, claimant, "B", BandBLists, _ => true, producer ? 25 : 5, cb);
        cult += Fest(w, claimant, "C", BandCLists, _ => true, producer ? 15 : 3, cb);
        cult += Fest(w, claimant, "A", null, e => e.AnyPrize && e.Section == FestivalSection.Competition, producer ? 200 : 40, cb);
        cult += Fest(w, claimant, "A", null, e => e.AnyPrize && e.Section == FestivalSection.OfficialOutOfCompetition, producer ? 100 : 20, cb);
        cult += Fest(w, claimant, "B", BandBLists, e => e.BestFilmPrize, producer ? 25 : 5, cb);
        cult += Fest(w, claimant, "B", BandBLists, e => e.OtherPrizes > 0, producer ? 15 : 3, cb);
        cult += Fest(w, claimant, "C", BandCLists, e => e.BestFilmPrize, producer ? 25 : 3, cb);
        cult += Fest(w, claimant, "C", BandCLists, e => e.OtherPrizes > 0, producer ? 15 : 2, cb);
        cult += Prize(w, claimant, ["academy-award"], p => p.Category == PrizeCategory.BestFilm, producer ? 100 : 30, cb);
        cult += Prize(w, claimant, ["academy-award"], p => p.Category == PrizeCategory.BestFilm && p.Outcome == PrizeOutcome.Win, producer ? 200 : 30, cb);
        cult += Prize(w, claimant, Seven, p => p.Category == PrizeCategory.BestFilm, producer ? 50 : 10, cb);
        cult += Prize(w, claimant, Eight, p => p.Category == PrizeCategory.Artistic, producer ? 25 : 5, cb);
        cult += Prize(w, claimant, Seven, p => p.Category == PrizeCategory.BestFilm && p.Outcome == PrizeOutcome.Win, producer ? 100 : 20, cb);
        cult += Prize(w, claimant, Eight, p => p.Category == PrizeCategory.Artistic && p.Outcome == PrizeOutcome.Win, producer ? 25 : 5, cb);
        foreach (var m in w.Markets)
            if (!cb || Before(claimant, m.SelectionDate)) { cult += producer ? 25 : 5; break; }
        return (econ, cult);
    }

    private static decimal Tiers3(decimal bo)
    {
        if (bo <= 0) return 0;
        decimal p = Math.Min(bo, 1_000_000m) / 5_000m;
        if (bo > 1_000_000m) p += (Math.Min(bo, 3_000_000m) - 1_000_000m) / 7_500m;
        if (bo > 3_000_000m) p += (Math.Min(bo, 5_000_000m) - 3_000_000m) / 10_000m;
        return p;
    }

    private static bool Before(RoleInput c, DateOnly? selection) => c.ContractSignedOn is { } d && selection is { } s && d < s;

    private decimal Fest(Work w, RoleInput c, string band, string[]? lists, Func<FestivalEntry, bool> match, decimal points, bool contract)
    {
        decimal total = 0;
        var es = w.Festivals;
        for (var i = 0; i < es.Count; i++)
        {
            var id = es[i].FestivalId;
            var seen = false;
            for (var k = 0; k < i && !seen; k++) seen = es[k].FestivalId == id;
            if (seen || !festivals.TryGetValue(id, out var entries)) continue;
            decimal? inc = null;
            foreach (var (b, cat, incr) in entries)
                if (b == band && (lists is null || Array.IndexOf(lists, cat) >= 0)) inc = Math.Max(inc ?? 0, incr);
            if (inc is null) continue;
            var hit = false;
            for (var j = i; j < es.Count && !hit; j++)
                hit = es[j].FestivalId == id && match(es[j]) && (!contract || Before(c, es[j].SelectionDate));
            if (hit) total += points * (1 + inc.Value / 100m);
        }
        return total;
    }

    private static decimal Prize(Work w, RoleInput c, string[] ids, Func<PrizeEntry, bool> match, decimal points, bool contract)
    {
        decimal total = 0;
        List<string>? counted = null;
        foreach (var p in w.Prizes)
        {
            if (Array.IndexOf(ids, p.PrizeId) < 0 || counted?.Contains(p.PrizeId) == true) continue;
            if (!match(p) || contract && !Before(c, p.SelectionDate)) continue;
            (counted ??= []).Add(p.PrizeId);
            total += points;
        }
        return total;
    }
}
