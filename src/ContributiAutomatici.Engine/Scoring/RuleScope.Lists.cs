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
        // First, the call site this expression found last, when it is the same call and its sums are this work's: read at once.
        // The first row of a site in a scoring, and every other case, goes on to FestivalsOf.
        if (Remembered(_festivalMemo, band, lists, contractBeforeSelection) is { } s)
            return System.Runtime.CompilerServices.Unsafe.As<FestivalSums>(s).Times((int)match, points);
        return FestivalsOf(band, lists, match, points, contractBeforeSelection);
    }

    /// <summary>Per expression: the festival call site it found last (see <see cref="Festivals"/>).</summary>
    private ListSite?[] _festivalMemo = new ListSite?[64];

    /// <summary>
    /// Counts the changes of what the list helpers read: a work bound or replaced (a scoring, an overlay's window), a traced
    /// cell begun. Sums stamped in an earlier epoch are not read without their checks. 64 bits: it never wraps.
    /// </summary>
    private long _epoch;

    /// <summary>
    /// The sums of the call site expression <see cref="CurrentExpression"/> found last (<paramref name="memo"/>), when the call
    /// is the same (its two constant list arguments, by reference) and the sums were made or checked in this epoch for the
    /// work in scope (and, <paramref name="underContract"/>, for the claimant in scope); else null.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private SiteSums? Remembered(ListSite?[] memo, string a, string b, bool underContract)
    {
        var k = CurrentExpression;
        return (uint)k < (uint)memo.Length && memo[k] is { } site && ReferenceEquals(site.A, a) && ReferenceEquals(site.B, b) &&
               (underContract ? site.UnderContractSums : site.AllSums) is var s && s.Epoch == _epoch &&
               ReferenceEquals(s.Of, underContract ? Claimant : null)
            ? s
            : null;
    }

    /// <summary>Keeps <paramref name="site"/> as the site expression <see cref="CurrentExpression"/> calls, its sums as of this epoch.</summary>
    private void Remember(ref ListSite?[] memo, ListSite site, SiteSums sums)
    {
        sums.Epoch = _epoch;
        var expression = CurrentExpression;
        if (expression < 0) return;
        if (expression >= memo.Length) Array.Resize(ref memo, Math.Max(expression + 1, memo.Length * 2));
        memo[expression] = site;
    }

    /// <summary>A call site of a list helper: its two constant list arguments, and its sums for one work, without and under contract.</summary>
    private abstract class ListSite(string a, string b, SiteSums all, SiteSums underContract)
    {
        public readonly string A = a, B = b;
        public readonly SiteSums AllSums = all, UnderContractSums = underContract;
    }

    /// <summary>What a call site made of one work's entries: for which resolution and claimant (null: all), and when last checked.</summary>
    private abstract class SiteSums
    {
        /// <summary>The scope's epoch in which these sums were last made or checked for the work in scope.</summary>
        public long Epoch = -1;

        public int Generation = -1;
        public RoleInput? Of;
    }

    private decimal FestivalsOf(string band, string lists, FestivalMatch match, decimal points, bool contractBeforeSelection)
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
        Remember(ref _festivalMemo, site, sums);
        return sums.Times((int)match, points);
    }

    /// <summary>
    /// A festival call site (bands and lists of a rule): the multipliers of its festivals and, for the work being scored,
    /// the sums of those multipliers per <see cref="FestivalMatch"/>, without and under the last claimant's contract.
    /// </summary>
    private FestivalSite FestivalSiteOf(string band, string lists) =>
        _festivalSites.Get(CurrentExpression, band, lists) ?? _festivalSites.Add(CurrentExpression, band, lists, new FestivalSite(_lists, band, lists));

    private sealed class FestivalSite : ListSite
    {
        public FestivalSite(ListCatalog catalog, string band, string lists) : base(band, lists, new FestivalSums(), new FestivalSums())
        {
            Multipliers = catalog.FestivalMultipliers(band, lists);
            var dense = catalog.Festivals;
            Kind = new byte[Multipliers.Length];
            Candidates = new ListEntry[Multipliers.Length][];
            for (var f = 0; f < Kind.Length; f++)
            {
                var m = Multipliers[f];
                Kind[f] = dense.Conditional[f] ? Conditional : !NonZero(m) ? NotListed : m == 1m && m.Scale == 0 ? One : Other;
                // A festival whose band is decided per work: its entries in the site's bands and lists, judged per work.
                Candidates[f] = dense.Conditional[f] ? catalog.FestivalEntriesIn(band, lists, dense.Ids[f]) : [];
            }
        }

        /// <summary>Per festival (list position): what it multiplies the row's points by, 0 when not in the site's lists.</summary>
        public readonly decimal[] Multipliers;

        public const byte NotListed = 0, One = 1, Other = 2, Conditional = 3;

        /// <summary>
        /// Per festival: not in the site's lists; listed with a multiplier of exactly 1 (no increment, scale 0: counted, not added
        /// as a decimal); listed with another; or listed for some works only (its entries judged per work).
        /// </summary>
        public readonly byte[] Kind;

        /// <summary>Per festival listed for some works only: its entries in the site's bands and lists, in the list's order.</summary>
        private readonly ListEntry[][] Candidates;

        public FestivalSums All => System.Runtime.CompilerServices.Unsafe.As<FestivalSums>(AllSums);
        public FestivalSums UnderContract => System.Runtime.CompilerServices.Unsafe.As<FestivalSums>(UnderContractSums);

        /// <summary>
        /// What festival <paramref name="f"/> (list position) multiplies this site's points by for <paramref name="work"/>; false
        /// when it is not in the site's lists. A festival printed in two bands counts in the one its entries hold for this
        /// work (reading guide 7): its largest increment among its entries here that hold for the work.
        /// </summary>
        public bool Multiplier(Work work, int f, out decimal multiplier)
        {
            if (Kind[f] != Conditional)
            {
                multiplier = Multipliers[f];
                return Kind[f] != NotListed;
            }
            multiplier = 0m;
            var listed = false;
            var inc = 0m;
            foreach (var e in Candidates[f])
            {
                if (!e.HoldsFor(work)) continue;
                inc = listed ? Math.Max(inc, e.IncrementPercent) : e.IncrementPercent;
                listed = true;
            }
            if (!listed) return false;
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
    private sealed class FestivalSums : SiteSums
    {
        public readonly int[] Counts = new int[8];
        public readonly decimal[] Others = new decimal[8];
        public int OtherBits;

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
                var kind = site.Kind[f];
                if (kind == FestivalSite.NotListed) continue;
                if (kind == FestivalSite.One)
                {
                    for (var bits = masks[i]; bits != 0; bits &= bits - 1) Counts[System.Numerics.BitOperations.TrailingZeroCount(bits)]++;
                    continue;
                }
                if (!site.Multiplier(scope.Work, f, out var multiplier)) continue;
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
            if (!site.Multiplier(Work, f, out var multiplier)) continue;
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
        // First, as in Festivals, the site this expression found last, its counts already made for this work: read at once.
        if (Remembered(_prizeMemo, prizes, lists, contractBeforeSelection) is { } c)
            return System.Runtime.CompilerServices.Unsafe.As<PrizeCounts>(c).Times((int)match, points);
        return PrizesOf(points, match, prizes, lists, contractBeforeSelection);
    }

    /// <summary>Per expression: the prize call site it found last (see <see cref="Prizes"/>).</summary>
    private ListSite?[] _prizeMemo = new ListSite?[64];

    private decimal PrizesOf(decimal points, PrizeMatch match, string prizes, string lists, bool contractBeforeSelection)
    {
        if (_trace is not null) return PrizesTraced(points, match, prizes, lists, contractBeforeSelection);
        var entries = Work.Prizes;
        if (entries.Count == 0) return 0m;
        var r = Resolved();
        var site = PrizeSiteOf(prizes, lists);
        // Every row of a call site reads one pass over the work's prizes: per match, how many distinct named prizes match.
        var counts = contractBeforeSelection ? site.UnderContract.For(site, r, r.PrizeMasksUnderContract(this), Claimant)
            : site.All.Generation == r.Generation ? site.All
            : site.All.For(site, r, r.PrizeMasks, null);
        Remember(ref _prizeMemo, site, counts);
        return counts.Times((int)match, points);
    }

    /// <summary>
    /// A prize call site (the prize ids and lists of a rule): which prizes it names and, for the work being scored, how many
    /// distinct named prizes match each <see cref="PrizeMatch"/>, without and under the last claimant's contract.
    /// </summary>
    private PrizeSite PrizeSiteOf(string prizes, string lists) =>
        _prizeSites.Get(CurrentExpression, prizes, lists) ?? _prizeSites.Add(CurrentExpression, prizes, lists, new PrizeSite(_lists.IdSet("prizes", prizes, lists), prizes, lists));

    private sealed class PrizeSite(bool[] named, string prizes, string lists) : ListSite(prizes, lists, new PrizeCounts(), new PrizeCounts())
    {
        /// <summary>Per prize (list position): whether the site names it.</summary>
        public readonly bool[] Named = named;

        public PrizeCounts All => System.Runtime.CompilerServices.Unsafe.As<PrizeCounts>(AllSums);
        public PrizeCounts UnderContract => System.Runtime.CompilerServices.Unsafe.As<PrizeCounts>(UnderContractSums);
    }

    /// <summary>One work's counts of a prize call site's distinct named prizes per <see cref="PrizeMatch"/> (for one claimant under contract, or all).</summary>
    private sealed class PrizeCounts : SiteSums
    {
        public readonly int[] Counts = new int[8];

        public PrizeCounts For(PrizeSite site, ListResolution r, int[] masks, RoleInput? claimant)
        {
            if (Generation == r.Generation && ReferenceEquals(Of, claimant)) return this;
            (Generation, Of) = (r.Generation, claimant);
            Array.Clear(Counts);
            var n = r.For!.Prizes.Count;
            for (var i = 0; i < n; i++)
                // Only at a prize's first entry, whose mask holds what any of its entries matched.
                if (r.PrizeHead[i] == i && site.Named[r.PrizeIndex[i]])
                    for (var bits = masks[i]; bits != 0; bits &= bits - 1)
                        Counts[System.Numerics.BitOperations.TrailingZeroCount(bits)]++;
            return this;
        }

        /// <summary>The row's points times how many distinct named prizes match.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public decimal Times(int match, decimal points)
        {
            var n = Counts[match];
            return n == 0 ? 0m : n == 1 ? points : points * n;
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
