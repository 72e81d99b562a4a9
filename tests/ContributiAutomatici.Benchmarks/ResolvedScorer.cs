using System.Collections.Frozen;
using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Benchmarks;

/// <summary>
/// A work with what Tabella 1's rows ask resolved once (issue 27 item 3): the sums of its dated amounts, and each festival,
/// prize and market entry's list membership as numbers (the festival's index and its bands' increments for this work, the
/// prize's rows, whether the market is listed). What a compiled plan could resolve once per work. Reused: resolving into it
/// allocates nothing once its arrays are large enough.
/// </summary>
public sealed class ResolvedWork
{
    public Work Work { get; private set; } = null!;
    public decimal BoxOffice, Media, Foreign;
    public int Festivals, Prizes, Markets;
    public int[] FestivalIndex = new int[4];  // per festival entry: its festival's number, -1 when Tabella 1 does not list it
    public decimal[] IncA = new decimal[4], IncB = new decimal[4], IncC = new decimal[4]; // per entry: its festival's increments (-1: not in that band)
    public int[] PrizeIndex = new int[4];     // per prize entry: its prize's number, -1 when no row reads it
    public byte[] PrizeBits = new byte[4];
    public bool[] MarketListed = new bool[4];

    internal void Reset(Work w)
    {
        Work = w;
        (Festivals, Prizes, Markets) = (w.Festivals.Count, w.Prizes.Count, w.Markets.Count);
        if (FestivalIndex.Length < Festivals) (FestivalIndex, IncA, IncB, IncC) = (new int[Festivals], new decimal[Festivals], new decimal[Festivals], new decimal[Festivals]);
        if (PrizeIndex.Length < Prizes) (PrizeIndex, PrizeBits) = (new int[Prizes], new byte[Prizes]);
        if (MarketListed.Length < Markets) MarketListed = new bool[Markets];
    }
}

/// <summary>
/// Tabella 1 by hand over a <see cref="ResolvedWork"/> (issue 27 item 3): the two honest baselines. <see cref="Score(ResolvedWork, RoleInput)"/>
/// reads only resolved numbers (no dictionary, no string): the pre-resolved scorer, its works resolved before timing.
/// <see cref="Score(Work, RoleInput)"/> takes the same input as the engine (the work with its ids as strings), resolves it
/// through frozen dictionaries into a reused buffer, then scores it: the same-input scorer. Same arithmetic as
/// <see cref="PlainTabella1"/> (its helpers), checked equal on every seeded work.
/// </summary>
public sealed class ResolvedTabella1
{
    private readonly FrozenDictionary<string, (int Index, PlainTabella1.Festival Festival)> _festivals;
    private readonly FrozenDictionary<string, (int Index, byte Bits)> _prizes;
    private readonly FrozenSet<string> _markets;
    private readonly ResolvedWork _buffer = new();

    public ResolvedTabella1(PlainTabella1 plain)
    {
        var k = 0;
        _festivals = plain.FestivalTable.ToFrozenDictionary(f => f.Key, f => (k++, f.Value), StringComparer.Ordinal);
        k = 0;
        _prizes = plain.PrizeTable.ToFrozenDictionary(p => p.Key, p => (k++, p.Value), StringComparer.Ordinal);
        _markets = plain.MarketTable.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>Resolves a work's sums and entries into <paramref name="into"/>.</summary>
    public void Resolve(Work w, ResolvedWork into)
    {
        into.Reset(w);
        decimal bo = 0m, media = 0m, foreign = 0m;
        var b = w.BoxOffice;
        for (var i = 0; i < b.Count; i++) bo += b[i].Amount;
        var ms = w.MediaSales;
        for (var i = 0; i < ms.Count; i++) media += ms[i].Amount;
        var fs = w.ForeignSales;
        for (var i = 0; i < fs.Count; i++) foreign += fs[i].Amount;
        (into.BoxOffice, into.Media, into.Foreign) = (bo, media, foreign);
        var es = w.Festivals;
        for (var i = 0; i < es.Count; i++)
            if (_festivals.TryGetValue(es[i].FestivalId, out var f))
            {
                into.FestivalIndex[i] = f.Index;
                (into.IncA[i], into.IncB[i], into.IncC[i]) = PlainTabella1.Increments(f.Festival, w);
            }
            else into.FestivalIndex[i] = -1;
        var ps = w.Prizes;
        for (var i = 0; i < ps.Count; i++)
            (into.PrizeIndex[i], into.PrizeBits[i]) = _prizes.TryGetValue(ps[i].PrizeId, out var p) ? p : (-1, (byte)0);
        var mk = w.Markets;
        for (var i = 0; i < mk.Count; i++) into.MarketListed[i] = _markets.Contains(mk[i].MarketId);
    }

    /// <summary>The same-input scorer: the engine's input, its ids resolved through frozen dictionaries, then scored.</summary>
    public (decimal Economic, decimal Cultural) Score(Work w, RoleInput claimant)
    {
        Resolve(w, _buffer);
        return Score(_buffer, claimant);
    }

    /// <summary>The pre-resolved scorer: points of the role's column, cinema.economic and cinema.cultural.</summary>
    public static (decimal Economic, decimal Cultural) Score(ResolvedWork r, RoleInput claimant)
    {
        var w = r.Work;
        if (w.Animation) return (0m, 0m);
        var producer = claimant.Role == Role.Producer;
        decimal econ = 0m, cult = 0m;
        var cinema = w.Kind == WorkKind.Cinema || w.ResearchAndTraining;
        if (!w.ShortFilm)
        {
            var bo = r.BoxOffice;
            var a1 = producer ? PlainTabella1.Tiers3(bo) : bo > 0m ? (bo < 5_000_000m ? bo : 5_000_000m) / 25_000m : 0m;
            econ += a1;
            if (producer ? w.ProductionCost is { } pc && pc > 0m && bo / pc > 0.5m
                         : claimant.DistributionCost is { } dc && dc > 0m && bo / dc > 0.5m)
                econ += a1 * 0.20m;
            if (w.FirstReleaseDate is { } d && d.Month * 100 + d.Day is >= 601 and <= 831) econ += a1 * 0.50m;
            if (producer && cinema)
            {
                if (r.Media > 0m) econ += r.Media / 20_000m;
                if (r.Foreign > 0m) econ += r.Foreign / 5_000m;
            }
        }
        if (!cinema) return (econ, cult);
        cult += PlainTabella1.Flags(w, producer);
        cult += Festivals(r, claimant, producer) + Prizes(r, claimant, producer) + Markets(r, claimant, producer);
        return (econ, cult);
    }

    private static decimal Festivals(ResolvedWork r, RoleInput c, bool producer)
    {
        var es = r.Work.Festivals;
        var index = r.FestivalIndex;
        decimal total = 0m;
        for (var i = 0; i < r.Festivals; i++)
        {
            var id = index[i];
            if (id < 0) continue;
            var seen = false;
            for (var k = 0; k < i && !seen; k++) seen = index[k] == id;
            if (seen) continue;
            bool any = false, comp = false, ooc = false, compPrize = false, oocPrize = false, best = false, other = false;
            for (var j = i; j < r.Festivals; j++)
            {
                if (index[j] != id) continue;
                var e = es[j];
                if (PlainTabella1.Counts(c, producer, e.SelectionDate)) PlainTabella1.Holds(e, ref any, ref comp, ref ooc, ref compPrize, ref oocPrize, ref best, ref other);
            }
            if (any) total += PlainTabella1.Bands(r.IncA[i], r.IncB[i], r.IncC[i], comp, ooc, compPrize, oocPrize, best, other, producer);
        }
        return total;
    }

    private static decimal Prizes(ResolvedWork r, RoleInput c, bool producer)
    {
        var ps = r.Work.Prizes;
        var index = r.PrizeIndex;
        decimal total = 0m;
        for (var i = 0; i < r.Prizes; i++)
        {
            var id = index[i];
            if (id < 0) continue;
            var seen = false;
            for (var k = 0; k < i && !seen; k++) seen = index[k] == id;
            if (seen) continue;
            bool bestAny = false, bestWin = false, artAny = false, artWin = false;
            for (var j = i; j < r.Prizes; j++)
            {
                if (index[j] != id) continue;
                var p = ps[j];
                if (!PlainTabella1.Counts(c, producer, p.SelectionDate)) continue;
                var win = p.Outcome == PrizeOutcome.Win;
                if (p.Category == PrizeCategory.BestFilm) { bestAny = true; bestWin |= win; }
                else if (p.Category == PrizeCategory.Artistic) { artAny = true; artWin |= win; }
            }
            total += PlainTabella1.PrizePoints(r.PrizeBits[i], bestAny, bestWin, artAny, artWin, producer);
        }
        return total;
    }

    private static decimal Markets(ResolvedWork r, RoleInput c, bool producer)
    {
        var ms = r.Work.Markets;
        for (var i = 0; i < r.Markets; i++)
            if (r.MarketListed[i] && PlainTabella1.Counts(c, producer, ms[i].SelectionDate)) return producer ? 25m : 5m;
        return 0m;
    }
}
