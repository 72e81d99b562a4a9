using System.Globalization;
using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Engine.Scoring;

/// <summary>
/// What a rule expression can see. Each rule set is compiled into one class deriving from this one:
/// rule expressions read <see cref="Work"/> and <see cref="Claimant"/> and call the helpers below, and
/// nothing else (the sandbox refuses any other API at load time). The helpers are the decree's
/// recurring shapes: proportional points, marginal tiers, slots, festival/prize/market look-ups.
/// This file holds its state (the work, the claimants, an overlay's dated view, the explanation's trace); the helpers live
/// in RuleScope.Numbers.cs (numbers, dates, windows), RuleScope.Lists.cs (Tabelle 6-8), RuleScope.ListResolution.cs (a
/// work's list entries resolved once per scoring, and the memos of each call site) and RuleScope.Explanations.cs (Fmt).
/// </summary>
public abstract partial class RuleScope
{
    private readonly RoleInput[] _claimants = new RoleInput[5];
    private ListCatalog _lists = null!;
    private List<string>? _trace;

    /// <summary>The work being scored.</summary>
    public Work Work
    {
        get => _work;
        private set
        {
            _work = value;
            _epoch++; // what the list helpers remembered was of the work before
        }
    }

    private Work _work = null!;

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
        _datedWork = null;
        if (_views != 0)
        {
            // The claimant views of the last scoring: what they were made of is forgotten (and their lists emptied).
            for (var slot = 0; slot < _viewOf.Length; slot++)
            {
                _viewOf[slot] = default;
                _viewForeign[slot].Clear();
                _viewHome[slot].Clear();
            }
            _views = 0;
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
    /// An overlay's window (generated code, for rows whose figures the overlay patches): the row's points are its expression
    /// on the work and the claimant with only their results dated outside from..to, plus its expression with the overlay's
    /// figures on those dated inside; each dated entry counts once, in its own part. The generated method calls this with
    /// <paramref name="inside"/> false, evaluates the outside part, calls it again with true, evaluates the inside part, then
    /// calls <see cref="LeaveWindow"/>. The claimant's parts are views of the scope's own, refilled (no copy per work); the
    /// work's parts are copies, made only for a row whose expression reads the work (<paramref name="readsWork"/>), once per
    /// scoring and window. Should an expression throw in between, the scoring ends (and the next one binds its own work
    /// and claimants).
    /// </summary>
    protected void EnterWindow(DateOnly from, DateOnly to, bool inside, bool readsWork)
    {
        if (!inside) (_unwindowedWork, _unwindowedClaimant) = (Work, Claimant);
        var (work, claimant) = (_unwindowedWork, _unwindowedClaimant);
        if (readsWork)
        {
            var w = DatedWork(work, from, to);
            Work = inside ? w.Inside : w.Outside;
        }
        Claimant = ClaimantView(claimant, from, to, inside);
    }

    /// <summary>Ends an overlay's window (<see cref="EnterWindow"/>): the work and the claimant as they were.</summary>
    protected void LeaveWindow() => (Work, Claimant) = (_unwindowedWork, _unwindowedClaimant);

    private Work _unwindowedWork = null!;
    private RoleInput _unwindowedClaimant = null!;

    private (Work Of, DateOnly From, DateOnly To, Work Outside, Work Inside)? _datedWork;

    private (Work Outside, Work Inside) DatedWork(Work work, DateOnly from, DateOnly to)
    {
        if (_datedWork is { } d && ReferenceEquals(d.Of, work) && d.From == from && d.To == to) return (d.Outside, d.Inside);
        var parts = (work.Dated(x => x < from || x > to), work.Dated(x => x >= from && x <= to));
        _datedWork = (work, from, to, parts.Item1, parts.Item2);
        return parts;
    }

    // Per role, two views (outside, inside the window) of the claimant's results, with what each was last made of; valid
    // until the next Bind (_views: the slots made since).
    private readonly RoleInput[] _claimantViews = [.. Enumerable.Range(0, 10).Select(s => new RoleInput((Role)(s / 2)))];
    private readonly (RoleInput? Of, DateOnly From, DateOnly To)[] _viewOf = new (RoleInput?, DateOnly, DateOnly)[10];
    private readonly List<ForeignSale>[] _viewForeign = [.. Enumerable.Range(0, 10).Select(_ => new List<ForeignSale>())];
    private readonly List<DatedAmount>[] _viewHome = [.. Enumerable.Range(0, 10).Select(_ => new List<DatedAmount>())];
    private int _views;

    private RoleInput ClaimantView(RoleInput claimant, DateOnly from, DateOnly to, bool inside)
    {
        var slot = (int)claimant.Role * 2 + (inside ? 1 : 0);
        var view = _claimantViews[slot];
        if ((_views & (1 << slot)) != 0 && _viewOf[slot] is var (of, f, t) && ReferenceEquals(of, claimant) && f == from && t == to) return view;
        view.ViewDated(claimant, from, to, inside, _viewForeign[slot], _viewHome[slot]);
        _viewOf[slot] = (claimant, from, to);
        _views |= 1 << slot;
        return view;
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
        _epoch++; // a traced cell takes the list helpers' traced reading, not what they remembered
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
