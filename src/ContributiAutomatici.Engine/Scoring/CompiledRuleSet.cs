using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Engine.Scoring;

/// <summary>What to compute beyond the points.</summary>
public sealed record ScoreOptions
{
    /// <summary>Lines with the inputs each rule read (default). Off: totals per quota only, the fast path.</summary>
    public bool Explain { get; init; } = true;

    /// <summary>Also list the rows that did not apply, each with its reason.</summary>
    public bool IncludeNotApplied { get; init; }

    public static readonly ScoreOptions Default = new();
    public static readonly ScoreOptions TotalsOnly = new() { Explain = false };
}

/// <summary>
/// One row of a role's score: the row (its id, label, citation, quota and place in the rule files), its points, the inputs it
/// read and, for a row that did not apply, why. What belongs to the row is shared by every line of that row and role.
/// </summary>
public sealed record ScoreLine
{
    public ScoreLine(string RowId, string Label, string Citation, Role Role, string QuotaId, decimal Points,
        IReadOnlyList<KeyValuePair<string, string>> Inputs, string? Reason, SourceLocation Location)
        : this(new LineSource(RowId, Label, Citation, Role, QuotaId, Location), Points, Inputs, Reason)
    {
    }

    internal ScoreLine(LineSource source, decimal points, IReadOnlyList<KeyValuePair<string, string>> inputs, string? reason)
    {
        _source = source;
        Points = points;
        Inputs = inputs;
        Reason = reason;
    }

    private readonly LineSource _source;

    // As a positional record's: init accessors (a `with` copy) and Deconstruct.
    public string RowId { get => _source.RowId; init => _source = _source with { RowId = value }; }
    public string Label { get => _source.Label; init => _source = _source with { Label = value }; }
    public string Citation { get => _source.Citation; init => _source = _source with { Citation = value }; }
    public Role Role { get => _source.Role; init => _source = _source with { Role = value }; }
    public string QuotaId { get => _source.QuotaId; init => _source = _source with { QuotaId = value }; }
    public decimal Points { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Inputs { get; init; }
    public string? Reason { get; init; }
    public SourceLocation Location { get => _source.Location; init => _source = _source with { Location = value }; }

    public void Deconstruct(out string RowId, out string Label, out string Citation, out Role Role, out string QuotaId, out decimal Points,
        out IReadOnlyList<KeyValuePair<string, string>> Inputs, out string? Reason, out SourceLocation Location) =>
        (RowId, Label, Citation, Role, QuotaId, Points, Inputs, Reason, Location) =
        (this.RowId, this.Label, this.Citation, this.Role, this.QuotaId, this.Points, this.Inputs, this.Reason, this.Location);
}

/// <summary>What a cell's lines share: made once per cell of a compiled rule set.</summary>
internal sealed record LineSource(string RowId, string Label, string Citation, Role Role, string QuotaId, SourceLocation Location);

public sealed record QuotaScore(string QuotaId, decimal Points, IReadOnlyList<ScoreLine> Lines);

public sealed record RoleScore(Role Role, decimal TotalPoints, IReadOnlyList<QuotaScore> Quotas, IReadOnlyList<ScoreLine> NotApplied)
{
    /// <summary>Rows whose conditions held but whose figure is not known (provenance missing): the score is incomplete.</summary>
    public IReadOnlyList<string> MissingRows { get; init; } = [];

    /// <summary>Rows that scored with a provisional figure (borrowed from another decree's row).</summary>
    public IReadOnlyList<string> ProvisionalRows { get; init; } = [];
}

public sealed record ScoreResult(string RuleSetId, string ContentHash, string WorkId, IReadOnlyList<RoleScore> Roles)
{
    public RoleScore? For(Role role) => Roles.FirstOrDefault(r => r.Role == role);

    /// <summary>Some role's score needs a figure the rule set does not know.</summary>
    public bool Incomplete => Roles.Any(r => r.MissingRows.Count > 0);

    /// <summary>The version's id without its overlays, and the overlays applied (the rule set's id is "dm-2021+covid-19").</summary>
    public IReadOnlyList<string> Overlays { get; init; } = [];

    /// <summary>The results the decree keeps out of this scoring (art. 5.2, 5.10), each with its article; the others counted.</summary>
    public IReadOnlyList<Allocation.Exclusion> Excluded { get; init; } = [];
}

/// <summary>
/// The points of one scoring per role and quota, without lines: what <see cref="CompiledRuleSet.ScoreTotals"/> fills. A caller
/// scoring many works reuses one instance (not thread-safe: one per thread), so the totals path allocates nothing per work.
/// </summary>
public sealed class PointTotals
{
    private decimal[] _sums = [];
    private readonly decimal[] _totals = new decimal[5];
    private string[] _quotaIds = [];

    /// <summary>The rule set that filled these totals.</summary>
    public string RuleSetId { get; private set; } = "";

    /// <summary>The quotas of that rule set, in its manifest's order.</summary>
    public IReadOnlyList<string> QuotaIds => _quotaIds;

    /// <summary>A role's points (0 when it was not scored or earned nothing): the sum of its quotas.</summary>
    public decimal Total(Role role) => Scored(role) ? _totals[(int)role] : 0m;

    /// <summary>A role's points in one quota, by its index in <see cref="QuotaIds"/>.</summary>
    public decimal Quota(Role role, int quota) => Scored(role) ? _sums[(int)role * _quotaIds.Length + quota] : 0m;

    /// <summary>A role's points in one quota, by id (0 when the rule set has no such quota).</summary>
    public decimal Quota(Role role, string quotaId) => Array.IndexOf(_quotaIds, quotaId) is var q and >= 0 ? Quota(role, q) : 0m;

    private int _scored; // the roles of the last scoring (the others' rows are stale, read as 0)

    private bool Scored(Role role) => (_scored & (1 << (int)role)) != 0;

    // Per role, the rows flagged by the last scoring (as RoleScore's MissingRows and ProvisionalRows); reused, so a rule set
    // without such rows allocates nothing here.
    private readonly List<string>[] _missing = [[], [], [], [], []];
    private readonly List<string>[] _provisional = [[], [], [], [], []];

    /// <summary>A role's rows whose conditions held but whose figure is not known (as <see cref="RoleScore.MissingRows"/>).</summary>
    public IReadOnlyList<string> MissingRows(Role role) => _missing[(int)role];

    /// <summary>A role's rows that scored with a provisional figure (as <see cref="RoleScore.ProvisionalRows"/>).</summary>
    public IReadOnlyList<string> ProvisionalRows(Role role) => _provisional[(int)role];

    /// <summary>Some role of the last scoring needs a figure the rule set does not know (as <see cref="ScoreResult.Incomplete"/>).</summary>
    public bool Incomplete
    {
        get
        {
            foreach (var m in _missing)
                if (m.Count > 0) return true;
            return false;
        }
    }

    /// <summary>The results the last scoring kept out (art. 5.2, 5.10), as <see cref="ScoreResult.Excluded"/>; reused.</summary>
    public IReadOnlyList<Allocation.Exclusion> Excluded => ExcludedList;

    internal readonly List<Allocation.Exclusion> ExcludedList = [];

    internal List<string> Missing(Role role)
    {
        _handedOut |= 1 << (int)role;
        return _missing[(int)role];
    }

    internal List<string> Provisional(Role role)
    {
        _handedOut |= 1 << (int)role;
        return _provisional[(int)role];
    }

    // The roles whose lists of rows were handed out to be filled since the last Reset: only those are cleared (most scorings
    // flag nothing).
    private int _handedOut;

    internal void Reset(string ruleSetId, string[] quotaIds)
    {
        RuleSetId = ruleSetId;
        _scored = 0;
        for (var r = 0; _handedOut != 0; r++, _handedOut >>= 1)
            if ((_handedOut & 1) != 0)
            {
                _missing[r].Clear();
                _provisional[r].Clear();
            }
        if (ReferenceEquals(_quotaIds, quotaIds)) return;
        _quotaIds = quotaIds;
        if (_sums.Length < 5 * quotaIds.Length) _sums = new decimal[5 * quotaIds.Length];
    }

    /// <summary>A role's quota sums, set to <paramref name="sums"/> (one per quota).</summary>
    internal ReadOnlySpan<decimal> SetRow(Role role, ReadOnlySpan<decimal> sums)
    {
        _scored |= 1 << (int)role;
        var row = _sums.AsSpan((int)role * _quotaIds.Length, _quotaIds.Length);
        sums.CopyTo(row);
        return row;
    }

    internal void SetTotal(Role role, decimal total) => _totals[(int)role] = total;

    /// <summary>
    /// Whether these totals keep a scope of their own (<see cref="Scope"/>) instead of the rule set's one spare: each worker of an
    /// allocation scoring in parallel holds its own, so no two threads contend for (or make) one per call. Set by the engine's
    /// own callers only: a scope keeps its rule set alive.
    /// </summary>
    internal bool OwnScope { get; init; }

    /// <summary>The scope of <see cref="ScopeOf"/> these totals keep (<see cref="OwnScope"/>), between two scorings.</summary>
    internal RuleScope? Scope;
    internal CompiledRuleSet? ScopeOf;
}

/// <summary>
/// A rule evaluated to an error (it divided by zero, overflowed): an error of that row, naming the row, the role,
/// and its rule file and line (<see cref="Site"/>), and what went wrong (<see cref="Reason"/>).
/// </summary>
public sealed class RuleEvaluationException(string ruleSetId, string site, string reason, Exception inner)
    : Exception($"rule set {ruleSetId}, {site}: {reason}", inner)
{
    public string RuleSetId { get; } = ruleSetId;

    /// <summary>"row T1.A.1 (producer) points at dm-2021/tabella-1.yaml:57".</summary>
    public string Site { get; } = site;

    /// <summary>"division by zero", "arithmetic overflow", ...</summary>
    public string Reason { get; } = reason;

    internal static string ReasonOf(Exception ex) => ex switch
    {
        DivideByZeroException => "division by zero",
        OverflowException => "arithmetic overflow (a value beyond the range of decimal numbers)",
        InvalidOperationException => "no value: " + ex.Message,
        _ => ex.GetType().Name,
    };
}

/// <summary>A rule set compiled into its scoring class, ready to score works (thread-safe).</summary>
public sealed class CompiledRuleSet
{
    private readonly Func<RuleScope> _factory;
    private readonly int[] _dependencyMask = new int[5];
    private readonly int[] _cellQuota;
    private readonly CellInfo[] _cells;
    private readonly int[][] _indexesByRole; // per role, its cells' indexes: the scan reads the status bytes first
    private readonly int[][] _quotasByRole; // per role, the quotas its cells add into, in the manifest's order
    private readonly bool[] _traced;
    private readonly string?[] _baseRows;
    private readonly LineSource[] _lineSources; // per cell: what its lines share
    private readonly KeyValuePair<string, string>[][] _figureInputs; // per cell: its row's figures as explanation inputs
    private readonly string[] _quotaIds;
    private readonly bool _flagged;
    private readonly int _flaggedRoles; // the roles with a row not sourced: their totals need each cell's status (Flag)

    private readonly string[] _expressionSites;

    // The version's id, cut from the rule set's once ("dm-2021+covid-19@reform": "dm-2021"), not per work on the totals path.
    private readonly string _baseId;

    // Which dated results count (art. 5.2, 5.10): applied to every work and claimant scored, whoever the caller.
    private readonly Allocation.ResultAdmission _admission;

    internal CompiledRuleSet(RuleSetDefinition definition, ListCatalog lists, RulePlan plan, string[] expressionSites,
        Func<RuleScope> factory, CompileSource source, CompileTimings timings)
    {
        var cells = plan.Cells;
        Plan = plan;
        // Plain loops, not LINQ: this runs on every start, warm ones included, where each LINQ operator over a value type
        // (int, bool, Role, KeyValuePair) is a generic instantiation no ReadyToRun image holds, compiled by the JIT first.
        _expressionSites = expressionSites;
        Timings = timings;
        Definition = definition;
        _baseId = definition.BaseId;
        _admission = new Allocation.ResultAdmission(definition);
        Lists = lists;
        Cells = _cells = [.. cells];
        _factory = factory;
        Source = source;
        var n = _cells.Length;
        _quotaIds = new string[definition.Quotas.Count];
        for (var q = 0; q < _quotaIds.Length; q++) _quotaIds[q] = definition.Quotas[q].Id;
        var roles = new Role[5];
        var roleCount = 0;
        var perRole = new List<int>[5];
        for (var r = 0; r < perRole.Length; r++) perRole[r] = [];
        _cellQuota = new int[n];
        _traced = new bool[n];
        _figureInputs = new KeyValuePair<string, string>[n][];
        _lineSources = new LineSource[n];
        _baseRows = new string?[n];
        foreach (var c in _cells)
        {
            var i = c.Index;
            if (EnumSet<Role>.IndexOf(roles, roleCount, c.Role) < 0) roles[roleCount++] = c.Role;
            perRole[(int)c.Role].Add(i);
            if (c.Row.Provenance != Provenance.Sourced)
            {
                _flagged = true;
                _flaggedRoles |= 1 << (int)c.Role;
            }
            _cellQuota[i] = Array.IndexOf(_quotaIds, c.QuotaId);
            // Only cells calling a list helper have matches to list (recorded while they are evaluated).
            _traced[i] = CallsListHelper(c.Cell.Points);
            // A row's figures read the same in every explanation: formatted once.
            _figureInputs[i] = FigureInputs(c.Row);
            _lineSources[i] = new LineSource(c.Row.Id, c.Row.Label, c.Row.Citation, c.Role, c.QuotaId, c.Cell.Location);
            _baseRows[i] = BaseRows(c, _cells);
        }
        Roles = new EnumSet<Role>(roles, roleCount);
        _indexesByRole = new int[5][];
        for (var r = 0; r < perRole.Length; r++) _indexesByRole[r] = [.. perRole[r]];
        _quotasByRole = new int[5][];
        for (var r = 0; r < perRole.Length; r++)
        {
            var quotas = new List<int>();
            for (var q = 0; q < _quotaIds.Length; q++)
                foreach (var i in perRole[r])
                    if (_cellQuota[i] == q)
                    {
                        quotas.Add(q);
                        break;
                    }
            _quotasByRole[r] = [.. quotas];
        }
        // A role's cells may take as base another role's points (art. 9.5): score that role too.
        for (var r = 1; r <= 4; r++)
        {
            var mask = 1 << r;
            bool grew;
            do
            {
                grew = false;
                foreach (var c in cells)
                    if ((mask & (1 << (int)c.Role)) != 0)
                        foreach (var b in c.BaseCells)
                            if ((mask & (1 << (int)cells[b].Role)) == 0) { mask |= 1 << (int)cells[b].Role; grew = true; }
            } while (grew);
            _dependencyMask[r] = mask;
        }
    }

    /// <summary>A row's figures as explanation inputs ("eur_per_point" = "5000 EUR"), an overlay's inside its window named with it.</summary>
    private static KeyValuePair<string, string>[] FigureInputs(RowDefinition row)
    {
        var windowed = row.Windowed;
        var inputs = new KeyValuePair<string, string>[row.Figures.Count + (windowed?.Figures.Count ?? 0)];
        var k = 0;
        foreach (var f in row.Figures) inputs[k++] = new(f.Name, Shown(f));
        if (windowed is not null)
            foreach (var f in windowed.Figures)
                inputs[k++] = new(f.Name + " (" + windowed.OverlayId + ", " + Day(windowed.From) + ".." + Day(windowed.To) + ")", Shown(f));
        return inputs;

        static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        static string Shown(Figure f) => f.Shown;
    }

    /// <summary>The rows a cell takes as its base ("T1.A.1 + T1.A.2"), each once, or null.</summary>
    private static string? BaseRows(CellInfo c, CellInfo[] cells)
    {
        if (c.BaseCells.Length == 0) return null;
        var ids = new List<string>(c.BaseCells.Length);
        foreach (var b in c.BaseCells)
            if (!ids.Contains(cells[b].Row.Id)) ids.Add(cells[b].Row.Id);
        return string.Join(" + ", ids);
    }

    /// <summary>Creates the compiled class with a figure table (null when the figures are baked in): a figure-only reform's way in.</summary>
    internal Func<decimal[], RuleScope>? Create { get; init; }

    /// <summary>The same compiled class, for a definition of the same shape (another figure table, other list entries).</summary>
    internal CompiledRuleSet WithDefinition(RuleSetDefinition definition, ListCatalog lists, RulePlan plan, Func<RuleScope> factory) =>
        new(definition, lists, plan, _expressionSites, factory, Source, Timings) { Create = Create };

    /// <summary>The typed plan the rule set's class was printed from (its figure table, blocks, cells): what <c>contributi plan</c> shows.</summary>
    public RulePlan Plan { get; }

    public RuleSetDefinition Definition { get; }
    public string Id => Definition.Id;
    public string ContentHash => Definition.ContentHash;
    public ListCatalog Lists { get; }

    /// <summary>Classes works by their producers' States (art. 2.f-h) with this rule set's dated lists and its art. 5.8 figures.</summary>
    public Allocation.CoproductionClassifier Coproductions =>
        _coproductions ??= new Allocation.CoproductionClassifier(Definition.Allocation?.Coproduction, Lists);

    private Allocation.CoproductionClassifier? _coproductions;

    public IReadOnlyList<CellInfo> Cells { get; }

    /// <summary>Whether this load compiled the rules or took them from the cache.</summary>
    public CompileSource Source { get; }

    /// <summary>Where the load time of this rule set went.</summary>
    public CompileTimings Timings { get; }

    /// <summary>The roles whose columns this rule set has.</summary>
    public IReadOnlySet<Role> Roles { get; }

    /// <summary>
    /// The work and claimants with only the results that count (art. 5.2, 5.10: <see cref="Allocation.ResultAdmission"/>),
    /// each result kept out added to <paramref name="excluded"/> with its article: what <see cref="Score"/> and
    /// <see cref="ScoreTotals"/> score. The same instances when every result counts.
    /// </summary>
    public (Work Work, IReadOnlyList<RoleInput> Roles) Admit(Work work, IReadOnlyList<RoleInput> roles, List<Allocation.Exclusion>? excluded) =>
        _admission.Admit(work, roles, excluded);

    /// <summary>
    /// Scores one work for the given roles (each at most once). Results the decree keeps out (art. 5.2, 5.10) do not count
    /// and are listed in <see cref="ScoreResult.Excluded"/> with their article.
    /// </summary>
    public ScoreResult Score(Work work, IReadOnlyList<RoleInput> roles, ScoreOptions? options = null)
    {
        options ??= ScoreOptions.Default;
        var excluded = new List<Allocation.Exclusion>();
        (work, roles) = _admission.Admit(work, roles, excluded);
        var scope = Rent();
        try
        {
            scope.Tracing = options.Explain; // Return clears the matches of the scoring before
            Run(scope, work, roles, totals: false);
            var result = new List<RoleScore>(roles.Count);
            foreach (var r in roles)
            {
                var role = BuildRole(r.Role, scope, scope.Points, scope.Status, options);
                if (_flagged) role = Flag(role, scope.Points, scope.Status);
                result.Add(role);
            }
            return new ScoreResult(Definition.BaseId, ContentHash, work.Id, result)
            {
                Overlays = Definition.AppliedOverlays, Excluded = excluded.Count > 0 ? excluded : [],
            };
        }
        catch (Exception ex) when (ex is ArithmeticException or InvalidOperationException or ArgumentException && scope.CurrentExpression >= 0)
        {
            throw new RuleEvaluationException(Id, _expressionSites[scope.CurrentExpression], RuleEvaluationException.ReasonOf(ex), ex);
        }
        finally
        {
            Return(scope);
        }
    }

    /// <summary>
    /// The totals path: the work's points per role and quota into <paramref name="into"/>, no lines, no flags. A caller that
    /// reuses <paramref name="into"/> (and its roles array) allocates nothing per work in steady state (nor for the results'
    /// admission, art. 5.2, 5.10, unless a result is kept out: <see cref="PointTotals.Excluded"/>).
    /// </summary>
    public void ScoreTotals(Work work, IReadOnlyList<RoleInput> roles, PointTotals into)
    {
        into.ExcludedList.Clear();
        (work, roles) = _admission.Admit(work, roles, into.ExcludedList);
        var scope = !into.OwnScope ? Rent() : ReferenceEquals(into.ScopeOf, this) && into.Scope is { } own ? own : NewScope();
        try
        {
            // A role with rows not sourced (provisional or missing figures) is flagged as the explained path flags it, from each
            // cell's status: those scorings run the full evaluation (same points, same sums), without tracing or lines.
            var asked = 0;
            for (var k = 0; k < roles.Count; k++) asked |= 1 << (int)roles[k].Role;
            var flag = (asked & _flaggedRoles) != 0;
            Run(scope, work, roles, totals: !flag);
            into.Reset(_baseId, _quotaIds);
            var n = _quotaIds.Length;
            for (var k = 0; k < roles.Count; k++)
            {
                if (flag) FlagInto(roles[k].Role, scope.Points, scope.Status, into);
                // Evaluate added each applied cell into its role's quota: copied, and the role's total is their sum.
                var row = into.SetRow(roles[k].Role, scope.QuotaSums.AsSpan((int)roles[k].Role * n, n));
                // The quotas that scored, in the manifest's order (as Score adds them): only those the role's cells add into (the
                // others are 0), the first one taken as it is (0 + q is q, its scale included: decimal keeps the larger scale).
                var total = 0m;
                var first = true;
                foreach (var q in _quotasByRole[(int)roles[k].Role])
                    if (RuleScope.NonZero(row[q]))
                    {
                        total = first ? row[q] : total + row[q];
                        first = false;
                    }
                into.SetTotal(roles[k].Role, total);
            }
        }
        catch (Exception ex) when (ex is ArithmeticException or InvalidOperationException or ArgumentException && scope.CurrentExpression >= 0)
        {
            throw new RuleEvaluationException(Id, _expressionSites[scope.CurrentExpression], RuleEvaluationException.ReasonOf(ex), ex);
        }
        finally
        {
            if (!into.OwnScope) Return(scope);
            else
            {
                Clean(scope);
                (into.Scope, into.ScopeOf) = (scope, this);
            }
        }
    }

    /// <summary>
    /// Evaluates the cells of the roles asked for (and of the roles their bases read) into the scope's arrays: every cell's
    /// points and status, or (<paramref name="totals"/>) only the quota sums.
    /// </summary>
    private void Run(RuleScope scope, Work work, IReadOnlyList<RoleInput> roles, bool totals)
    {
        scope.Bind(work, roles, Lists);
        var mask = 0;
        for (var k = 0; k < roles.Count; k++) mask |= _dependencyMask[(int)roles[k].Role];
        scope.CurrentExpression = -1;
        // Every cell of a role in the mask has its status and its points written (0 when it does not apply): no clearing of
        // those; the quota sums of the roles in the mask start from 0: those its cells add into (the others are never written,
        // and stay 0 from the scope's making).
        var n = _quotaIds.Length;
        for (var r = 1; r < 5; r++)
            if ((mask & (1 << r)) != 0)
                foreach (var q in _quotasByRole[r]) scope.QuotaSums[r * n + q] = 0m;
        if (totals) scope.EvaluateTotals(scope.Points, scope.QuotaSums, mask);
        else scope.Evaluate(scope.Points, scope.Status, scope.QuotaSums, mask);
    }

    // Scopes kept for the next calls, a few per processor: a scoring runs on its thread from start to end (no await in it), so
    // no more are in use at once than threads score; concurrent requests take one each instead of making one (10-16 KB, the
    // generated scope and its arrays) whenever another call held the only spare (650 of 8,000 scorings on 4 threads). A slot
    // found empty or full is passed over; a scope that finds every slot taken is left to the collector.
    private readonly RuleScope?[] _spares = new RuleScope?[Math.Max(4, 2 * Environment.ProcessorCount)];
    private long _scopesMade;

    /// <summary>Rule scopes this rule set has made (each call that found no spare): for tests of the pool.</summary>
    internal long ScopesMade => Interlocked.Read(ref _scopesMade);

    private RuleScope Rent()
    {
        var start = Environment.CurrentManagedThreadId;
        for (var k = 0; k < _spares.Length; k++)
            if (Interlocked.Exchange(ref _spares[(start + k) % _spares.Length], null) is { } scope) return scope;
        return NewScope();
    }

    private RuleScope NewScope()
    {
        Interlocked.Increment(ref _scopesMade);
        var scope = _factory();
        scope.Points = new decimal[Cells.Count];
        scope.Status = new byte[Cells.Count];
        scope.QuotaSums = new decimal[5 * _quotaIds.Length];
        scope.MatchStart = new int[Cells.Count];
        scope.MatchCount = new int[Cells.Count];
        return scope;
    }

    private void Return(RuleScope scope)
    {
        Clean(scope);
        var start = Environment.CurrentManagedThreadId;
        for (var k = 0; k < _spares.Length; k++)
            if (Interlocked.CompareExchange(ref _spares[(start + k) % _spares.Length], scope, null) is null) return;
    }

    private static void Clean(RuleScope scope)
    {
        scope.Release();
        scope.Tracing = false;
        scope.Matches.Clear(); // no match text of this scoring kept alive
    }

    /// <summary>As <see cref="Flag"/>, into the totals' reused lists.</summary>
    private void FlagInto(Role role, decimal[] points, byte[] status, PointTotals into)
    {
        foreach (var i in _indexesByRole[(int)role])
        {
            if (status[i] != CellStatus.Applied) continue;
            var c = _cells[i];
            if (c.Row.Provenance == Provenance.Missing) into.Missing(role).Add(c.Row.Id);
            else if (c.Row.Provenance == Provenance.Provisional && points[c.Index] != 0m) into.Provisional(role).Add(c.Row.Id);
        }
    }

    /// <summary>The missing rows whose conditions held, and the provisional rows that scored, for one role.</summary>
    private RoleScore Flag(RoleScore role, decimal[] points, byte[] status)
    {
        List<string>? missing = null, provisional = null;
        foreach (var i in _indexesByRole[(int)role.Role])
        {
            if (status[i] != CellStatus.Applied) continue;
            var c = _cells[i];
            if (c.Row.Provenance == Provenance.Missing) (missing ??= []).Add(c.Row.Id);
            else if (c.Row.Provenance == Provenance.Provisional && points[c.Index] != 0m) (provisional ??= []).Add(c.Row.Id);
        }
        return missing is null && provisional is null ? role
            : role with { MissingRows = (IReadOnlyList<string>?)missing ?? [], ProvisionalRows = (IReadOnlyList<string>?)provisional ?? [] };
    }

    private RoleScore BuildRole(Role role, RuleScope scope, decimal[] points, byte[] status, ScoreOptions options)
    {
        // Per-quota sums indexed like the manifest's quotas (and so in its order): no dictionary, no sorting.
        Span<decimal> sums = stackalloc decimal[_quotaIds.Length];
        Span<int> counts = stackalloc int[_quotaIds.Length];
        // The lines, in cell order, gathered in the scope's buffer; each quota then gets an array of its own, of the exact size.
        var lines = options.Explain ? scope.LinesScratch : null;
        lines?.Clear();
        var notApplied = options.IncludeNotApplied ? new List<ScoreLine>() : null;
        decimal total = 0m;
        var used = 0UL;
        foreach (var i in _indexesByRole[(int)role])
        {
            // Most of a role's cells did not apply: their status byte is all that is read (unless they are listed).
            var st = status[i];
            if (st == CellStatus.Applied && points[i] is var p && RuleScope.NonZero(p))
            {
                var q = _cellQuota[i];
                sums[q] += p;
                used |= 1UL << q;
                if (lines is not null)
                {
                    lines.Add((q, Line(_cells[i], p, Explain(_cells[i], scope, points), null)));
                    counts[q]++;
                }
            }
            else notApplied?.Add(Line(_cells[i], 0m, [], Reason(_cells[i], st)));
        }
        var quotas = new QuotaScore[System.Numerics.BitOperations.PopCount(used)];
        var k = 0;
        // The total is the sum of the quotas, in the manifest's order (as the totals path adds them).
        for (var q = 0; q < _quotaIds.Length; q++)
            if ((used & (1UL << q)) != 0)
            {
                total += sums[q];
                IReadOnlyList<ScoreLine> quotaLines = [];
                if (lines is not null)
                {
                    var own = new ScoreLine[counts[q]];
                    var j = 0;
                    foreach (var (lq, line) in lines)
                        if (lq == q) own[j++] = line;
                    quotaLines = own;
                }
                quotas[k++] = new QuotaScore(_quotaIds[q], sums[q], quotaLines);
            }
        lines?.Clear(); // the buffer keeps no line of this result alive
        return new RoleScore(role, total, quotas, (IReadOnlyList<ScoreLine>?)notApplied ?? []);
    }

    private ScoreLine Line(CellInfo c, decimal points, IReadOnlyList<KeyValuePair<string, string>> inputs, string? reason) =>
        new(_lineSources[c.Index], points, inputs, reason);

    /// <summary>
    /// Whether a cell's points call a list helper (Festivals, Prizes, Markets): its explanation names what matched, recorded
    /// while it is evaluated (the generated code marks these cells: <see cref="RuleScope.Tracing"/>).
    /// </summary>
    internal static bool CallsListHelper(RuleExpression points) =>
        points.Text.Contains("Festivals(", StringComparison.Ordinal) || points.Text.Contains("Prizes(", StringComparison.Ordinal) ||
        points.Text.Contains("Markets(", StringComparison.Ordinal);

    private IReadOnlyList<KeyValuePair<string, string>> Explain(CellInfo c, RuleScope scope, decimal[] points)
    {
        // Gathered in the scope's buffer, then copied into an array of the exact size: one allocation per line.
        var inputs = scope.InputsScratch;
        inputs.Clear();
        scope.DescribeInputs(c.Index, inputs);
        inputs.AddRange(_figureInputs[c.Index]);
        if (_baseRows[c.Index] is { } rows)
        {
            var b = 0m;
            foreach (var i in c.BaseCells) b += points[i];
            inputs.Add(new("Base", $"{b.ToString(System.Globalization.CultureInfo.InvariantCulture)} ({rows})"));
        }
        // What the list rows matched, recorded as the cell was evaluated (its traced reading gave the points).
        if (_traced[c.Index])
            for (int k = scope.MatchStart[c.Index], end = k + scope.MatchCount[c.Index]; k < end; k++)
                inputs.Add(new("match", scope.Matches[k]));
        return inputs.ToArray();
    }

    private static string Reason(CellInfo c, byte status) => status switch
    {
        CellStatus.TableNotApplicable => $"table {c.Table.Id} does not apply to this work: {c.Table.Applies?.Text}",
        CellStatus.SectionConditionFalse => $"section {c.Table.Id}.{c.Section.Id} condition not met: {c.Section.When?.Text}",
        CellStatus.RowConditionFalse => $"condition not met: {c.Row.When?.Text}",
        CellStatus.CellConditionFalse => $"{RoleNames.Key(c.Role)} condition not met: {c.Cell.When?.Text}",
        CellStatus.Applied => "no points: the inputs this row reads give 0",
        _ => "not evaluated",
    };
}
