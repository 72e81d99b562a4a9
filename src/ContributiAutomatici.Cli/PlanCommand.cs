using System.CommandLine;
using System.Globalization;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Cli;

/// <summary>
/// <c>plan VERSION [ROW...]</c>: a row as it will be evaluated, under each combination of its version's overlays: the
/// conditions that guard it (table, section, row, column), each column's points expression, the named quantities it reads
/// with their terms (an overlay's, with its window), and every figure resolved with where it came from (defined in the
/// row, read by path from another row or version, or replaced inside an overlay's window) and its place in the figure
/// table the compiled class reads. Nothing is compiled: what an author sees is what the emitter prints.
/// </summary>
internal static class PlanCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Build(Io io)
    {
        var command = new Command("plan", "A row as it will be evaluated under each combination of its version's overlays: conditions, " +
                                          "expressions, the quantities it reads and every figure resolved, with where it came from.");
        var version = new Argument<string>("VERSION") { Description = "A rule set selector (dm-2021, dm-2021~covid-19, 2021): its version and every combination of the version's overlays" };
        var rows = new Argument<string[]>("ROW") { Description = "Row ids (T1.A.1); none: every row", Arity = ArgumentArity.ZeroOrMore };
        command.Arguments.Add(version);
        command.Arguments.Add(rows);
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r => Run(source(r), r.GetValue(version)!, r.GetValue(rows) ?? [], io));
        return command;
    }

    private static int Run(RuleSource source, string selector, string[] rowIds, Io io)
    {
        if (source.Resolved() is not { } defs) return Program.InputError;
        if (defs.Select(selector, out var why) is not { } chosen || chosen.Kind != RuleSetKind.Version && chosen.AppliedOverlays.Count == 0)
        {
            io.Err.WriteLine($"plan: {why ?? $"'{selector}' is an overlay: name its version (dm-2021)"}");
            return Program.InputError;
        }
        var entry = defs.Versions.First(v => v.Version.Id == chosen.BaseId);
        var sides = new List<RuleSetDefinition> { entry.Version };
        sides.AddRange(entry.Combinations);
        var known = defs.Overlays.Where(o => o.Overlay!.Patches == entry.Version.Id).Select(o => (o.Id, o.Overlay!.OnByDefault)).ToList();
        var all = sides.SelectMany(s => s.Tables.SelectMany(t => t.Rows)).Select(r => r.Id).Distinct().ToList();
        var unknown = rowIds.Where(id => !all.Contains(id)).ToList();
        if (unknown.Count > 0)
        {
            io.Err.WriteLine($"plan: no row {string.Join(", ", unknown)} in {entry.Version.Id} or its overlays" +
                             YamlKeys.Suggestion(unknown[0], all));
            return Program.InputError;
        }
        var o = io.Out;
        foreach (var id in rowIds.Length > 0 ? rowIds : all.ToArray())
        {
            var first = sides.SelectMany(s => s.Tables.SelectMany(t => t.Rows)).First(r => r.Id == id);
            o.WriteLine($"{id}  {first.Label}  [{first.Citation}]");
            foreach (var side in sides)
            {
                var name = RuleSetSelector.Canonical(entry.Version.Id, side.AppliedOverlays, known);
                var table = side.Tables.FirstOrDefault(t => t.Rows.Any(r => r.Id == id));
                if (table is null)
                {
                    o.WriteLine($"  under {name}: not a row");
                    continue;
                }
                Row(side, table, name, id, o);
            }
            o.WriteLine();
        }
        return Program.Ok;
    }

    private static void Row(RuleSetDefinition side, TableDefinition table, string name, string id, TextWriter o)
    {
        var section = table.Sections.First(s => s.Rows.Any(r => r.Id == id));
        var row = section.Rows.First(r => r.Id == id);
        o.WriteLine($"  under {name} (sha256 {side.ContentHash[..16]}): table {table.Id}, section {section.Id}, quota {row.QuotaId}" +
                    (row.Window is { } w ? $", window {w.From:yyyy-MM-dd}..{w.To:yyyy-MM-dd}" : ""));
        if (row.PatchedBy.Count > 0) o.WriteLine($"    changed by {string.Join("; ", row.PatchedBy)}");
        if (row.ReplacedBy is { } replaced) o.WriteLine($"    expressions REPLACED by {replaced}: an edit of {id} in {side.BaseId} does not apply here");
        var guards = new[] { table.Applies, section.When, row.When }.OfType<RuleExpression>().Select(e => $"({e.Text})").ToList();
        if (guards.Count > 0) o.WriteLine($"    when {string.Join(" && ", guards)}");
        if (row.BasePatterns.Count > 0) o.WriteLine($"    Base = the points of {string.Join(", ", row.BasePatterns)}{(row.BaseRole is { } br ? $" ({RoleNames.Key(br)})" : "")}");
        foreach (var cell in row.Cells)
        {
            o.WriteLine($"    {RoleNames.Key(cell.Role)}:{(cell.When is { } cw ? $" when ({cw.Text})" : "")} {cell.Points.Text}");
            o.WriteLine($"      at {Place(side, cell.Points.Location)}");
        }
        var texts = new[] { row.When }.Concat(row.Cells.SelectMany(c => new[] { c.When, c.Points })).OfType<RuleExpression>().Select(e => e.Text).ToList();
        foreach (var q in Read(side, texts))
        {
            o.WriteLine($"    quantity {q.Name} ({q.Label}) [{q.Citation}], defined at {Place(side, q.Location)}:");
            foreach (var t in q.Terms)
                o.WriteLine($"      {(t.Subtract ? "-" : "+")} {t.Expr.Text}" +
                            (t.OverlayId is { } ov ? $"   [{ov}: {t.Citation}{(t.Window is { } tw ? $", results dated {tw.From:yyyy-MM-dd}..{tw.To:yyyy-MM-dd}" : "")}]" : $"   [{t.Citation}]"));
        }
        // The typed plan the emitter prints: each cell's place in the points array, the quota slot it adds into, whether a
        // later cell reads it as its base, and what each expression is handed; then the figure table, slot by slot.
        var plan = RulePlan.Of(side);
        foreach (var c in plan.Rows.Where(r => r.Row.Id == id).SelectMany(r => r.Cells))
        {
            var handed = c.PointsArguments.Select(a => a switch { FigureArgument f => f.Name, QuantityArgument q => q.Name, _ => "?" }).ToList();
            o.WriteLine($"    cell {c.Info.Index} ({RoleNames.Key(c.Info.Role)}): " +
                        (c.QuotaSlot >= 0 ? $"adds into quota {c.Info.QuotaId} (slot {c.QuotaSlot})" : $"quota {c.Info.QuotaId} not in the manifest") +
                        (c.IsBase ? ", read as a base by a later cell" : "") +
                        (c.Info.BaseCells.Length > 0 ? $", Base = cells {string.Join(" + ", c.Info.BaseCells)}" : "") +
                        (handed.Count > 0 ? $"; its points are handed {string.Join(", ", handed)}" : ""));
        }
        var slots = plan.Figures.Select(x => (x.RowId, x.Windowed, x.Figure.Name)).ToList();
        foreach (var f in row.Figures)
        {
            var from = f.Ref is { } path
                ? $"read by path from {path} (defined at {Place(side, f.ResolvedFrom ?? f.Location)})"
                : $"defined at {Place(side, f.Location)}";
            // A scale has no value nor slot of its own: the compiled class builds it once from its bands' slots.
            var value = f.Bands is { } bands
                ? $"the scale of {string.Join(", ", bands.Select(b => $"({b.UpTo}, {b.Per})"))}"
                : $"{Figure.Show(f.Value, f.Unit, "0.############")}";
            var slot = f.Bands is null ? $"slot {slots.IndexOf((row.Id, false, f.Name))}" : "built from its bands' slots";
            o.WriteLine($"    figure {f.Name} = {value}  \"{f.Citation}\"  {from}; {slot}");
        }
        if (row.Windowed is { } wf)
            foreach (var f in wf.Figures)
                o.WriteLine($"    figure {f.Name} = {Figure.Show(f.Value, f.Unit, "0.############")} for the results dated {wf.From:yyyy-MM-dd}..{wf.To:yyyy-MM-dd}  " +
                            $"({wf.OverlayId}: {wf.Citation}), defined at {Place(side, f.Location)}; slot {slots.IndexOf((row.Id, true, f.Name))}");
    }

    /// <summary>The quantities the texts name, and those they read in turn.</summary>
    private static List<QuantityDefinition> Read(RuleSetDefinition side, List<string> texts)
    {
        var found = new List<QuantityDefinition>();
        var pending = new Queue<string>(texts);
        while (pending.Count > 0)
        {
            var text = pending.Dequeue();
            foreach (var q in side.Quantities)
                if (!found.Contains(q) && RulePlan.Names(text, q.Name))
                {
                    found.Add(q);
                    foreach (var t in q.Terms) pending.Enqueue(t.Expr.Text);
                }
        }
        return found;
    }

    private static string Place(RuleSetDefinition side, SourceLocation at)
    {
        if (at.File.Length == 0) return "?";
        var root = Path.GetDirectoryName(Path.GetFullPath(side.Directory)) ?? "";
        return $"{Path.GetRelativePath(root, Path.GetFullPath(at.File)).Replace('\\', '/')}:{at.Line}";
    }

    private static string Num(decimal d) => d.ToString("0.############", Inv);
}
