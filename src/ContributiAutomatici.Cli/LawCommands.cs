using System.CommandLine;
using System.Globalization;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Law;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Cli;

/// <summary>
/// <c>show ROWID</c>: a row as the rule files write it, its figures, the overlays that patch it and the decree's words
/// it implements (each paragraph its cite resolves to). <c>figures PATH</c>: one row's figures (or one of them) in every
/// loaded rule set, versions and versions with their overlays.
/// </summary>
internal static partial class LawCommands
{
    /// <summary>Lines of one paragraph (with its parts) printed before "… N more lines".</summary>
    private const int MaxLinesPerAddress = 40;

    public static Command BuildShow(Io io)
    {
        var command = new Command("show", "A row: its label, table and section, quota, roles and their expressions, conditions, figures with units and " +
                                          "citations, the overlays that patch it, and the decree's words it implements (each paragraph its cite resolves to).");
        var row = new Argument<string>("ROWID") { Description = "A row id (T1.A.1, T1.A.1.rapporto; see the rule files)" };
        var ruleSet = new Option<string?>("--rule-set")
        {
            HelpName = "ID",
            Description = "A loaded rule set (dm-2021, dm-2021+covid-19, or covid-19 for its version with it: see 'contributi list') [default: the newest version that has the row]",
        };
        command.Arguments.Add(row);
        command.Options.Add(ruleSet);
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r => source(r).Catalog() is { } catalog ? Show(catalog, r.GetValue(row)!, r.GetValue(ruleSet), io) : Program.InputError);
        return command;
    }

    public static Command BuildFigures(Io io)
    {
        var command = new Command("figures", "A row's figures (ROWID) or one figure (ROWID.name) in every loaded rule set, each version alone and with its " +
                                             "overlays: value, unit, citation and where it is written, and an overlay's value within its window.");
        var path = new Argument<string>("PATH") { Description = "ROWID.figure (T1.A.1.tier_1_eur_per_point) or ROWID (T1.A.1: all its figures)" };
        command.Arguments.Add(path);
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r => source(r).Catalog() is { } catalog ? Figures(catalog, r.GetValue(path)!, io) : Program.InputError);
        return command;
    }

    private static int Show(RuleCatalog catalog, string rowId, string? ruleSetId, Io io)
    {
        CompiledRuleSet? set;
        if (ruleSetId is not null)
        {
            // An overlay's id: its version with it applied.
            set = catalog.Find(ruleSetId) ?? (catalog.Overlays.FirstOrDefault(x => x.Id == ruleSetId) is { } overlay
                ? catalog.Find(overlay.Overlay!.Patches + "+" + overlay.Id) : null);
            if (set is null)
            {
                io.Err.WriteLine("show: " + RuleSource.Unknown(ruleSetId, catalog.RuleSets.Select(r => r.Id)));
                return Program.InputError;
            }
        }
        else
        {
            // The row as its table writes it: the newest version that has it, else a version with overlays (a row an overlay adds).
            set = catalog.Versions.OrderByDescending(v => v.Definition.ApplicationYearFrom).FirstOrDefault(v => FindRow(v.Definition, rowId) is not null)
                  ?? catalog.RuleSets.FirstOrDefault(s => FindRow(s.Definition, rowId) is not null);
        }
        if (set is null || FindRow(set.Definition, rowId) is not var (table, section, row) || row is null)
        {
            io.Err.WriteLine($"show: {NoRow(catalog, rowId, set)}");
            return Program.InputError;
        }
        var d = set.Definition;
        var o = io.Out;
        o.WriteLine($"{row.Id} – {row.Label}");
        o.WriteLine($"  rule set    {d.Id}{(d.AppliedOverlays.Count > 0 ? $" ({d.BaseId} with {string.Join(", ", d.AppliedOverlays)})" : " (the version alone; the overlays that patch the row are below)")}");
        o.WriteLine($"  table       {table.Id} {table.Title}; section {section.Title}");
        o.WriteLine($"  quota       {row.QuotaId}");
        o.WriteLine($"  cite        {row.Citation}");
        o.WriteLine($"  written at  {row.Location}");
        if (row.Provenance != Provenance.Sourced)
            o.WriteLine($"  provenance  {row.Provenance.ToString().ToLowerInvariant()}{(row.Borrows is { } b ? $", borrows {b}" : "")}");
        if (table.Applies is { } applies) o.WriteLine($"  table when  {applies.Text}");
        if (section.When is { } sectionWhen) o.WriteLine($"  section when {sectionWhen.Text}");
        if (row.When is { } when) o.WriteLine($"  when        {when.Text}");
        if (row.Window is { } window) o.WriteLine($"  window      {window.From:yyyy-MM-dd} to {window.To:yyyy-MM-dd} (InWindow)");
        if (row.BasePatterns.Count > 0)
            o.WriteLine($"  base        {string.Join(", ", row.BasePatterns)}{(row.BaseRole is { } br ? $" ({RoleNames.Key(br)})" : "")}");
        o.WriteLine("roles");
        var width = row.Cells.Count == 0 ? 0 : row.Cells.Max(c => RoleNames.Key(c.Role).Length);
        foreach (var cell in row.Cells)
        {
            o.WriteLine($"  {RoleNames.Key(cell.Role).PadRight(width)}  {cell.Points.Text}");
            if (cell.When is { } cw) o.WriteLine($"  {"".PadRight(width)}  when {cw.Text}");
        }
        o.WriteLine("figures");
        if (row.Figures.Count == 0) o.WriteLine("  (none)");
        var nameWidth = row.Figures.Count == 0 ? 0 : row.Figures.Max(f => f.Name.Length);
        foreach (var f in row.Figures)
            o.WriteLine($"  {f.Name.PadRight(nameWidth)}  {Value(f)}{Cite(f.Citation)}  ({Where(f)})");
        if (row.Windowed is { } w)
            foreach (var f in w.Figures)
                o.WriteLine($"  {f.Name.PadRight(nameWidth)}  {Value(f)} from {w.From:yyyy-MM-dd} to {w.To:yyyy-MM-dd} ({w.OverlayId}, {w.Citation}){Cite(f.Citation)}");
        o.WriteLine("overlays");
        var patches = catalog.OverlaysOf(d.BaseId).SelectMany(ov => ov.Overlay!.Rows.Where(p => p.RowId == row.Id).Select(p => (Overlay: ov, Patch: p))).ToList();
        if (patches.Count == 0) o.WriteLine("  (none)");
        foreach (var (ov, p) in patches)
        {
            var applied = d.AppliedOverlays.Contains(ov.Id) ? "applied here" : ov.Overlay!.OnByDefault ? "on by default, not applied here" : "off by default";
            var what = p.Action switch
            {
                PatchAction.Figures => "windowed figures " + string.Join(", ", p.Figures.Select(f => $"{f.Name} = {Value(f)}")),
                PatchAction.Replace => "REPLACES its expressions (" + string.Join(", ", p.Row?.Cells.Select(c => RoleNames.Key(c.Role)) ?? []) + (p.Row?.When is not null ? ", when" : "") +
                             $"): an edit of them in {d.BaseId} is shadowed while it applies; reason: {p.Reason}",
                PatchAction.Add => "adds the row after " + p.After,
                _ => "suspends the row",
            };
            o.WriteLine($"  {ov.Id} ({applied}; window {ov.Overlay!.From:yyyy-MM-dd} to {ov.Overlay.To:yyyy-MM-dd}): {what}; cite \"{p.Citation}\" ({p.Location})");
        }
        // The named quantities the row reads, and what each overlay changes of them (art. 17.1 changes the box office the
        // producer's A.1 reads, not the row).
        var texts = new[] { row.When }.Concat(row.Cells.SelectMany(c => new[] { c.When, c.Points })).OfType<RuleExpression>().Select(e => e.Text).ToList();
        var read = d.Quantities.Where(q => texts.Any(t => RulePlan.Names(t, q.Name))).ToList();
        if (read.Count > 0) o.WriteLine("quantities");
        foreach (var q in read)
        {
            var own = q.Terms.Where(t => t.OverlayId is null).ToList();
            o.WriteLine($"  {q.Name} = {string.Join(" ", own.Select((t, i) => (i == 0 ? (t.Subtract ? "- " : "") : t.Subtract ? "- " : "+ ") + t.Expr.Text))}  ({q.Label}; cite \"{q.Citation}\"; {q.Location})");
            foreach (var ov in catalog.OverlaysOf(d.BaseId))
                foreach (var qp in ov.Overlay!.Quantities.Where(x => x.Name == q.Name))
                {
                    var applied = d.AppliedOverlays.Contains(ov.Id) ? "applied here" : ov.Overlay.OnByDefault ? "on by default, not applied here" : "off by default";
                    o.WriteLine($"    {ov.Id} ({applied}; window {ov.Overlay.From:yyyy-MM-dd} to {ov.Overlay.To:yyyy-MM-dd}): " +
                                $"{qp.Action.ToString().ToLowerInvariant()} {qp.Expr.Text}; cite \"{qp.Citation}\" ({qp.Location})");
                }
        }
        WriteDecree(d.LawText, row.Citation, o);
        return Program.Ok;
    }

    /// <summary>The decree's words a cite resolves to, each address with its paragraph (and the parts under it).</summary>
    private static void WriteDecree(DecreeText? text, string cite, TextWriter o)
    {
        if (text is null)
        {
            o.WriteLine($"decree: no text beside this rule set ({DecreeText.FileName})");
            return;
        }
        o.WriteLine($"decree: DM {text.Decree} – {text.Title} ({text.File})");
        var resolved = text.Resolve(cite, out var problems);
        foreach (var r in resolved)
        {
            if (r.Paragraph is not { } p) continue;
            var dash = p.Heading.IndexOf(" – ", StringComparison.Ordinal);
            o.WriteLine($"  {r.Address}{(dash >= 0 ? p.Heading[dash..] : "")} ({Path.GetFileName(p.File)}:{p.Line})");
            var lines = text.WithParts(p).SelectMany(x => x == p ? Reflow(x.Lines) : [x.Heading, .. Reflow(x.Lines)]).Where(l => l.Length > 0).ToList();
            foreach (var line in lines.Take(MaxLinesPerAddress)) o.WriteLine("    " + line);
            if (lines.Count > MaxLinesPerAddress) o.WriteLine($"    … {lines.Count - MaxLinesPerAddress} more lines ({Path.GetFileName(p.File)}:{p.Line})");
        }
        foreach (var problem in problems) o.WriteLine($"  unresolved: {problem}");
    }

    /// <summary>
    /// A paragraph's lines as a reader wants them: the text's lines (a PDF's, a table's cells cut into words) joined into
    /// one block per item (a new block at each "a)", "1)", "1." and blank line), each block wrapped at 100 columns.
    /// </summary>
    internal static IEnumerable<string> Reflow(IReadOnlyList<string> lines)
    {
        var blocks = new List<string>();
        var current = new System.Text.StringBuilder();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || ItemStart().IsMatch(line))
            {
                if (current.Length > 0) blocks.Add(current.ToString());
                current.Clear();
            }
            if (line.Length == 0) continue;
            if (current.Length > 0) current.Append(' ');
            current.Append(line);
        }
        if (current.Length > 0) blocks.Add(current.ToString());
        foreach (var block in blocks)
        {
            var words = System.Text.RegularExpressions.Regex.Split(block, @"\s+");
            var line = new System.Text.StringBuilder();
            foreach (var word in words)
            {
                if (line.Length > 0 && line.Length + 1 + word.Length > 100)
                {
                    yield return line.ToString();
                    line.Clear();
                }
                if (line.Length > 0) line.Append(' ');
                line.Append(word);
            }
            if (line.Length > 0) yield return line.ToString();
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(?:[a-z]\)|\d+\)|\d+\.)\s")]
    private static partial System.Text.RegularExpressions.Regex ItemStart();

    private static int Figures(RuleCatalog catalog, string path, Io io)
    {
        // A row id holds dots (T1.A.1.rapporto): the whole path is a row when one has it, else ROWID.figure.
        var (rowId, name) = catalog.RuleSets.Any(s => FindRow(s.Definition, path) is not null) ? (path, null)
            : path.LastIndexOf('.') is var dot and > 0 ? (path[..dot], path[(dot + 1)..]) : (path, null);
        var rows = catalog.RuleSets.Select(s => (Set: s.Definition, Row: FindRow(s.Definition, rowId)?.Row)).ToList();
        if (rows.All(r => r.Row is null))
        {
            io.Err.WriteLine($"figures: {NoRow(catalog, rowId, null)}");
            return Program.InputError;
        }
        var names = rows.SelectMany(r => r.Row?.Figures.Select(f => f.Name) ?? []).Distinct(StringComparer.Ordinal).Where(n => name is null || n == name).ToList();
        if (names.Count == 0)
        {
            var known = rows.SelectMany(r => r.Row?.Figures.Select(f => f.Name) ?? []).Distinct(StringComparer.Ordinal).ToList();
            io.Err.WriteLine($"figures: row {rowId} has no figure '{name}' in any loaded rule set" +
                             (known.Count == 0 ? " (it has no figures)" : $" (its figures: {string.Join(", ", known)})"));
            return Program.InputError;
        }
        var o = io.Out;
        var width = rows.Max(r => r.Set.Id.Length);
        foreach (var n in names)
        {
            o.WriteLine($"{rowId}.{n}");
            foreach (var (set, row) in rows)
            {
                var label = "  " + set.Id.PadRight(width) + "  ";
                if (row is null) { o.WriteLine(label + "(no row " + rowId + ")"); continue; }
                if (row.Figures.FirstOrDefault(f => f.Name == n) is not { } f) { o.WriteLine(label + "(the row has no figure " + n + ")"); continue; }
                var notes = new List<string>();
                if (row.Provenance != Provenance.Sourced) notes.Add(row.Provenance.ToString().ToLowerInvariant() + (row.Borrows is { } b ? ", borrows " + b : ""));
                notes.AddRange(row.PatchedBy.Where(x => row.Windowed is null || !x.StartsWith(row.Windowed.OverlayId + ":", StringComparison.Ordinal))
                    .Select(x => "row patched by " + x));
                o.WriteLine($"{label}{Value(f)}{Cite(f.Citation)}  {Holds(set)}  ({Where(f)}){(notes.Count > 0 ? "; " + string.Join("; ", notes) : "")}");
                if (row.Windowed is { } w && w.Figures.FirstOrDefault(x => x.Name == n) is { } wf)
                    o.WriteLine($"  {"".PadRight(width)}  {Value(wf)} from {w.From:yyyy-MM-dd} to {w.To:yyyy-MM-dd} ({w.OverlayId}: {w.Citation}){Cite(wf.Citation)}  ({wf.Location})");
            }
        }
        return Program.Ok;
    }

    private static (TableDefinition Table, SectionDefinition Section, RowDefinition Row)? FindRow(RuleSetDefinition d, string rowId)
    {
        foreach (var t in d.Tables)
            foreach (var s in t.Sections)
                foreach (var r in s.Rows)
                    if (r.Id == rowId) return (t, s, r);
        return null;
    }

    private static string NoRow(RuleCatalog catalog, string rowId, CompiledRuleSet? set)
    {
        var ids = catalog.RuleSets.SelectMany(s => s.Definition.Tables.SelectMany(t => t.Rows).Select(r => r.Id)).Distinct(StringComparer.Ordinal).ToList();
        var near = ids.Where(i => i.StartsWith(rowId, StringComparison.OrdinalIgnoreCase) || rowId.StartsWith(i + ".", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).Take(8).ToList();
        return $"no row '{rowId}' in {(set is null ? "any loaded rule set" : set.Id)} ({string.Join(", ", catalog.RuleSets.Select(r => r.Id))})" +
               (near.Count > 0 ? $"; rows near it: {string.Join(", ", near)}" : "");
    }

    /// <summary>Where a figure is defined: its place, or the path it is read from and the one definition's place.</summary>
    private static string Where(Figure f) => f.Ref is { } path ? $"read from {path}, defined at {f.ResolvedFrom ?? f.Location}" : f.Location.ToString();

    private static string Value(Figure f) => f.Shown;

    /// <summary>The dates a version's figure holds: while the version is in force, for the results of its application years.</summary>
    private static string Holds(RuleSetDefinition set) =>
        $"holds from {set.InForceFrom:yyyy-MM-dd}{(set.InForceTo is { } to ? $" to {to:yyyy-MM-dd}" : "")} " +
        $"(application years {set.ApplicationYearFrom}{(set.ApplicationYearTo is { } y ? $"-{y}" : " on")})";

    private static string Cite(string cite) => cite.Length > 0 ? $"  cite \"{cite}\"" : "  (no cite)";
}
