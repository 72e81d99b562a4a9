using System.Globalization;
using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Engine.Scoring;

/// <summary>
/// What a rule expression can see. Each rule set is compiled into one class deriving from this one:
/// rule expressions read <see cref="Work"/> and <see cref="Claimant"/> and call the helpers below, and
/// nothing else (the sandbox refuses any other API at load time). The helpers are the decree's
/// recurring shapes: proportional points, marginal tiers, slots, festival/prize/market look-ups.
/// </summary>
public abstract class RuleScope
{
    private readonly RoleInput[] _claimants = new RoleInput[5];
    private ListCatalog _lists = null!;
    private List<string>? _trace;

    /// <summary>The work being scored.</summary>
    public Work Work { get; private set; } = null!;

    /// <summary>The role whose column is being evaluated, with that role's own facts.</summary>
    public RoleInput Claimant { get; private set; } = null!;

    /// <summary>Status of a cell after <see cref="Evaluate"/>; see <see cref="CellStatus"/>.</summary>
    public abstract void Evaluate(decimal[] points, byte[] status, decimal[] quotaSums, int roleMask);

    /// <summary>
    /// <see cref="Evaluate"/> for the totals path: only the quota sums, and the points of the cells other cells take as
    /// their base; no status, and no points of the other cells.
    /// </summary>
    public abstract void EvaluateTotals(decimal[] points, decimal[] quotaSums, int roleMask);

    /// <summary>The model values a cell's expressions read, for the explanation.</summary>
    public abstract void DescribeInputs(int cell, List<KeyValuePair<string, string>> inputs);

    /// <summary>The cell being evaluated.</summary>
    protected internal int CurrentCell;

    /// <summary>The rule expression being evaluated (its index in the rule set), for error reports.</summary>
    protected internal int CurrentExpression;

    /// <summary>The points and status of every cell, owned by this scope (sized by the compiled rule set).</summary>
    internal decimal[] Points = [];

    internal byte[] Status = [];

    /// <summary>Each role's points per quota (role * quotas + quota), added up by <see cref="Evaluate"/>.</summary>
    internal decimal[] QuotaSums = [];

    private static readonly RoleInput[] NoFacts = [.. Enumerable.Range(0, 5).Select(r => new RoleInput((Role)r))];

    internal void Bind(Work work, IReadOnlyList<RoleInput> roles, ListCatalog lists)
    {
        Work = work;
        if (!ReferenceEquals(_lists, lists))
        {
            _festivalSites.Clear();
            _prizeSites.Clear();
            _marketSites.Clear();
            _traceTexts.Clear();
        }
        _lists = lists;
        _resolution.For = null;
        if (_datedWork is not null)
        {
            _datedWork = null;
            Array.Clear(_datedClaimants);
        }
        // Only the slots the last scoring set go back to "no facts" (the others still hold them).
        for (var r = 0; _bound != 0; r++, _bound >>= 1)
            if ((_bound & 1) != 0) _claimants[r] = NoFacts[r];
        for (var k = 0; k < roles.Count; k++)
        {
            var role = (int)roles[k].Role;
            _claimants[role] = roles[k];
            _bound |= 1 << role;
        }
    }

    /// <summary>Ends a scoring (the scope, with the last work it read, is kept for the next one).</summary>
    internal void Release() => _trace = null;

    private int _bound; // the roles whose claimant slot the last Bind set

    protected void Use(int role) => Claimant = _claimants[role];

    /// <summary>
    /// An overlay's window (generated code, for rows whose figures the overlay patches): <paramref name="outside"/> on
    /// the work and the claimant with only their results dated outside from..to, plus <paramref name="inside"/> on those
    /// dated inside; each dated entry counts once, in its own part.
    /// </summary>
    protected decimal Windowed(DateOnly from, DateOnly to, Func<decimal> outside, Func<decimal> inside)
    {
        var (work, claimant) = (Work, Claimant);
        try
        {
            // The two parts of the work and of each claimant are made once per scoring and window, not per row.
            var w = DatedWork(work, from, to);
            var c = DatedClaimant(claimant, from, to);
            (Work, Claimant) = (w.Outside, c.Outside);
            var points = outside();
            (Work, Claimant) = (w.Inside, c.Inside);
            return points + inside();
        }
        finally
        {
            (Work, Claimant) = (work, claimant);
        }
    }

    private (Work Of, DateOnly From, DateOnly To, Work Outside, Work Inside)? _datedWork;
    private readonly (RoleInput Of, DateOnly From, DateOnly To, RoleInput Outside, RoleInput Inside)?[] _datedClaimants = new (RoleInput, DateOnly, DateOnly, RoleInput, RoleInput)?[5];

    private (Work Outside, Work Inside) DatedWork(Work work, DateOnly from, DateOnly to)
    {
        if (_datedWork is { } d && ReferenceEquals(d.Of, work) && d.From == from && d.To == to) return (d.Outside, d.Inside);
        var parts = (work.Dated(x => x < from || x > to), work.Dated(x => x >= from && x <= to));
        _datedWork = (work, from, to, parts.Item1, parts.Item2);
        return parts;
    }

    private (RoleInput Outside, RoleInput Inside) DatedClaimant(RoleInput claimant, DateOnly from, DateOnly to)
    {
        var slot = (int)claimant.Role;
        if (_datedClaimants[slot] is { } d && ReferenceEquals(d.Of, claimant) && d.From == from && d.To == to) return (d.Outside, d.Inside);
        var parts = (claimant.Dated(x => x < from || x > to), claimant.Dated(x => x >= from && x <= to));
        _datedClaimants[slot] = (claimant, from, to, parts.Item1, parts.Item2);
        return parts;
    }

    /// <summary>
    /// Whether <see cref="Evaluate"/> records what the list rows matched (for an explanation): each such cell's matches, in
    /// <see cref="Matches"/> from <see cref="MatchStart"/>, <see cref="MatchCount"/> of them.
    /// </summary>
    internal bool Tracing;

    internal readonly List<string> Matches = new(16);
    internal int[] MatchStart = [], MatchCount = [];

    /// <summary>
    /// Generated code, around the points of a cell that calls a list helper: while tracing, the helpers take their traced
    /// reading (the same points, added up match by match) and name each match.
    /// </summary>
    protected void TraceCell(int cell)
    {
        if (!Tracing) return;
        _trace = Matches;
        _traceCell = cell;
        MatchStart[cell] = Matches.Count;
    }

    protected void TraceDone(int cell)
    {
        if (!Tracing) return;
        _trace = null;
        MatchCount[cell] = Matches.Count - MatchStart[cell];
    }

    /// <summary>An explanation's buffers, reused line after line of a scoring (each line keeps an exact copy).</summary>
    internal readonly List<KeyValuePair<string, string>> InputsScratch = new(16);
    internal readonly List<(int Quota, ScoreLine Line)> LinesScratch = new(16);

    // ---------------------------------------------------------------- numbers

    /// <summary>
    /// Whether a value is not zero (generated code: only a cell's non-zero points are added into its quota). decimal.Sign
    /// tests the magnitude's bits and is inlined, where != 0m is a call that compares two decimals.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    protected internal static bool NonZero(decimal value) => decimal.Sign(value) != 0;

    /// <summary>"1 punto ogni EUR X": amount / X, proportional, not floored (reading guide 4). Null or negative: 0.</summary>
    protected static decimal Per(decimal? amount, decimal unit) => amount is { } a && a > 0 ? a / unit : 0m;

    /// <summary>
    /// Marginal tiers with a ceiling: each (upTo, per) band scores its slice of the amount at 1 point
    /// per 'per' euro; the amount above the last 'upTo' is ignored (Tabella 1 A.1).
    /// </summary>
    protected static decimal Tiers(decimal? amount, params ReadOnlySpan<(decimal UpTo, decimal Per)> tiers)
    {
        if (amount is not { } a || a <= 0) return 0m;
        decimal points = 0m, floor = 0m;
        foreach (var (upTo, per) in tiers)
        {
            if (a <= floor) break;
            points += (Math.Min(a, upTo) - floor) / per;
            floor = upTo;
        }
        return points;
    }

    /// <summary><see cref="Tiers(decimal?, ReadOnlySpan{ValueTuple{decimal, decimal}})"/> over a scale the rule file defines (<c>Tiers(producer_box_office, producer_scale)</c>).</summary>
    protected static decimal Tiers(decimal? amount, Scale scale) => Tiers(amount, scale.Bands);

    /// <summary><see cref="TiersOf(IReadOnlyList{DatedAmount}, Func{DatedAmount, bool}, ReadOnlySpan{ValueTuple{decimal, decimal}})"/> over a scale the rule file defines.</summary>
    protected static decimal TiersOf(IReadOnlyList<DatedAmount> entries, Func<DatedAmount, bool> select, Scale scale) =>
        TiersOf(entries, select, scale.Bands);

    /// <summary>
    /// The points that a selection of dated entries earns in marginal tiers that all the entries fill together, in date
    /// order (reading guide 7: box-office entries fill the tiers in date order; the Covid-19 +100% is on the points of
    /// the entries inside the window). Entries of zero or less fill nothing.
    /// </summary>
    protected static decimal TiersOf(IReadOnlyList<DatedAmount> entries, Func<DatedAmount, bool> select,
        params ReadOnlySpan<(decimal UpTo, decimal Per)> tiers)
    {
        decimal filled = 0m, points = 0m;
        foreach (var e in entries.Where(e => e.Amount > 0).OrderBy(e => e.Date))
        {
            var before = Tiers(filled, tiers);
            filled += e.Amount;
            if (select(e)) points += Tiers(filled, tiers) - before;
        }
        return points;
    }

    /// <summary>The window of dates of the overlay that wrote the rule being evaluated (set by the generated code).</summary>
    protected (DateOnly From, DateOnly To)? CurrentWindow;

    /// <summary>True when the date is given and inside the window of the overlay that wrote the rule (e.g. Covid-19's).</summary>
    protected bool InWindow(DateOnly? date) => date is { } d && CurrentWindow is { } w && d >= w.From && d <= w.To;

    /// <summary>
    /// True when the date is given and falls in the yearly period from..to ("MM-dd", both inclusive), in
    /// whatever year: <c>Within(Work.FirstReleaseDate, "06-01", "08-31")</c> is a summer release.
    /// </summary>
    protected static bool Within(DateOnly? date, [MonthDay] string from, [MonthDay] string to)
    {
        if (date is not { } d) return false;
        var md = d.Month * 100 + d.Day;
        return md >= MonthDayAttribute.Parse(from) && md <= MonthDayAttribute.Parse(to);
    }

    /// <summary>
    /// <see cref="Within(DateOnly?, string, string)"/> with the period's days as figures of unit month-day (601 for "06-01"):
    /// <c>Within(Work.FirstReleaseDate, summer_from, summer_to)</c>, the window an official edits in the row's figures.
    /// </summary>
    protected static bool Within(DateOnly? date, decimal from, decimal to) =>
        date is { } d && d.Month * 100 + d.Day is var md && md >= from && md <= to;

    /// <summary>True when the value is given and lo &lt;= value &lt;= hi.</summary>
    protected static bool Between(decimal? value, decimal lo, decimal hi) => value is { } v && v >= lo && v <= hi;

    /// <summary>
    /// Points of the time slot a start time falls in. Slots are given by their start time ("07:00");
    /// a slot runs to the next one's start, the last wraps past midnight to the first; start inclusive.
    /// No time given: 0.
    /// </summary>
    protected static decimal Slot(TimeOnly? time, [TimeOfDay] params ReadOnlySpan<(string From, decimal Points)> slots)
    {
        if (time is not { } t || slots.Length == 0) return 0m;
        var result = slots[^1].Points; // before the first start: still in the last slot (wraps midnight)
        foreach (var (from, points) in slots)
            if (t >= TimeOnly.ParseExact(from, "HH:mm", CultureInfo.InvariantCulture)) result = points;
        return result;
    }

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
        var sums = contractBeforeSelection
            ? site.Sums(this, r, band, lists, r.FestivalMasksUnderContract(this), Claimant, ref site.UnderContract, ref site.UnderContractOf, ref site.UnderContractGeneration)
            : site.Sums(this, r, band, lists, r.FestivalMasks, null, ref site.All, ref site.AllOf, ref site.AllGeneration);
        var sum = sums[(int)match];
        return NonZero(sum) ? points * sum : 0m;
    }

    /// <summary>
    /// A festival call site (bands and lists of a rule): the multipliers of its festivals and, for the work being scored,
    /// the sums of those multipliers per <see cref="FestivalMatch"/>, without and under the last claimant's contract.
    /// </summary>
    private FestivalSite FestivalSiteOf(string band, string lists) =>
        _festivalSites.Get(band, lists) ?? _festivalSites.Add(band, lists, new FestivalSite(_lists.FestivalMultipliers(band, lists)));

    private sealed class FestivalSite(decimal[] multipliers)
    {
        /// <summary>Per festival (list position): what it multiplies the row's points by, 0 when not in the site's lists.</summary>
        public readonly decimal[] Multipliers = multipliers;

        public decimal[] All = new decimal[8], UnderContract = new decimal[8];
        public RoleInput? AllOf, UnderContractOf;
        public int AllGeneration = -1, UnderContractGeneration = -1;

        public decimal[] Sums(RuleScope scope, ListResolution r, string band, string lists, int[] masks, RoleInput? claimant,
            ref decimal[] sums, ref RoleInput? of, ref int generation)
        {
            if (generation == r.Generation && ReferenceEquals(of, claimant)) return sums;
            (generation, of) = (r.Generation, claimant);
            Array.Clear(sums);
            var entries = scope.Work.Festivals;
            for (var i = 0; i < entries.Count; i++)
            {
                // Only at a festival's first entry, whose mask holds what any of its entries matched.
                if (r.FestivalHead[i] != i || masks[i] == 0) continue;
                if (!Multiplier(scope, band, lists, r.FestivalIndex[i], out var multiplier)) continue;
                for (var bits = masks[i]; bits != 0; bits &= bits - 1)
                    sums[System.Numerics.BitOperations.TrailingZeroCount(bits)] += multiplier;
            }
            return sums;
        }

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
            : site.Counts(r, r.PrizeMasks, null, ref site.All, ref site.AllOf, ref site.AllGeneration);
        var n = counts[(int)match];
        return n == 0 ? 0m : n == 1 ? points : points * n;
    }

    /// <summary>
    /// A prize call site (the prize ids and lists of a rule): which prizes it names and, for the work being scored, how many
    /// distinct named prizes match each <see cref="PrizeMatch"/>, without and under the last claimant's contract.
    /// </summary>
    private PrizeSite PrizeSiteOf(string prizes, string lists) =>
        _prizeSites.Get(prizes, lists) ?? _prizeSites.Add(prizes, lists, new PrizeSite(_lists.IdSet("prizes", prizes, lists)));

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
        var site = _marketSites.Get("*", lists) ?? _marketSites.Add("*", lists, new MarketSite(_lists.IdSet("markets", "*", lists)));
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

    // ---------------------------------------------------------------- a work's list entries, resolved once

    private readonly CallSites<FestivalSite> _festivalSites = new();
    private readonly CallSites<PrizeSite> _prizeSites = new();
    private readonly CallSites<MarketSite> _marketSites = new();
    private readonly ListResolution _resolution = new();

    /// <summary>The work's festival, prize and market entries looked up in the lists once per scoring (not per row).</summary>
    private ListResolution Resolved()
    {
        if (!ReferenceEquals(_resolution.For, Work)) _resolution.Resolve(Work, _lists);
        return _resolution;
    }

    /// <summary>
    /// A helper's list arguments are constant strings of the rule (the sandbox refuses anything else): what they select is
    /// built once by the catalog and kept here by the strings' references, a few comparisons per call.
    /// </summary>
    private sealed class CallSites<T> where T : class
    {
        private string[] _a = new string[8];
        private string[] _b = new string[8];
        private T[] _v = new T[8];
        private int _n;

        public T? Get(string a, string b)
        {
            for (var i = 0; i < _n; i++)
                if (ReferenceEquals(_a[i], a) && ReferenceEquals(_b[i], b)) return _v[i];
            return null;
        }

        public T Add(string a, string b, T v)
        {
            if (_n == _a.Length)
            {
                Array.Resize(ref _a, _n * 2);
                Array.Resize(ref _b, _n * 2);
                Array.Resize(ref _v, _n * 2);
            }
            (_a[_n], _b[_n], _v[_n]) = (a, b, v);
            _n++;
            return v;
        }

        public void Clear() => _n = 0;
    }

    /// <summary>
    /// One work's entries against the lists: each entry's index in its list (-1: not listed), the first entry of each
    /// festival or prize (a festival or prize counts once per row), and, on that first entry, the bits of what any of
    /// its entries matches (<see cref="FestivalMatch"/>, <see cref="PrizeMatch"/>), also under a claimant's contract.
    /// The buffers grow to the longest work seen and are reused: no allocation per work.
    /// </summary>
    private sealed class ListResolution
    {
        public Work? For;
        public int[] FestivalIndex = [], FestivalHead = [], FestivalMasks = [], PrizeIndex = [], PrizeHead = [], PrizeMasks = [], MarketIndex = [];
        private int[] _festivalContract = [], _prizeContract = [];
        private RoleInput? _festivalContractFor, _prizeContractFor;
        private int[] _stamp = [], _first = [];
        private int _generation;

        /// <summary>Which resolution this is (one more at each): what per-work sums built on it are valid for.</summary>
        public int Generation;

        public void Resolve(Work work, ListCatalog lists)
        {
            For = work;
            Generation++;
            _festivalContractFor = _prizeContractFor = null;
            // Each kind through its own struct accessor: the JIT specializes the loops, no delegate per entry.
            ResolveKind<FestivalEntry, FestivalKind>(work.Festivals, lists.Festivals, ref FestivalIndex, ref FestivalHead, ref FestivalMasks);
            ResolveKind<PrizeEntry, PrizeKind>(work.Prizes, lists.Prizes, ref PrizeIndex, ref PrizeHead, ref PrizeMasks);
            var ms = work.Markets;
            Grow(ref MarketIndex, ms.Count);
            for (var i = 0; i < ms.Count; i++) MarketIndex[i] = lists.Markets.IndexOf(ms[i].MarketId);
        }

        private interface IKind<T>
        {
            static abstract string Id(T entry);
            static abstract int Bits(T entry);
        }

        private struct FestivalKind : IKind<FestivalEntry>
        {
            public static string Id(FestivalEntry entry) => entry.FestivalId;
            public static int Bits(FestivalEntry entry) => ListResolution.Bits(entry);
        }

        private struct PrizeKind : IKind<PrizeEntry>
        {
            public static string Id(PrizeEntry entry) => entry.PrizeId;
            public static int Bits(PrizeEntry entry) => ListResolution.Bits(entry);
        }

        /// <summary>One kind's entries: their list indexes, first entries and masks.</summary>
        private void ResolveKind<T, TKind>(IReadOnlyList<T> entries, ListCatalog.DenseList list, ref int[] index, ref int[] head, ref int[] masks)
            where TKind : struct, IKind<T>
        {
            var count = entries.Count;
            Grow(ref index, count);
            Grow(ref head, count);
            Grow(ref masks, count);
            for (var i = 0; i < count; i++) index[i] = list.IndexOf(TKind.Id(entries[i]));
            Heads(count, list.Count, index, head, masks);
            for (var i = 0; i < count; i++)
                if (head[i] >= 0) masks[head[i]] |= TKind.Bits(entries[i]);
        }

        /// <summary>The festival masks counting only the entries selected after the claimant's contract.</summary>
        public int[] FestivalMasksUnderContract(RuleScope scope) =>
            UnderContract(scope, For!.Festivals, FestivalHead, ref _festivalContract, ref _festivalContractFor, static e => e.SelectionDate, Bits);

        public int[] PrizeMasksUnderContract(RuleScope scope) =>
            UnderContract(scope, For!.Prizes, PrizeHead, ref _prizeContract, ref _prizeContractFor, static e => e.SelectionDate, Bits);

        /// <summary>The masks on the first entries, of the entries selected after the claimant's contract; once per claimant.</summary>
        private static int[] UnderContract<T>(RuleScope scope, IReadOnlyList<T> entries, int[] head, ref int[] masks, ref RoleInput? of,
            Func<T, DateOnly?> selection, Func<T, int> bits)
        {
            if (ReferenceEquals(of, scope.Claimant)) return masks;
            of = scope.Claimant;
            Grow(ref masks, entries.Count);
            for (var i = 0; i < entries.Count; i++) masks[i] = 0;
            for (var i = 0; i < entries.Count; i++)
                if (head[i] >= 0 && scope.ContractBefore(selection(entries[i]))) masks[head[i]] |= bits(entries[i]);
            return masks;
        }

        /// <summary>For each entry, the position of the first entry with the same list index (-1: not listed), and its mask cleared. Linear.</summary>
        private void Heads(int count, int listCount, int[] index, int[] head, int[] masks)
        {
            if (_stamp.Length < listCount)
            {
                _stamp = new int[listCount];
                _first = new int[listCount];
            }
            // _stamp[f] == _generation: festival (or prize) f was met in this pass, first at _first[f].
            if (++_generation == int.MaxValue)
            {
                Array.Clear(_stamp);
                _generation = 1;
            }
            for (var i = 0; i < count; i++)
            {
                var f = index[i];
                masks[i] = 0;
                if (f < 0) { head[i] = -1; continue; }
                if (_stamp[f] != _generation) { _stamp[f] = _generation; _first[f] = i; }
                head[i] = _first[f];
            }
        }

        private static void Grow(ref int[] buffer, int count)
        {
            if (buffer.Length < count) buffer = new int[Math.Max(count, buffer.Length * 2)];
        }

        internal static int Bits(FestivalEntry e)
        {
            var bits = 1 << (int)FestivalMatch.Participation;
            var competition = e.Section == FestivalSection.Competition;
            var outOfCompetition = e.Section == FestivalSection.OfficialOutOfCompetition;
            if (competition) bits |= 1 << (int)FestivalMatch.Competition;
            if (outOfCompetition) bits |= 1 << (int)FestivalMatch.OutOfCompetition;
            if (e.AnyPrize)
            {
                bits |= 1 << (int)FestivalMatch.AnyPrize;
                if (competition) bits |= 1 << (int)FestivalMatch.CompetitionPrize;
                if (outOfCompetition) bits |= 1 << (int)FestivalMatch.OutOfCompetitionPrize;
            }
            if (e.BestFilmPrize) bits |= 1 << (int)FestivalMatch.BestFilmPrize;
            if (e.OtherPrizes > 0) bits |= 1 << (int)FestivalMatch.OtherPrize;
            return bits;
        }

        internal static int Bits(PrizeEntry e)
        {
            var bits = 1 << (int)PrizeMatch.Any;
            var win = e.Outcome == PrizeOutcome.Win;
            if (e.Category == PrizeCategory.BestFilm)
            {
                bits |= 1 << (int)PrizeMatch.BestFilmNomination;
                if (win) bits |= 1 << (int)PrizeMatch.BestFilmWin;
            }
            else if (e.Category == PrizeCategory.Artistic)
            {
                bits |= 1 << (int)PrizeMatch.ArtisticNomination;
                if (win) bits |= 1 << (int)PrizeMatch.ArtisticWin;
            }
            return bits;
        }
    }

    // ---------------------------------------------------------------- explanations

    private const string NotGiven = "(non indicato)";

    // The model's value types formatted without boxing (Fmt(object) hands them here): an explanation formats every value
    // its rows read.
    protected static string Fmt(decimal? value) => value is { } d ? FormatMemo.Current.Decimal(d) : NotGiven;
    protected static string Fmt(int? value) => value is { } i ? i.ToString(CultureInfo.InvariantCulture) : NotGiven;
    protected static string Fmt(long? value) => value is { } i ? i.ToString(CultureInfo.InvariantCulture) : NotGiven;
    protected static string Fmt(bool? value) => value is { } b ? b ? "sì" : "no" : NotGiven;
    protected static string Fmt(DateOnly? value) => value is { } d ? FormatMemo.Current.Date(d) : NotGiven;
    protected static string Fmt(TimeOnly? value) => value is { } t ? t.ToString("HH:mm", CultureInfo.InvariantCulture) : NotGiven;
    protected static string Fmt(string? value) => value ?? NotGiven;
    protected static string Fmt<T>(T value) where T : struct, Enum => EnumNames<T>.Of(value);
    protected static string Fmt<T>(T? value) where T : struct, Enum => value is { } e ? EnumNames<T>.Of(e) : NotGiven;

    /// <summary>
    /// The texts of the numbers and dates an explanation formats, kept per thread in a small table: a work's lines read
    /// the same values again and again (its box office in three rows, its release date in two), and the rows of the next work
    /// often the same figures. A decimal is matched with its scale (1.0 and 1 print differently).
    /// </summary>
    private sealed class FormatMemo
    {
        [ThreadStatic] private static FormatMemo? _current;
        public static FormatMemo Current => _current ??= new FormatMemo();

        private const int Slots = 32;
        private readonly decimal[] _decimals = new decimal[Slots];
        private readonly string?[] _decimalTexts = new string?[Slots];
        private readonly int[] _days = new int[Slots];
        private readonly string?[] _dayTexts = new string?[Slots];

        public string Decimal(decimal d)
        {
            var slot = (d.GetHashCode() ^ d.Scale) & (Slots - 1);
            if (_decimalTexts[slot] is { } text && _decimals[slot] == d && _decimals[slot].Scale == d.Scale) return text;
            text = d.ToString(CultureInfo.InvariantCulture);
            (_decimals[slot], _decimalTexts[slot]) = (d, text);
            return text;
        }

        public string Date(DateOnly d)
        {
            var slot = d.DayNumber & (Slots - 1);
            if (_dayTexts[slot] is { } text && _days[slot] == d.DayNumber) return text;
            text = d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            (_days[slot], _dayTexts[slot]) = (d.DayNumber, text);
            return text;
        }
    }

    /// <summary>
    /// An enum's member names, made once per enum type (Enum.ToString allocates at each call): by value for the model's small
    /// enums, in a dictionary for any other value.
    /// </summary>
    private static class EnumNames<T> where T : struct, Enum
    {
        private static readonly string[] ByValue = Small();
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<T, string> Others = new();

        private static string[] Small()
        {
            if (Enum.GetUnderlyingType(typeof(T)) != typeof(int)) return [];
            var values = Enum.GetValues<T>();
            var max = values.Length == 0 ? -1 : values.Max(v => System.Runtime.CompilerServices.Unsafe.As<T, int>(ref v));
            if (max is < 0 or > 63 || values.Any(v => System.Runtime.CompilerServices.Unsafe.As<T, int>(ref v) < 0)) return [];
            var names = new string[max + 1];
            for (var i = 0; i <= max; i++) names[i] = System.Runtime.CompilerServices.Unsafe.As<int, T>(ref i).ToString();
            return names;
        }

        public static string Of(T value)
        {
            if (System.Runtime.CompilerServices.Unsafe.SizeOf<T>() == 4 && System.Runtime.CompilerServices.Unsafe.As<T, int>(ref value) is var i &&
                (uint)i < (uint)ByValue.Length) return ByValue[i];
            return Others.GetOrAdd(value, static v => v.ToString());
        }
    }

    /// <summary>Formats a value read by a rule for the explanation.</summary>
    protected static string Fmt(object? value) => value switch
    {
        null => NotGiven,
        decimal d => Fmt(d),
        bool b => Fmt(b),
        DateOnly d => Fmt(d),
        TimeOnly t => Fmt(t),
        string s => s,
        System.Collections.IEnumerable e => "[" + string.Join("; ", e.Cast<object?>().Select(Fmt)) + "]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>What happened to a cell in one evaluation.</summary>
public static class CellStatus
{
    public const byte NotRequested = 0;
    public const byte Applied = 1;
    public const byte TableNotApplicable = 2;
    public const byte SectionConditionFalse = 3;
    public const byte RowConditionFalse = 4;
    public const byte CellConditionFalse = 5;
}
