using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Engine.Rules;

/// <summary>
/// The typed plan of a rule set: what stands between its definitions (after overlays and a reform are applied) and the C#
/// that Roslyn compiles. It holds, resolved once: the cells (row x role) in evaluation order, the distinct rows with their
/// conditions and overlay windows, every figure's slot in the figure table the compiled class is created with, the scales
/// built from their bands, the named quantities with their terms and windows, the blocks (table, section, row) with the
/// roles they concern and the cells to zero when they do not apply, and for every cell the quota slot it adds into and the
/// arguments each of its expressions is handed. <see cref="RoslynEmitter"/> only prints it; <c>contributi plan</c> shows it;
/// a figure-only change is a new <see cref="FigureValues"/> for the same plan shape (<see cref="SameShape"/>), nothing compiled.
/// </summary>
public sealed class RulePlan
{
    private RulePlan(RuleSetDefinition definition, List<CellInfo> cells, List<RowDefinition> rows, IReadOnlyList<FigureSlot> figures,
        IReadOnlyList<PlanScale> scales)
    {
        Definition = definition;
        CellList = cells;
        _rowDefinitions = rows;
        Figures = figures;
        Scales = scales;
        QuotaIds = definition.Quotas.Select(q => q.Id).ToList();
        // What only the emitter and the authors' tools read is planned when first asked: a warm start, which reads the
        // figure table and compiles nothing, does not pay for it.
        _blocks = new Lazy<(IReadOnlyList<PlanCell>, IReadOnlyList<PlanRow>, IReadOnlyList<PlanTable>, IReadOnlyList<PlanQuantity>)>(Blocks);
    }

    private readonly List<RowDefinition> _rowDefinitions;

    /// <summary>The rows with at least one cell, each once, in order (what <see cref="Rows"/> plans), read without planning the blocks.</summary>
    internal IReadOnlyList<RowDefinition> RowDefinitions => _rowDefinitions;
    private readonly Lazy<(IReadOnlyList<PlanCell> Cells, IReadOnlyList<PlanRow> Rows, IReadOnlyList<PlanTable> Tables, IReadOnlyList<PlanQuantity> Quantities)> _blocks;

    /// <summary>The rule set planned (a version, a combination with overlays, or a reform of one).</summary>
    public RuleSetDefinition Definition { get; }

    internal List<CellInfo> CellList { get; }

    /// <summary>Every cell (a row's points for one role), in evaluation order; a cell's index is its place in the points array.</summary>
    public IReadOnlyList<CellInfo> Cells => CellList;

    /// <summary>The rows with at least one cell, each once, in order (row r's condition compiles to method W{r}).</summary>
    public IReadOnlyList<PlanRow> Rows => _blocks.Value.Rows;

    /// <summary>Every cell as it is evaluated (<see cref="PlanCell"/>), in evaluation order: <c>PlanCells[i].Info.Index == i</c>.</summary>
    public IReadOnlyList<PlanCell> PlanCells => _blocks.Value.Cells;

    /// <summary>The figure table, slot by slot: a row's figures, then the row's figures inside an overlay's window.</summary>
    public IReadOnlyList<FigureSlot> Figures { get; }

    /// <summary>The scales (tier bands), each built once from its bands' figure slots when the class is created.</summary>
    public IReadOnlyList<PlanScale> Scales { get; }

    /// <summary>The named quantities, with their terms (an overlay's in its window).</summary>
    public IReadOnlyList<PlanQuantity> Quantities => _blocks.Value.Quantities;

    /// <summary>The tables that have cells, with their sections and rows, in evaluation order.</summary>
    public IReadOnlyList<PlanTable> Tables => _blocks.Value.Tables;

    /// <summary>The quotas, in the manifest's order: a role's points for quota q add into slot role x quotas + q.</summary>
    public IReadOnlyList<string> QuotaIds { get; }

    /// <summary>The values of <see cref="Figures"/>, in slot order: the table the compiled class is created with.</summary>
    public decimal[] FigureValues()
    {
        var table = new decimal[Figures.Count];
        for (var i = 0; i < table.Length; i++) table[i] = Figures[i].Figure.Value;
        return table;
    }

    /// <summary>
    /// Whether a class compiled from this plan can score <paramref name="other"/> with <paramref name="other"/>'s figure table:
    /// the same cells and the same figure slots (row, window, name), whatever the figures' values.
    /// </summary>
    public bool SameShape(RulePlan other) =>
        Cells.Count == other.Cells.Count && Figures.Count == other.Figures.Count &&
        Figures.Zip(other.Figures).All(p => p.First.Row == p.Second.Row && p.First.Windowed == p.Second.Windowed && p.First.Figure.Name == p.Second.Figure.Name);

    /// <summary>The plan of <paramref name="def"/> (its quantities must not read each other in a circle: checked before).</summary>
    public static RulePlan Of(RuleSetDefinition def)
    {
        var cells = Flatten(def);
        var rowDefs = new List<RowDefinition>();
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        // By reference, not by the record's value equality, which would hash every field of every row (and, on a warm start,
        // JIT-compile an equality comparer for each field's type): the same rows, since no two row objects of a rule set are equal.
        foreach (var c in cells)
            if (seen.Add(c.Row)) rowDefs.Add(c.Row);
        var figures = new List<FigureSlot>();
        var scales = new List<PlanScale>();
        for (var r = 0; r < rowDefs.Count; r++)
        {
            // A scale holds no value of its own: its field is built from its bands' slots.
            foreach (var f in rowDefs[r].Figures) if (f.Bands is null) figures.Add(new FigureSlot(figures.Count, r, rowDefs[r].Id, false, f));
            if (rowDefs[r].Windowed is { } wf)
                foreach (var f in Merge(rowDefs[r].Figures, wf.Figures)) if (f.Bands is null) figures.Add(new FigureSlot(figures.Count, r, rowDefs[r].Id, true, f));
        }
        for (var r = 0; r < rowDefs.Count; r++)
            foreach (var (windowed, own) in rowDefs[r].Windowed is { } wf
                         ? new[] { (false, rowDefs[r].Figures), (true, Merge(rowDefs[r].Figures, wf.Figures)) }
                         : [(false, rowDefs[r].Figures)])
                foreach (var f in own.Where(f => f.Bands is not null))
                    scales.Add(new PlanScale(r, windowed, f.Name, f.Bands!.Select(b => (b.UpTo, b.Per)).ToList()));

        return new RulePlan(def, cells, rowDefs, figures, scales);
    }

    private (IReadOnlyList<PlanCell>, IReadOnlyList<PlanRow>, IReadOnlyList<PlanTable>, IReadOnlyList<PlanQuantity>) Blocks()
    {
        var def = Definition;
        var cells = CellList;
        var rowIndex = new Dictionary<RowDefinition, int>(ReferenceEqualityComparer.Instance);
        for (var r = 0; r < _rowDefinitions.Count; r++) rowIndex[_rowDefinitions[r]] = r;
        var qs = def.Quantities;
        var quantities = qs.Select((q, k) => new PlanQuantity(k, q,
            q.Terms.Select((t, j) => new PlanQuantityTerm(j, t, QuantitiesNamed(t.Expr, qs).ToList())).ToList())).ToList();

        var quotaIds = QuotaIds;
        // The cells some other cell adds up as its base: the only points read back while the rules run.
        var baseCells = cells.SelectMany(c => c.BaseCells).ToHashSet();
        var planCells = cells.Select(c =>
        {
            var r = rowIndex[c.Row];
            var q = IndexOf(quotaIds, c.QuotaId);
            return new PlanCell(c, r, q < 0 ? -1 : (int)c.Role * quotaIds.Count + q, baseCells.Contains(c.Index),
                c.Cell.When is { } w ? Arguments(c.Row.Figures, r, false, w, qs) : [],
                Arguments(c.Row.Figures, r, false, c.Cell.Points, qs),
                c.Row.Windowed is { } wf ? Arguments(Merge(c.Row.Figures, wf.Figures), r, true, c.Cell.Points, qs) : [],
                new[] { c.Row.When, c.Cell.When, c.Cell.Points }.SelectMany(e => QuantitiesNamed(e, qs)).Distinct().ToList())
            {
                WindowReadsWork = c.Row.Windowed is not null && ReadsWork(c.Cell.Points, qs),
            };
        }).ToList();

        var rows = _rowDefinitions.Select((row, r) =>
        {
            var own = planCells.Where(c => ReferenceEquals(c.Info.Row, row)).ToList();
            return new PlanRow(r, row, row.When is { } w ? Arguments(row.Figures, r, false, w, qs) : [], Mask(own), own);
        }).ToList();

        // A block (table, section) that does not apply zeroes its cells at once: per role, every cell (the explained path),
        // and only the base cells that a cell outside the block reads (the totals path: the cells inside it do not run).
        List<PlanSkip> Skips(List<PlanCell> inside)
        {
            var ids = inside.Select(c => c.Info.Index).ToHashSet();
            bool ReadOutside(PlanCell b) => cells.Any(d => !ids.Contains(d.Index) && d.BaseCells.Contains(b.Info.Index));
            return inside.GroupBy(c => c.Info.Role).Select(g => new PlanSkip(g.Key, g.ToList(), g.Where(c => c.IsBase && ReadOutside(c)).ToList())).ToList();
        }
        var tables = new List<PlanTable>();
        foreach (var (table, t) in def.Tables.Select((x, i) => (x, i)))
        {
            var tableCells = planCells.Where(c => ReferenceEquals(c.Info.Table, table)).ToList();
            if (tableCells.Count == 0) continue;
            var sections = new List<PlanSection>();
            foreach (var (section, si) in table.Sections.Select((x, i) => (x, i)))
            {
                var sectionCells = tableCells.Where(c => ReferenceEquals(c.Info.Section, section)).ToList();
                if (sectionCells.Count == 0) continue;
                sections.Add(new PlanSection(si, section, Mask(sectionCells), Skips(sectionCells),
                    section.Rows.Where(rowIndex.ContainsKey).Select(row => rows[rowIndex[row]]).ToList()));
            }
            tables.Add(new PlanTable(t, table, Mask(tableCells), Skips(tableCells), sections));
        }
        return (planCells, rows, tables, quantities);
    }

    private static int IndexOf(IReadOnlyList<string> ids, string id)
    {
        for (var i = 0; i < ids.Count; i++)
            if (ids[i] == id) return i;
        return -1;
    }

    /// <summary>The roles with a cell in a block, as bits (1 &lt;&lt; role): a block none of whose roles is scored is not entered.</summary>
    private static int Mask(IEnumerable<PlanCell> block) => block.Aggregate(0, (acc, c) => acc | (1 << (int)c.Info.Role));

    private static List<CellInfo> Flatten(RuleSetDefinition def)
    {
        var cells = new List<CellInfo>();
        foreach (var table in def.Tables)
            foreach (var section in table.Sections)
                foreach (var row in section.Rows)
                    foreach (var cell in row.Cells)
                    {
                        var baseRole = row.BaseRole ?? cell.Role;
                        var bases = new List<int>();
                        if (row.BasePatterns.Count > 0)
                            foreach (var c in cells)
                                if (c.Role == baseRole && row.BasePatterns.Any(p => RuleFileParser.Matches(p, c.Row.Id))) bases.Add(c.Index);
                        cells.Add(new CellInfo(cells.Count, row, cell, [.. bases], row.QuotaId, section, table));
                    }
        return cells;
    }

    /// <summary>
    /// What an expression is handed: the row's figures it names (inside the overlay's window: the row's with the overlay's),
    /// then the value of each quantity it names. A figure or quantity the expression does not name is not passed.
    /// </summary>
    private static IReadOnlyList<PlanArgument> Arguments(IReadOnlyList<Figure> figures, int row, bool windowed, RuleExpression expression, IReadOnlyList<QuantityDefinition> quantities) =>
        figures.Where(f => Names(expression.Text, f.Name)).Select(f => (PlanArgument)new FigureArgument(row, windowed, f.Name, f.Bands is not null))
            .Concat(QuantitiesNamed(expression, quantities).Select(k => (PlanArgument)new QuantityArgument(k, quantities[k].Name))).ToList();

    /// <summary>
    /// Whether an expression may read the work: it names <c>Work</c>, a helper that reads the work's lists by itself
    /// (Festivals, Prizes, Markets) or a named quantity (whose terms read the work).
    /// </summary>
    private static bool ReadsWork(RuleExpression expression, IReadOnlyList<QuantityDefinition> quantities) =>
        Names(expression.Text, "Work") || Names(expression.Text, "Festivals") || Names(expression.Text, "Prizes") ||
        Names(expression.Text, "Markets") || QuantitiesNamed(expression, quantities).Any();

    /// <summary>The quantities an expression names (by index), for the explanation's inputs and the cycle check.</summary>
    internal static IEnumerable<int> QuantitiesNamed(RuleExpression? expression, IReadOnlyList<QuantityDefinition> quantities)
    {
        if (expression is null) yield break;
        for (var k = 0; k < quantities.Count; k++)
            if (Names(expression.Text, quantities[k].Name)) yield return k;
    }

    /// <summary>
    /// Whether an expression's text has a name (a figure's, a quantity's) as a whole identifier: what the compiler passes it, and
    /// so what tools (diff, plan, show) say the expression reads.
    /// </summary>
    public static bool Names(string text, string name)
    {
        for (var at = text.IndexOf(name, StringComparison.Ordinal); at >= 0; at = text.IndexOf(name, at + 1, StringComparison.Ordinal))
        {
            var end = at + name.Length;
            if ((at == 0 || !IsIdentifierChar(text[at - 1])) && (end == text.Length || !IsIdentifierChar(text[end]))) return true;
        }
        return false;
    }

    private static bool IsIdentifierChar(char c) => char.IsLetterOrDigit(c) || c == '_';

    /// <summary>The row's figures with an overlay's replacing those of the same name.</summary>
    internal static IReadOnlyList<Figure> Merge(IReadOnlyList<Figure> figures, IReadOnlyList<Figure> patch) =>
        figures.Select(f => patch.FirstOrDefault(p => p.Name == f.Name) ?? f).ToList();
}

/// <summary>A figure's place in the figure table: its row (by plan index and id), inside an overlay's window or not, and the figure.</summary>
public sealed record FigureSlot(int Index, int Row, string RowId, bool Windowed, Figure Figure);

/// <summary>A scale of a row (inside an overlay's window or not): its bands, each a pair of the row's figure names (up to, EUR per point).</summary>
public sealed record PlanScale(int Row, bool Windowed, string Name, IReadOnlyList<(string UpTo, string Per)> Bands);

/// <summary>A value an expression is handed: a figure of a row, or a named quantity's value.</summary>
public abstract record PlanArgument;

/// <summary>Figure <paramref name="Name"/> of row <paramref name="Row"/> (inside an overlay's window: the overlay's value); a scale when <paramref name="IsScale"/>.</summary>
public sealed record FigureArgument(int Row, bool Windowed, string Name, bool IsScale) : PlanArgument;

/// <summary>The value of named quantity <paramref name="Quantity"/>: its terms added up, each in its overlay's window.</summary>
public sealed record QuantityArgument(int Quantity, string Name) : PlanArgument;

/// <summary>A named quantity and its terms.</summary>
public sealed record PlanQuantity(int Index, QuantityDefinition Definition, IReadOnlyList<PlanQuantityTerm> Terms)
{
    /// <summary>A version's own quantity (one term, added, no window): read as if its expression were written where it is read.</summary>
    public bool Inline => Terms is [{ Term: { Window: null, Subtract: false } }];
}

/// <summary>One term of a quantity (its index, its definition) and the quantities its expression reads.</summary>
public sealed record PlanQuantityTerm(int Index, QuantityTerm Term, IReadOnlyList<int> Reads);

/// <summary>
/// A cell as it is evaluated: the row it belongs to, the quota slot its points add into (-1: none), whether a later cell
/// reads its points as its base, the arguments of its condition, of its points, and of its points inside an overlay's
/// window, and the quantities its expressions read (for the explanation's inputs).
/// </summary>
public sealed record PlanCell(CellInfo Info, int Row, int QuotaSlot, bool IsBase, IReadOnlyList<PlanArgument> ConditionArguments,
    IReadOnlyList<PlanArgument> PointsArguments, IReadOnlyList<PlanArgument> WindowedPointsArguments, IReadOnlyList<int> QuantitiesRead)
{
    /// <summary>
    /// A cell of a row an overlay's window splits: whether its points read the work (<c>Work</c>, a list helper, a named
    /// quantity), so the work is split by date too; one that reads only the claimant and figures is given the claimant's split
    /// alone (no copy of the work per scoring).
    /// </summary>
    public bool WindowReadsWork { get; init; }
}

/// <summary>A row: its plan index, its definition, the arguments of its condition, the roles of its cells (bits) and its cells.</summary>
public sealed record PlanRow(int Index, RowDefinition Row, IReadOnlyList<PlanArgument> ConditionArguments, int RoleMask, IReadOnlyList<PlanCell> Cells);

/// <summary>The cells of one role in a block that does not apply: all of them, and the base cells read outside the block.</summary>
public sealed record PlanSkip(Role Role, IReadOnlyList<PlanCell> Cells, IReadOnlyList<PlanCell> ReadOutside);

/// <summary>A section with cells: its index in its table, the roles of its cells, what is zeroed when it does not apply, its rows.</summary>
public sealed record PlanSection(int Index, SectionDefinition Section, int RoleMask, IReadOnlyList<PlanSkip> Skips, IReadOnlyList<PlanRow> Rows);

/// <summary>A table with cells: its index in the rule set, the roles of its cells, what is zeroed when it does not apply, its sections.</summary>
public sealed record PlanTable(int Index, TableDefinition Table, int RoleMask, IReadOnlyList<PlanSkip> Skips, IReadOnlyList<PlanSection> Sections);
