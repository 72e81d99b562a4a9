using System.Globalization;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Engine.Scoring;

/// <summary>The list helpers of the rule language (Tabelle 6, 7, 8): festivals, prizes, markets, with their explanation traces.</summary>
public abstract partial class RuleScope
{
    // ---------------------------------------------------------------- lists

    /// <summary>
    /// Festival rows (Tabella 6): <paramref name="points"/> for each distinct festival of the work that is
    /// in one of the named lists of the named bands ("A", "B, C" or "*") and whose entries match
    /// <paramref name="match"/>; each counts once per row and its maggiorazione (+100%/+50%) multiplies
    /// the points. With
    /// <paramref name="contractBeforeSelection"/> only entries selected after the claimant's contract count.
    /// </summary>
    protected decimal Festivals(
        [ListReference("festivals", ListField.Band)] string band,
        [ListReference("festivals", ListField.Category)] string lists,
        FestivalMatch match, decimal points, bool contractBeforeSelection = false)
    {
        if (_trace is not null) return FestivalsTraced(band, lists, match, points, contractBeforeSelection);
        if (Work.Festivals.Count == 0) return 0m;
        var r = Resolved();
        var site = FestivalSiteOf(band, lists);
        // Every row of a call site reads one pass over the work's festivals: per match, the sum of the listed festivals'
        // multipliers (1 + increment); the row's points are its points times that sum (the sum of its points per festival).
        // The sums of the work's festivals are made by the first row of the call site that reads them (per work, and per
        // claimant under contract); the other rows read them.
        var sums = contractBeforeSelection ? site.UnderContract.For(this, site, r, band, lists, r.FestivalMasksUnderContract(this), Claimant)
            : site.All.Generation == r.Generation ? site.All
            : site.All.For(this, site, r, band, lists, r.FestivalMasks, null);
        return sums.Times((int)match, points);
    }

    /// <summary>
    /// A festival call site (bands and lists of a rule): the multipliers of its festivals and, for the work being scored,
    /// the sums of those multipliers per <see cref="FestivalMatch"/>, without and under the last claimant's contract.
    /// </summary>
    private FestivalSite FestivalSiteOf(string band, string lists) =>
        _festivalSites.Get(CurrentExpression, band, lists) ?? _festivalSites.Add(CurrentExpression, band, lists, new FestivalSite(_lists.FestivalMultipliers(band, lists)));

    private sealed class FestivalSite(decimal[] multipliers)
    {
        /// <summary>Per festival (list position): what it multiplies the row's points by, 0 when not in the site's lists.</summary>
        public readonly decimal[] Multipliers = multipliers;

        /// <summary>Per festival: its multiplier is exactly 1 (no increment, scale 0), so it is counted, not added as a decimal.</summary>
        public readonly bool[] One = [.. multipliers.Select(m => m == 1m && m.Scale == 0)];

        public readonly FestivalSums All = new(), UnderContract = new();

        /// <summary>
        /// What festival <paramref name="f"/> (list position) multiplies this site's points by for the work in scope; false
        /// when it is not in the site's lists. A festival printed in two bands counts in the one its entries hold for this
        /// work (reading guide 7).
        /// </summary>
        public bool Multiplier(RuleScope scope, string band, string lists, int f, out decimal multiplier)
        {
            var dense = scope._lists.Festivals;
            if (!dense.Conditional[f])
            {
                multiplier = Multipliers[f];
                return NonZero(multiplier);
            }
            multiplier = 0m;
            if (!scope._lists.ListedFor(band, lists, dense.Ids[f], scope.Work, out var inc)) return false;
            multiplier = 1m + inc / 100m;
            return true;
        }
    }

    /// <summary>
    /// One work's sums of a festival call site's multipliers per <see cref="FestivalMatch"/> (for one claimant under contract,
    /// or for all): how many matching festivals multiply by exactly 1, and the sum of the other multipliers. A sum of exact
    /// decimals is the same number, scale included, in any order: <see cref="Times"/> gives what the points times the sum
    /// of every multiplier gave, with a decimal addition only per festival with an increment (most have none).
    /// </summary>
    private sealed class FestivalSums
    {
        public readonly int[] Counts = new int[8];
        public readonly decimal[] Others = new decimal[8];
        public int OtherBits, Generation = -1;
        public RoleInput? Of;

        public FestivalSums For(RuleScope scope, FestivalSite site, ListResolution r, string band, string lists, int[] masks, RoleInput? claimant)
        {
            if (Generation == r.Generation && ReferenceEquals(Of, claimant)) return this;
            (Generation, Of) = (r.Generation, claimant);
            Array.Clear(Counts);
            if (OtherBits != 0) Array.Clear(Others);
            OtherBits = 0;
            var n = scope.Work.Festivals.Count;
            for (var i = 0; i < n; i++)
            {
                // Only at a festival's first entry, whose mask holds what any of its entries matched.
                if (r.FestivalHead[i] != i || masks[i] == 0) continue;
                var f = r.FestivalIndex[i];
                if (site.One[f] && !scope._lists.Festivals.Conditional[f])
                {
                    for (var bits = masks[i]; bits != 0; bits &= bits - 1) Counts[System.Numerics.BitOperations.TrailingZeroCount(bits)]++;
                    continue;
                }
                if (!site.Multiplier(scope, band, lists, f, out var multiplier)) continue;
                OtherBits |= masks[i];
                for (var bits = masks[i]; bits != 0; bits &= bits - 1) Others[System.Numerics.BitOperations.TrailingZeroCount(bits)] += multiplier;
            }
            return this;
        }

        /// <summary>The row's points times the sum of the multipliers of the festivals that match.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public decimal Times(int match, decimal points)
        {
            var count = Counts[match];
            if ((OtherBits & (1 << match)) == 0) return count == 0 ? 0m : count == 1 ? points : points * count;
            var sum = count + Others[match];
            return NonZero(sum) ? points * sum : 0m;
        }
    }

    /// <summary>
    /// <see cref="Festivals"/> for an explanation: the same points, added up festival by festival, each festival that scored
    /// traced. It reads what the fast path reads (the work's entries resolved to list positions, their match masks, the call
    /// site's multipliers); an explanation's points are this reading's (TotalsPathTests checks them against the fast path's
    /// on every seeded work).
    /// </summary>
    private decimal FestivalsTraced(string band, string lists, FestivalMatch match, decimal points, bool contractBeforeSelection)
    {
        var entries = Work.Festivals;
        if (entries.Count == 0) return 0m;
        var r = Resolved();
        var site = FestivalSiteOf(band, lists);
        var masks = contractBeforeSelection ? r.FestivalMasksUnderContract(this) : r.FestivalMasks;
        var dense = _lists.Festivals;
        var bit = 1 << (int)match;
        decimal total = 0m;
        for (var i = 0; i < entries.Count; i++)
        {
            // A festival counts once, at its first entry, whose mask holds what any of its entries matched.
            if (r.FestivalHead[i] != i || (masks[i] & bit) == 0) continue;
            var f = r.FestivalIndex[i];
            if (!site.Multiplier(this, band, lists, f, out var multiplier)) continue;
            var p = points * multiplier;
            total += p;
            _trace?.Add(_traceTexts.Get(_traceCell, f, 0, p, multiplier, static (f, _, p, multiplier, dense) =>
            {
                var inc = (multiplier - 1m) * 100m;
                return $"{dense.Ids[f]} (fascia {dense.Bands[f]}{(inc > 0 ? $", +{inc:0.##}%" : "")}): {p.ToString(CultureInfo.InvariantCulture)}";
            }, dense));
        }
        return total;
    }

    /// <summary>
    /// The explanation's match texts, kept per cell, list position and detail (a prize's category and outcome) with the points
    /// and the multiplier they were made from (compared exactly, scale included: 1.0 and 1 print differently): a text is
    /// formatted once while the same rule meets the same festival again. At most <see cref="Max"/> kept (points computed from
    /// a work's own figures could otherwise grow it without end).
    /// </summary>
    private sealed class TraceTexts
    {
        private const int Max = 8192;
        private readonly Dictionary<long, (decimal Points, decimal Extra, string Text)> _texts = [];

        public void Clear() => _texts.Clear();

        public string Get<TState>(int cell, int index, int detail, decimal points, decimal extra,
            Func<int, int, decimal, decimal, TState, string> format, TState state)
        {
            var key = ((long)cell << 40) | ((long)index << 16) | (ushort)detail;
            if (_texts.TryGetValue(key, out var known) && known.Points == points && known.Points.Scale == points.Scale &&
                known.Extra == extra && known.Extra.Scale == extra.Scale) return known.Text;
            var text = format(index, detail, points, extra, state);
            if (_texts.Count < Max || _texts.ContainsKey(key)) _texts[key] = (points, extra, text);
            return text;
        }
    }

    private readonly TraceTexts _traceTexts = new();
    private int _traceCell;

    private bool[] _qualify = new bool[16];

    /// <summary>A cleared flag per entry, the same buffer for every traced row of a scoring.</summary>
    private bool[] QualifyScratch(int count)
    {
        if (_qualify.Length < count) _qualify = new bool[Math.Max(count, _qualify.Length * 2)];
        Array.Clear(_qualify, 0, count);
        return _qualify;
    }

    /// <summary>
    /// Prize rows (Tabella 7): <paramref name="points"/> once for each distinct prize named in
    /// <paramref name="prizes"/> (ids, or "*") from the named lists with an entry matching
    /// <paramref name="match"/>. A win also counts as the nomination.
    /// </summary>
    protected decimal Prizes(decimal points, PrizeMatch match = PrizeMatch.Any,
        [ListReference("prizes", ListField.Id)] string prizes = "*",
        [ListReference("prizes", ListField.Category)] string lists = "*",
        bool contractBeforeSelection = false)
    {
        if (_trace is not null) return PrizesTraced(points, match, prizes, lists, contractBeforeSelection);
        var entries = Work.Prizes;
        if (entries.Count == 0) return 0m;
        var r = Resolved();
        var site = PrizeSiteOf(prizes, lists);
        // Every row of a call site reads one pass over the work's prizes: per match, how many distinct named prizes match.
        var counts = contractBeforeSelection
            ? site.Counts(r, r.PrizeMasksUnderContract(this), Claimant, ref site.UnderContract, ref site.UnderContractOf, ref site.UnderContractGeneration)
            : site.AllGeneration == r.Generation ? site.All
            : site.Counts(r, r.PrizeMasks, null, ref site.All, ref site.AllOf, ref site.AllGeneration);
        var n = counts[(int)match];
        return n == 0 ? 0m : n == 1 ? points : points * n;
    }

    /// <summary>
    /// A prize call site (the prize ids and lists of a rule): which prizes it names and, for the work being scored, how many
    /// distinct named prizes match each <see cref="PrizeMatch"/>, without and under the last claimant's contract.
    /// </summary>
    private PrizeSite PrizeSiteOf(string prizes, string lists) =>
        _prizeSites.Get(CurrentExpression, prizes, lists) ?? _prizeSites.Add(CurrentExpression, prizes, lists, new PrizeSite(_lists.IdSet("prizes", prizes, lists)));

    private sealed class PrizeSite(bool[] named)
    {
        /// <summary>Per prize (list position): whether the site names it.</summary>
        public readonly bool[] Named = named;

        public int[] All = new int[8], UnderContract = new int[8];
        public RoleInput? AllOf, UnderContractOf;
        public int AllGeneration = -1, UnderContractGeneration = -1;

        public int[] Counts(ListResolution r, int[] masks, RoleInput? claimant, ref int[] counts, ref RoleInput? of, ref int generation)
        {
            if (generation == r.Generation && ReferenceEquals(of, claimant)) return counts;
            (generation, of) = (r.Generation, claimant);
            Array.Clear(counts);
            var n = r.For!.Prizes.Count;
            for (var i = 0; i < n; i++)
                // Only at a prize's first entry, whose mask holds what any of its entries matched.
                if (r.PrizeHead[i] == i && Named[r.PrizeIndex[i]])
                    for (var bits = masks[i]; bits != 0; bits &= bits - 1)
                        counts[System.Numerics.BitOperations.TrailingZeroCount(bits)]++;
            return counts;
        }
    }

    /// <summary>
    /// <see cref="Prizes"/> for an explanation: the same points, prize by prize, each prize that scored traced with its first
    /// matching entry's category and outcome. It reads the work's entries resolved to list positions and the call site's
    /// prizes, as the fast path does; an explanation's points are this reading's.
    /// </summary>
    private decimal PrizesTraced(decimal points, PrizeMatch match, string prizes, string lists, bool contractBeforeSelection)
    {
        var entries = Work.Prizes;
        if (entries.Count == 0) return 0m;
        var r = Resolved();
        var site = PrizeSiteOf(prizes, lists);
        var bit = 1 << (int)match;
        // Each prize once per row, at its first matching entry (its entries share their first entry's position).
        var counted = QualifyScratch(entries.Count);
        decimal total = 0m;
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            var h = r.PrizeHead[i];
            if (h < 0 || counted[h] || !site.Named[r.PrizeIndex[i]] || (ListResolution.Bits(e) & bit) == 0 ||
                contractBeforeSelection && !ContractBefore(e.SelectionDate)) continue;
            counted[h] = true;
            total += points;
            _trace?.Add(_traceTexts.Get(_traceCell, r.PrizeIndex[i], (int)e.Category * 256 + (int)e.Outcome, points, 0m,
                static (p, detail, points, _, ids) => $"{ids[p]} ({(PrizeCategory)(detail / 256)}, {(PrizeOutcome)(detail % 256)}): {points.ToString(CultureInfo.InvariantCulture)}",
                _lists.Prizes.Ids));
        }
        return total;
    }

    /// <summary>Market rows (Tabella 8): <paramref name="points"/> once if the work took part in any listed market: markets never add up.</summary>
    protected decimal Markets(decimal points,
        [ListReference("markets", ListField.Category)] string lists = "*",
        bool contractBeforeSelection = false)
    {
        var markets = Work.Markets;
        if (markets.Count == 0) return 0m;
        var r = Resolved();
        var site = _marketSites.Get(CurrentExpression, "*", lists) ?? _marketSites.Add(CurrentExpression, "*", lists, new MarketSite(_lists.IdSet("markets", "*", lists)));
        for (var i = 0; i < markets.Count; i++)
            if (r.MarketIndex[i] is var m && m >= 0 && site.Listed[m] && (!contractBeforeSelection || ContractBefore(markets[i].SelectionDate)))
            {
                // The first listed market is the row's (an explanation names it).
                _trace?.Add(_traceTexts.Get(_traceCell, m, 0, points, 0m,
                    static (m, _, points, _, ids) => $"{ids[m]}: {points.ToString(CultureInfo.InvariantCulture)} (mercati non cumulabili)", _lists.Markets.Ids));
                return points;
            }
        return 0m;
    }

    /// <summary>A market call site (the lists of a rule): which markets it names.</summary>
    private sealed class MarketSite(bool[] listed)
    {
        public readonly bool[] Listed = listed;
    }

    /// <summary>The claimant's contract was signed strictly before the selection date (both known).</summary>
    protected bool ContractBefore(DateOnly? selection) =>
        Claimant.ContractSignedOn is { } c && selection is { } s && c < s;
}
