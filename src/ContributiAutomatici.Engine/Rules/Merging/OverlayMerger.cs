using System.Text;

namespace ContributiAutomatici.Engine.Rules;

/// <summary>
/// A version with overlays applied, as one rule set definition (compiled like any other): each overlay's patches in
/// turn, in id order. A patch naming a row that does not exist, an added row whose place does not exist, a windowed
/// figure the row does not have: refused with the overlay's file and line.
/// </summary>
public static class OverlayMerger
{
    /// <summary>"overlay covid-19", "reform tier-1-4000": what an error calls the rule set that changes a version.</summary>
    private static string Named(RuleSetDefinition o) => $"{o.Kind.ToString().ToLowerInvariant()} {o.Id}";

    public static RuleSetDefinition? Apply(RuleSetDefinition version, IReadOnlyList<RuleSetDefinition> overlays, List<RuleError> errors)
    {
        var before = errors.Count;
        var tables = version.Tables.Select(t => t with { Sections = t.Sections.Select(s => s with { Rows = s.Rows.ToList() }).ToList() }).ToList();
        var quantities = version.Quantities.ToList();
        foreach (var o in overlays.OrderBy(o => o.Id, StringComparer.Ordinal))
        {
            var ov = o.Overlay!;
            foreach (var p in ov.Rows)
            {
                void Error(string message) => errors.Add(new RuleError(p.Location.File, p.Location.Line, message));
                var found = Find(tables, p.RowId);
                switch (p.Action)
                {
                    case PatchAction.Add:
                        if (found is not null) { Error($"{Named(o)} adds row {p.RowId}, which {version.Id} already has"); break; }
                        if (Find(tables, p.After ?? "") is not { } at) { Error($"{Named(o)} adds row {p.RowId} after {p.After}, which {version.Id} does not have"); break; }
                        var (rows, index) = at;
                        var anchor = rows[index];
                        rows.Insert(index + 1, p.Row! with
                        {
                            TableId = anchor.TableId, SectionId = anchor.SectionId,
                            QuotaId = p.Row!.QuotaId.Length > 0 ? p.Row.QuotaId : anchor.QuotaId,
                            PatchedBy = [$"{o.Id}: {p.Citation}"], Window = (ov.From, ov.To),
                        });
                        break;
                    case PatchAction.Disable:
                        if (found is not { } d) { Error($"{Named(o)} disables row {p.RowId}, which {version.Id} does not have"); break; }
                        d.Rows.RemoveAt(d.Index);
                        break;
                    case PatchAction.Figures:
                        if (found is not { } f) { Error($"{Named(o)} patches row {p.RowId}, which {version.Id} does not have"); break; }
                        var row = f.Rows[f.Index];
                        foreach (var unknown in p.Figures.Where(x => row.Figures.All(y => y.Name != x.Name)))
                            Error($"{Named(o)} patches figure {unknown.Name} of row {p.RowId}, which has {(row.Figures.Count == 0 ? "no figures" : "only " + string.Join(", ", row.Figures.Select(y => y.Name)))}");
                        if (row.BasePatterns.Count > 0)
                            Error($"{Named(o)} patches the figures of row {p.RowId} within its window, but the row takes a base: patch its expressions instead");
                        if (row.Windowed is not null)
                            Error($"row {p.RowId} already has windowed figures from overlay {row.Windowed.OverlayId}");
                        f.Rows[f.Index] = row with
                        {
                            Windowed = new WindowedFigures(o.Id, ov.From, ov.To, p.Figures, p.Citation),
                            PatchedBy = [.. row.PatchedBy, $"{o.Id}: {p.Citation}"],
                        };
                        break;
                    case PatchAction.Replace:
                        if (found is not { } e) { Error($"{Named(o)} replaces row {p.RowId}, which {version.Id} does not have"); break; }
                        var old = e.Rows[e.Index];
                        var cells = old.Cells.Where(c => p.Row!.Cells.All(n => n.Role != c.Role)).Concat(p.Row!.Cells).ToList();
                        e.Rows[e.Index] = old with
                        {
                            Cells = cells, When = p.Row.When ?? old.When, Window = (ov.From, ov.To),
                            // The replacing expressions read the row's own figures, and any the replacement adds.
                            Figures = [.. old.Figures.Where(f => p.Row.Figures.All(n => n.Name != f.Name)), .. p.Row.Figures],
                            PatchedBy = [.. old.PatchedBy, $"{o.Id}: {p.Citation}"],
                            ReplacedBy = $"{o.Id}: {p.Reason}",
                        };
                        break;
                    default:
                        throw new InvalidOperationException($"{Named(o)}: patch action {p.Action} of row {p.RowId} not applied");
                }
            }
            foreach (var q in ov.Quantities)
            {
                var i = quantities.FindIndex(x => x.Name == q.Name);
                var term = new QuantityTerm(q.Expr, q.Action == QuantityAction.Minus, o.Id, (ov.From, ov.To), q.Citation);
                if (q.Action == QuantityAction.Define)
                {
                    if (i >= 0) errors.Add(new RuleError(q.Location.File, q.Location.Line,
                        $"{Named(o)} defines quantity {q.Name}, which {version.Id} defines at {quantities[i].Location}: change it with 'plus' or 'minus'", q.Location.Column));
                    else quantities.Add(new QuantityDefinition(q.Name, q.Label, q.Citation, [term], q.Location));
                }
                else if (i < 0)
                    errors.Add(new RuleError(q.Location.File, q.Location.Line,
                        $"{Named(o)} changes quantity {q.Name}, which {version.Id} does not define{YamlKeys.Suggestion(q.Name, quantities.Select(x => x.Name))}", q.Location.Column));
                else quantities[i] = quantities[i] with { Terms = [.. quantities[i].Terms, term] };
            }
        }
        RuleFileParser.CheckNames(tables, quantities, errors);
        if (errors.Count > before) return null;
        var ids = overlays.Select(o => o.Id).Order(StringComparer.Ordinal).ToList();
        var hash = Sha256.HexOf(
            string.Join("\n", new[] { version.ContentHash }.Concat(overlays.OrderBy(o => o.Id, StringComparer.Ordinal).Select(o => o.Id + ":" + o.ContentHash))));
        return version with
        {
            Id = version.Id + "+" + string.Join("+", ids),
            Tables = tables,
            Quantities = quantities,
            ContentHash = hash,
            AppliedOverlays = ids,
        };
    }

    private static (List<RowDefinition> Rows, int Index)? Find(List<TableDefinition> tables, string rowId)
    {
        foreach (var t in tables)
            foreach (var s in t.Sections)
            {
                var rows = (List<RowDefinition>)s.Rows;
                var i = rows.FindIndex(r => r.Id == rowId);
                if (i >= 0) return (rows, i);
            }
        return null;
    }
}
