using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Benchmarks;

/// <summary>
/// The honest baseline of issue 10: Tabella 1 (both columns) written by hand as a programmer would for speed, over the
/// work's plain fields: loops, no LINQ, no lambda, no allocation. The decree's lists (Tabelle 6-8) are read once, at
/// construction, into per-id look-up tables, as a hand-written program would hard-code them; a work's festival, prize
/// and market entries are then each looked up once and every row reads flags. Same semantics as the rule files:
/// marginal tiers, increments on the base, a festival/prize once per row with its band's increment, markets once,
/// the distributor's contract strictly before the selection, Trieste's band by the work's facts.
/// </summary>
public sealed class PlainTabella1
{
    internal sealed class Festival
    {
        public decimal IncA = -1, IncB = -1, IncC = -1; // -1: not in that band's lists read by Tabella 1
        public (ListEntry Entry, (Func<Work, bool> Fact, bool Value)[] Facts, bool Holds)[]? Conditional; // hold only for some works
    }

    private const byte Academy = 1, Seven = 2, Eight = 4;
    private readonly Dictionary<string, Festival> _festivals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte> _prizes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _markets = new(StringComparer.Ordinal);

    /// <summary>The look-up tables, for the scorers that resolve a work's ids once (<see cref="ResolvedTabella1"/>).</summary>
    internal IReadOnlyDictionary<string, Festival> FestivalTable => _festivals;
    internal IReadOnlyDictionary<string, byte> PrizeTable => _prizes;
    internal IReadOnlySet<string> MarketTable => _markets;

    public PlainTabella1(IReadOnlyList<ListDefinition> lists)
    {
        foreach (var list in lists)
            foreach (var e in list.Entries)
                switch (list.Kind)
                {
                    case "festivals":
                        if (!_festivals.TryGetValue(e.Id, out var f)) _festivals[e.Id] = f = new Festival();
                        // "for_works" must all hold; "not_for_works" must not all hold (one fact, as in the lists, or several).
                        if (e.ForWorks is { } fw) { f.Conditional = [.. f.Conditional ?? [], (e, Facts(fw), true)]; break; }
                        if (e.NotForWorks is { } nw) { f.Conditional = [.. f.Conditional ?? [], (e, Facts(nw), false)]; break; }
                        Listed(f, e);
                        break;
                    case "prizes":
                        var bits = e.Id switch
                        {
                            "academy-award" => (byte)(Academy | Eight),
                            "david-di-donatello" or "nastri-d-argento" or "efa" or "goya" or "cesar" or "lola" or "bafta" => (byte)(Seven | Eight),
                            _ => (byte)0,
                        };
                        if (bits != 0) _prizes[e.Id] = bits;
                        break;
                    case "markets":
                        _markets.Add(e.Id);
                        break;
                }
    }

    private static (Func<Work, bool>, bool)[] Facts(WorkFacts facts) => [.. facts.Facts.Select(f => (WorkFacts.Known[f.Key], f.Value))];

    private static bool Holds((Func<Work, bool> Fact, bool Value)[] facts, bool holds, Work w)
    {
        var all = true;
        foreach (var (fact, value) in facts) all &= fact(w) == value;
        return all == holds;
    }

    private static void Listed(Festival f, ListEntry e)
    {
        switch (e.Band)
        {
            case "A": f.IncA = Math.Max(f.IncA, e.IncrementPercent); break;
            case "B" when e.Category is "tutte_le_opere" or "cortometraggi" or "documentari": f.IncB = Math.Max(f.IncB, e.IncrementPercent); break;
            case "C" when e.Category is "tutte_le_opere" or "documentari": f.IncC = Math.Max(f.IncC, e.IncrementPercent); break;
        }
    }

    /// <summary>Points of the role's column: cinema.economic and cinema.cultural.</summary>
    public (decimal Economic, decimal Cultural) Score(Work w, RoleInput claimant)
    {
        if (w.Animation) return (0m, 0m);
        var producer = claimant.Role == Role.Producer;
        decimal econ = 0m, cult = 0m;
        if (!w.ShortFilm)
        {
            var bo = 0m;
            var boxOffice = w.BoxOffice;
            for (var i = 0; i < boxOffice.Count; i++) bo += boxOffice[i].Amount;
            var a1 = producer ? Tiers3(bo) : bo > 0m ? (bo < 5_000_000m ? bo : 5_000_000m) / 25_000m : 0m;
            econ += a1;
            if (producer ? w.ProductionCost is { } pc && pc > 0m && bo / pc > 0.5m
                         : claimant.DistributionCost is { } dc && dc > 0m && bo / dc > 0.5m)
                econ += a1 * 0.20m;
            if (w.FirstReleaseDate is { } r && r.Month * 100 + r.Day is >= 601 and <= 831) econ += a1 * 0.50m;
            if (producer && (w.Kind == WorkKind.Cinema || w.ResearchAndTraining))
            {
                decimal media = 0m, foreign = 0m;
                var ms = w.MediaSales;
                for (var i = 0; i < ms.Count; i++) media += ms[i].Amount;
                var fs = w.ForeignSales;
                for (var i = 0; i < fs.Count; i++) foreign += fs[i].Amount;
                if (media > 0m) econ += media / 20_000m;
                if (foreign > 0m) econ += foreign / 5_000m;
            }
        }
        if (!(w.Kind == WorkKind.Cinema || w.ResearchAndTraining)) return (econ, cult);

        cult += Flags(w, producer);
        cult += Festivals(w, claimant, producer) + Prizes(w, claimant, producer) + Markets(w, claimant, producer);
        return (econ, cult);
    }

    /// <summary>The cultural rows that read the work's flags alone.</summary>
    internal static decimal Flags(Work w, bool producer)
    {
        var cult = 0m;
        if (producer)
        {
            cult += (w.Essai ? 5m : 0m) + (w.SelectiveContributions ? 15m : 0m);
            if (w.Coproduction != CoproductionKind.None && w.ItalianSharePercent is >= 20m and <= 90m) cult += 25m;
            if (w.FemaleMajorityAuthors) cult += 10m;
            if (w.FemaleDirector) cult += 15m;
            if (w.FemaleHeadsOfDepartment) cult += 15m;
            if (w.SupranationalFunding) cult += 50m;
            if (w.BilateralFund) cult += 25m;
            if (w.Documentary && !w.ShortFilm) cult += 15m;
            if (w.ShortFilm) cult += 10m;
            if (w.FirstOrSecondWork && !w.ShortFilm) cult += 15m;
            if (w.YoungAuthors && !w.ShortFilm) cult += 15m;
            if (w.ItalianComposers) cult += 15m;
        }
        else
        {
            cult += (w.Essai ? 5m : 0m) + (w.SelectiveContributions ? 5m : 0m);
            if (w.Coproduction != CoproductionKind.None && w.ItalianSharePercent is >= 20m and <= 90m) cult += 10m;
            if (w.FemaleMajorityAuthors) cult += 5m;
            if (w.FemaleDirector) cult += 5m;
            if (w.FemaleHeadsOfDepartment) cult += 5m;
            if (w.SupranationalFunding) cult += 10m;
            if (w.BilateralFund) cult += 5m;
            if (w.Documentary && !w.ShortFilm) cult += 10m;
            if (w.ShortFilm) cult += 10m;
            if (w.FirstOrSecondWork && !w.ShortFilm) cult += 10m;
            if (w.YoungAuthors && !w.ShortFilm) cult += 10m;
            if (w.ItalianComposers) cult += 5m;
        }
        return cult;
    }

    internal static decimal Tiers3(decimal bo)
    {
        if (bo <= 0m) return 0m;
        var p = (bo < 1_000_000m ? bo : 1_000_000m) / 5_000m;
        if (bo > 1_000_000m) p += ((bo < 3_000_000m ? bo : 3_000_000m) - 1_000_000m) / 7_500m;
        if (bo > 3_000_000m) p += ((bo < 5_000_000m ? bo : 5_000_000m) - 3_000_000m) / 10_000m;
        return p;
    }

    internal static bool Counts(RoleInput c, bool producer, DateOnly? selection) =>
        producer || c.ContractSignedOn is { } d && selection is { } s && d < s;

    private decimal Festivals(Work w, RoleInput c, bool producer)
    {
        var es = w.Festivals;
        decimal total = 0m;
        for (var i = 0; i < es.Count; i++)
        {
            var id = es[i].FestivalId;
            var seen = false;
            for (var k = 0; k < i && !seen; k++) seen = es[k].FestivalId == id;
            if (seen || !_festivals.TryGetValue(id, out var f)) continue;
            // What the festival's entries (the counting ones) hold, once per festival.
            bool any = false, comp = false, ooc = false, compPrize = false, oocPrize = false, best = false, other = false;
            for (var j = i; j < es.Count; j++)
            {
                var e = es[j];
                if (e.FestivalId != id || !Counts(c, producer, e.SelectionDate)) continue;
                Holds(e, ref any, ref comp, ref ooc, ref compPrize, ref oocPrize, ref best, ref other);
            }
            if (!any) continue;
            var (incA, incB, incC) = Increments(f, w);
            total += Bands(incA, incB, incC, comp, ooc, compPrize, oocPrize, best, other, producer);
        }
        return total;
    }

    /// <summary>What one counting entry of a festival adds to what its entries hold.</summary>
    internal static void Holds(FestivalEntry e, ref bool any, ref bool comp, ref bool ooc, ref bool compPrize, ref bool oocPrize, ref bool best, ref bool other)
    {
        any = true;
        var prize = e.BestFilmPrize || e.OtherPrizes > 0;
        if (e.Section == FestivalSection.Competition) { comp = true; compPrize |= prize; }
        else if (e.Section == FestivalSection.OfficialOutOfCompetition) { ooc = true; oocPrize |= prize; }
        best |= e.BestFilmPrize;
        other |= e.OtherPrizes > 0;
    }

    /// <summary>A festival's band increments for this work: its unconditional lists', and those of the conditional entries that hold.</summary>
    internal static (decimal A, decimal B, decimal C) Increments(Festival f, Work w)
    {
        decimal incA = f.IncA, incB = f.IncB, incC = f.IncC;
        if (f.Conditional is { } cond)
            foreach (var (e, facts, holds) in cond)
                if (Holds(facts, holds, w))
                    switch (e.Band)
                    {
                        case "A": incA = Math.Max(incA, e.IncrementPercent); break;
                        case "B" when e.Category is "tutte_le_opere" or "cortometraggi" or "documentari": incB = Math.Max(incB, e.IncrementPercent); break;
                        case "C" when e.Category is "tutte_le_opere" or "documentari": incC = Math.Max(incC, e.IncrementPercent); break;
                    }
        return (incA, incB, incC);
    }

    /// <summary>A festival's points from its bands' increments and what its counting entries hold.</summary>
    internal static decimal Bands(decimal incA, decimal incB, decimal incC, bool comp, bool ooc, bool compPrize, bool oocPrize, bool best, bool other, bool producer)
    {
        var total = 0m;
        if (incA >= 0m)
        {
            var m = 1m + incA / 100m;
            if (comp) total += (producer ? 100m : 20m) * m;
            if (ooc) total += (producer ? 50m : 10m) * m;
            if (compPrize) total += (producer ? 200m : 40m) * m;
            if (oocPrize) total += (producer ? 100m : 20m) * m;
        }
        if (incB >= 0m)
        {
            var m = 1m + incB / 100m;
            total += (producer ? 25m : 5m) * m;
            if (best) total += (producer ? 25m : 5m) * m;
            if (other) total += (producer ? 15m : 3m) * m;
        }
        if (incC >= 0m)
        {
            var m = 1m + incC / 100m;
            total += (producer ? 15m : 3m) * m;
            if (best) total += (producer ? 25m : 3m) * m;
            if (other) total += (producer ? 15m : 2m) * m;
        }
        return total;
    }

    private decimal Prizes(Work w, RoleInput c, bool producer)
    {
        var ps = w.Prizes;
        decimal total = 0m;
        for (var i = 0; i < ps.Count; i++)
        {
            var id = ps[i].PrizeId;
            var seen = false;
            for (var k = 0; k < i && !seen; k++) seen = ps[k].PrizeId == id;
            if (seen || !_prizes.TryGetValue(id, out var bits)) continue;
            bool bestAny = false, bestWin = false, artAny = false, artWin = false;
            for (var j = i; j < ps.Count; j++)
            {
                var p = ps[j];
                if (p.PrizeId != id || !Counts(c, producer, p.SelectionDate)) continue;
                var win = p.Outcome == PrizeOutcome.Win;
                if (p.Category == PrizeCategory.BestFilm) { bestAny = true; bestWin |= win; }
                else if (p.Category == PrizeCategory.Artistic) { artAny = true; artWin |= win; }
            }
            total += PrizePoints(bits, bestAny, bestWin, artAny, artWin, producer);
        }
        return total;
    }

    /// <summary>A prize's points from its rows (Academy; seven prizes; eight prizes' artistic categories) and what its entries hold.</summary>
    internal static decimal PrizePoints(byte bits, bool bestAny, bool bestWin, bool artAny, bool artWin, bool producer)
    {
        var total = 0m;
        if ((bits & Academy) != 0)
        {
            if (bestAny) total += producer ? 100m : 30m;
            if (bestWin) total += producer ? 200m : 30m;
        }
        if ((bits & Seven) != 0)
        {
            if (bestAny) total += producer ? 50m : 10m;
            if (bestWin) total += producer ? 100m : 20m;
        }
        if ((bits & Eight) != 0)
        {
            if (artAny) total += producer ? 25m : 5m;
            if (artWin) total += producer ? 25m : 5m;
        }
        return total;
    }

    private decimal Markets(Work w, RoleInput c, bool producer)
    {
        var ms = w.Markets;
        for (var i = 0; i < ms.Count; i++)
            if (_markets.Contains(ms[i].MarketId) && Counts(c, producer, ms[i].SelectionDate)) return producer ? 25m : 5m;
        return 0m;
    }
}

/// <summary>Tabella 5 (HE publisher) by hand over plain fields: the table with no list look-up, the engine's fixed cost per row.</summary>
public static class PlainTabella5
{
    public static decimal Score(Work w, RoleInput publisher)
    {
        var sales = 0m;
        var he = publisher.HomeEntertainmentSales;
        for (var i = 0; i < he.Count; i++) sales += he[i].Amount;
        var p = sales > 0m ? sales / 10_000m : 0m;
        p += (w.Essai ? 5m : 0m) + (w.SelectiveContributions ? 20m : 0m);
        if (w.FemaleMajorityAuthors) p += 10m;
        if (w.FemaleDirector) p += 15m;
        if (w.SupranationalFunding) p += 25m;
        if (w.BilateralFund) p += 10m;
        if (w.Documentary) p += 15m;
        if (w.Animation) p += 15m;
        if (w.ShortFilm) p += 10m;
        if (w.FirstOrSecondWork) p += 15m;
        if (w.YoungAuthors) p += 15m;
        return p;
    }
}
