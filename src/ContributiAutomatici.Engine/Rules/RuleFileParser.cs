using System.Text;
using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Engine.Rules;

/// <summary>
/// Parses one rule-set folder (manifest, tables, lists) into definitions, checking the shape of every
/// file and the references between them. It does not compile expressions: <see cref="RuleCompiler"/> does.
/// </summary>
public static partial class RuleFileParser
{
    public const string ManifestName = "ruleset.yaml";

    /// <summary>Parses the rule set in <paramref name="directory"/>; adds every problem to <paramref name="errors"/>.</summary>
    public static RuleSetDefinition? Parse(string directory, List<RuleError> errors) => Parse(directory, errors, []);

    /// <summary>As <see cref="Parse(string, List{RuleError})"/>; <paramref name="hashed"/> gets the files read (names relative to the folder, texts).</summary>
    internal static RuleSetDefinition? Parse(string directory, List<RuleError> errors, List<(string Name, string Text)> hashed)
    {
        var manifestPath = Path.Combine(directory, ManifestName);
        var firstError = errors.Count;
        if (!File.Exists(manifestPath))
        {
            errors.Add(new RuleError(manifestPath, 1, "rule set folder has no ruleset.yaml manifest"));
            return null;
        }

        string Read(string path)
        {
            if (new FileInfo(path).Length > YamlFile.MaxFileLength)
            {
                errors.Add(new RuleError(path, 1, $"a rule file is at most {YamlFile.MaxFileLength / 1024 / 1024} MiB"));
                return "";
            }
            var text = File.ReadAllText(path);
            hashed.Add((Path.GetRelativePath(directory, path).Replace('\\', '/'), text));
            return text;
        }

        var yf = new YamlFile(manifestPath, errors);
        var root = YamlFile.Load(manifestPath, Read(manifestPath), errors);
        var m = yf.Map(root, "the manifest", Keys.Manifest);
        if (m is null) return null;

        var id = m.Str("id", required: true) ?? "";
        // The id names the compiled assembly and its cache file: a plain name, never a path.
        if (id.Length > 0 && !System.Text.RegularExpressions.Regex.IsMatch(id, "^[a-z0-9][a-z0-9._-]{0,63}$") || id.Contains(".."))
            yf.Error(m.Node_("id")!, $"id must be lowercase letters, digits, '.', '_' or '-' (at most 64), got '{(id.Length > 80 ? id[..80] + "…" : id)}'");
        var title = m.Str("title", required: true) ?? "";
        var decree = m.Str("decree") ?? "";
        var kind = m.Str("kind") ?? "version";
        if (kind is not ("version" or "overlay")) yf.Error(m.Node_("kind")!, $"kind must be 'version' or 'overlay', got '{kind}'{YamlKeys.Suggestion(kind, ["version", "overlay"])}");
        var patches = m.Str("patches");
        DateOnly from = default; DateOnly? to = null;
        if (yf.Map(m.Node_("in_force"), "in_force", Keys.Range) is { } f)
        {
            from = f.Date("from", required: true) ?? default;
            to = f.Date("to");
            f.Done("in_force");
        }
        else yf.Error(m.Node, "missing required field 'in_force'");
        int yearFrom = 0; int? yearTo = null;
        if (yf.Map(m.Node_("application_years"), "application_years", Keys.Range) is { } y)
        {
            yearFrom = y.Int("from", required: true) ?? 0;
            yearTo = y.Int("to");
            y.Done("application_years");
            if (yearTo < yearFrom) yf.Error(m.Node_("application_years")!, $"application_years: 'to' ({yearTo}) is before 'from' ({yearFrom})");
        }
        else if (kind == "version") yf.Error(m.Node, "missing required field 'application_years'");
        var supersedes = m.Str("supersedes");

        var admissibleFrom = m.Date("admissible_results_from");
        var admissibleCite = m.Str("admissible_results_cite") ?? "";
        var quotas = new List<QuotaDefinition>();
        foreach (var qn in yf.Seq(m.Node_("quotas"), "quotas")) ParseQuota(yf, qn, null, quotas);

        var policies = new Dictionary<string, string>();
        if (yf.Mapping(m.Node_("policies"), "policies") is { } pm)
        {
            foreach (var (k, v) in pm.Children)
                if (k is YamlDotNet.RepresentationModel.YamlScalarNode ks && v is YamlDotNet.RepresentationModel.YamlScalarNode vs)
                    policies[ks.Value!] = vs.Value ?? "";
                else yf.Error(k, "a policy is a 'name: value' line");
        }

        var lists = new List<ListDefinition>();
        foreach (var name in m.StrList("lists"))
        {
            if (!PlainFileName(yf, m, "lists", name)) continue;
            var path = Path.Combine(directory, name);
            if (!File.Exists(path)) { yf.Error(m.Node_("lists")!, $"list file '{name}' does not exist"); continue; }
            if (ParseList(path, Read(path), errors) is { } l) lists.Add(l);
        }
        foreach (var dup in lists.GroupBy(l => l.Kind).Where(g => g.Count() > 1))
            errors.Add(new RuleError(dup.Last().File, 1, $"list kind '{dup.Key}' is defined twice"));

        var tables = new List<TableDefinition>();
        var quotaIds = quotas.Select(q => q.Id).ToHashSet();
        foreach (var name in m.StrList("tables"))
        {
            if (!PlainFileName(yf, m, "tables", name)) continue;
            var path = Path.Combine(directory, name);
            if (!File.Exists(path)) { yf.Error(m.Node_("tables")!, $"table file '{name}' does not exist"); continue; }
            if (ParseTable(path, Read(path), quotaIds, errors) is { } t) tables.Add(t);
        }
        var allocation = yf.Map(m.Node_("allocation"), "allocation", Keys.Allocation) is { } am ? ParseAllocation(yf, am, policies) : null;
        OverlayDefinition? overlay = null;
        if (kind == "overlay") overlay = ParseOverlay(yf, m, patches, quotaIds);
        else if (patches is not null) yf.Error(m.Node_("patches")!, "only an overlay (kind: overlay) patches another rule set");
        m.Done("the manifest");

        CheckRowReferences(tables, errors);
        if (errors.Count > firstError) return null;

        return new RuleSetDefinition(id, title, decree, kind, patches, from, to, yearFrom, yearTo, quotas, tables, lists,
            policies, directory, ContentHash(hashed), admissibleFrom, admissibleCite, allocation)
        {
            Overlay = overlay,
            Supersedes = supersedes,
            YearsLocation = m.Node_("application_years") is { } yn ? yf.At(yn) : null,
            PatchesLocation = m.Node_("patches") is { } pn ? yf.At(pn) : null,
        };
    }

    /// <summary>A table or list file is a file of the rule set's own folder: a name, never a path elsewhere.</summary>
    private static bool PlainFileName(YamlFile yf, YamlMap m, string key, string name)
    {
        if (name.Length > 0 && Path.GetFileName(name) == name && name != ".." && !name.Contains('\\')) return true;
        yf.Error(m.Node_(key)!, $"'{name}' is not a file name of this rule set's folder (no folders or paths)");
        return false;
    }

    private static string ContentHash(List<(string Name, string Text)> files)
    {
        var names = new string[files.Count];
        var texts = new string[files.Count];
        for (var i = 0; i < files.Count; i++) (names[i], texts[i]) = files[i];
        return ContentHash(names, texts);
    }

    /// <summary>
    /// sha256 over the files' relative names and contents, in name order (the arrays are sorted in place). Plain arrays,
    /// no LINQ over tuples: <see cref="DefinitionCache"/> computes it on a warm start, where every generic instantiation
    /// costs a JIT compilation.
    /// </summary>
    internal static string ContentHash(string[] names, string[] texts)
    {
        Array.Sort(names, texts, StringComparer.Ordinal);
        var sha = new Sha256();
        for (var i = 0; i < names.Length; i++)
        {
            sha.Append(Encoding.UTF8.GetBytes(names[i] + "\n"));
            sha.Append(Encoding.UTF8.GetBytes(texts[i].ReplaceLineEndings("\n")));
            sha.Append([0]);
        }
        return sha.FinishHex();
    }

    private static void ParseQuota(YamlFile yf, YamlDotNet.RepresentationModel.YamlNode node, string? parent, List<QuotaDefinition> quotas)
    {
        if (yf.Map(node, "a quota", Keys.Quota) is not { } q) return;
        var id = q.Str("id", required: true) ?? "";
        if (quotas.Any(x => x.Id == id)) yf.Error(node, $"duplicate quota id '{id}'");
        quotas.Add(new QuotaDefinition(id, q.Str("title", required: true) ?? "", q.Dec("share", required: true) ?? 0,
            parent, q.Bool("reserved"), q.Str("cite", required: true) ?? "", yf.At(node), q.Dec("short_films_limit")));
        var subs = yf.Seq(q.Node_("sub_quotas"), "sub_quotas").ToList();
        foreach (var s in subs) ParseQuota(yf, s, id, quotas);
        if (subs.Count > 0)
        {
            var sum = quotas.Where(x => x.ParentId == id).Sum(x => x.SharePercent);
            if (sum != 100) yf.Error(node, $"the sub-quotas of '{id}' add up to {sum}%, not 100%");
        }
        q.Done("a quota");
    }

    /// <summary>The kinds of list files (Tabelle 6, 7, 8).</summary>
    public static readonly IReadOnlySet<string> ListKinds = new HashSet<string> { "festivals", "prizes", "markets" };

    private static ListDefinition? ParseList(string path, string text, List<RuleError> errors)
    {
        var yf = new YamlFile(path, errors);
        if (yf.Map(YamlFile.Load(path, text, errors), "a list file", Keys.List) is not { } m) return null;
        var kind = m.Str("list", required: true) ?? "";
        if (!ListKinds.Contains(kind)) yf.Error(m.Node_("list") ?? m.Node, $"list must be one of {string.Join(", ", ListKinds)}, got '{kind}'{YamlKeys.Suggestion(kind, ListKinds)}");
        var entries = new List<ListEntry>();
        foreach (var en in yf.Seq(m.Node_("entries"), "entries"))
        {
            if (yf.Map(en, "a list entry", Keys.ListEntry) is not { } e) continue;
            var entry = new ListEntry(e.Str("id", required: true) ?? "", e.Str("name", required: true) ?? "", e.Str("band"),
                e.Str("category", required: true) ?? "", e.Dec("increment") ?? 0, e.Str("cite", required: true) ?? "", yf.At(en))
            {
                ForWorks = Facts(yf, e.Node_("for_works")), NotForWorks = Facts(yf, e.Node_("not_for_works")),
            };
            e.Done("a list entry");
            if (kind == "festivals" && entry.Band is not ("A" or "B" or "C")) yf.Error(en, $"festival '{entry.Id}' needs band A, B or C");
            if (entries.Any(x => x.Id == entry.Id && x.Band == entry.Band && x.Category == entry.Category))
                yf.Error(en, $"duplicate entry '{entry.Id}' in band {entry.Band} list {entry.Category}");
            else if (entries.FirstOrDefault(x => x.Id == entry.Id && x.Name != entry.Name) is { } other)
                yf.Error(en, $"id '{entry.Id}' already names '{other.Name}' (line {other.Location.Line}); one id, one festival");
            entries.Add(entry);
        }
        var list = new ListDefinition(kind, m.Str("title", required: true) ?? "", m.Str("cite", required: true) ?? "", path, entries);
        m.Done("a list file");
        return list;
    }

    /// <summary><c>{ documentary: true, short_film: false }</c>: facts of the work a list entry holds for.</summary>
    private static WorkFacts? Facts(YamlFile yf, YamlDotNet.RepresentationModel.YamlNode? node)
    {
        if (yf.Map(node, "work facts", Keys.WorkFacts) is not { } m) return null;
        var facts = new Dictionary<string, bool>();
        foreach (var key in Keys.WorkFacts.Keys)
            if (m.Node_(key) is not null) facts[key] = m.Bool(key);
        m.Done($"work facts (known: {string.Join(", ", Keys.WorkFacts.Keys)})");
        return new WorkFacts(facts);
    }

    private static TableDefinition? ParseTable(string path, string text, HashSet<string> quotaIds, List<RuleError> errors)
    {
        var yf = new YamlFile(path, errors);
        if (yf.Map(YamlFile.Load(path, text, errors), "a table file", Keys.Table) is not { } m) return null;
        var tableId = m.Str("table", required: true) ?? "";
        var title = m.Str("title", required: true) ?? "";
        var cite = m.Str("cite", required: true) ?? "";
        var applies = m.Expr("applies");
        var sections = new List<SectionDefinition>();
        foreach (var sn in yf.Seq(m.Node_("sections"), "sections"))
        {
            if (yf.Map(sn, "a section", Keys.Section) is not { } s) continue;
            var sectionId = s.Str("id", required: true) ?? "";
            var sectionQuota = s.Str("quota");
            var sTitle = s.Str("title", required: true) ?? "";
            var when = s.Expr("when");
            var rows = new List<RowDefinition>();
            foreach (var rn in yf.Seq(s.Node_("rows"), "rows"))
                if (yf.Map(rn, "a row", Keys.Row) is { } rm && ParseRow(yf, rm, tableId, sectionId, sectionQuota, quotaIds) is { } r) rows.Add(r);
            s.Done("a section");
            sections.Add(new SectionDefinition(sectionId, sTitle, when, rows, yf.At(sn)));
        }
        m.Done("a table file");
        return new TableDefinition(tableId, title, cite, applies, sections, path);
    }

    /// <summary>A row of a table, or the row an overlay adds or patches (then <paramref name="finish"/> is false: the caller
    /// reads the patch's other keys and reports the unknown ones).</summary>
    private static RowDefinition? ParseRow(YamlFile yf, YamlMap r, string tableId, string sectionId,
        string? sectionQuota, HashSet<string> quotaIds, bool quotaOptional = false, bool labelOptional = false, string idKey = "id",
        bool finish = true)
    {
        var node = r.Node;
        var id = r.Str(idKey, required: true) ?? "";
        var label = r.Str("label", required: !labelOptional) ?? "";
        var cite = r.Str("cite", required: true) ?? "";
        var quota = r.Str("quota") ?? sectionQuota;
        if (quota is null && !quotaOptional) yf.Error(node, $"row {id} has no quota (set 'quota' on the row or its section)");
        else if (quota is not null && quotaIds.Count > 0 && !quotaIds.Contains(quota)) yf.Error(r.Node_("quota") ?? node, $"row {id}: quota '{quota}' does not exist in the manifest");
        var when = r.Expr("when");
        var basePatterns = r.StrList("base");
        Role? baseRole = null;
        if (r.Str("base_role") is { } br)
        {
            if (RoleNames.ByKey.TryGetValue(br, out var brr)) baseRole = brr;
            else yf.Error(r.Node_("base_role")!, Keys.UnknownRole(br));
        }
        var whole = r.Bool("whole_points");
        var figures = ParseFigures(yf, r.Node_("figures"), id);
        var provenance = Provenance.Sourced;
        if (r.Str("provenance") is { } pv && !Enum.TryParse(pv, ignoreCase: true, out provenance))
            yf.Error(r.Node_("provenance")!, $"row {id}: provenance is sourced, provisional or missing, got '{pv}'{YamlKeys.Suggestion(pv, ["sourced", "provisional", "missing"])}");
        var borrows = r.Str("borrows");
        if (provenance == Provenance.Provisional && borrows is null)
            yf.Error(node, $"row {id} is provisional: say which row's figure it borrows ('borrows: DM 2021 T1.A.1')");

        var cells = new List<CellDefinition>();
        var singleRole = r.Str("role");
        var pointsNode = r.Node_("points");
        if (provenance == Provenance.Missing)
        {
            // A parameter with no known figure: no points; when its conditions hold, the score is incomplete.
            if (pointsNode is not null) yf.Error(pointsNode, $"row {id} is missing (no known figure): it has no 'points'");
            if (singleRole is null || !RoleNames.ByKey.TryGetValue(singleRole, out var mr))
                yf.Error(node, $"row {id} is missing: name its column with 'role: producer' (roles: {string.Join(", ", RoleNames.ByKey.Keys)})");
            else cells.Add(new CellDefinition(mr, null, new RuleExpression("0m", yf.At(node)), yf.At(node)));
        }
        else if (pointsNode is null) yf.Error(node, $"row {id} has no 'points'");
        else if (singleRole is not null)
        {
            if (!RoleNames.ByKey.TryGetValue(singleRole, out var role))
                yf.Error(r.Node_("role")!, Keys.UnknownRole(singleRole));
            else if (r.ExprOf(pointsNode, "points") is { } e) cells.Add(new CellDefinition(role, null, e, yf.At(pointsNode)));
        }
        else if (yf.Mapping(pointsNode, "points (one entry per role column)") is { } pm)
        {
            foreach (var (k, v) in pm.Children)
            {
                var key = (k as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value ?? "";
                if (!RoleNames.ByKey.TryGetValue(key, out var role))
                {
                    yf.Error(k, $"row {id}: {Keys.UnknownRole(key, "role column")}");
                    continue;
                }
                if (v is YamlDotNet.RepresentationModel.YamlMappingNode cm)
                {
                    var cmap = new YamlMap(yf, cm, Keys.Cell);
                    var cw = cmap.Expr("when");
                    var cp = cmap.Expr("points", required: true);
                    cmap.Done($"the {key} column of row {id}");
                    if (cp is not null) cells.Add(new CellDefinition(role, cw, cp, yf.At(v)));
                }
                else if (r.ExprOf(v, $"points of {key}") is { } e) cells.Add(new CellDefinition(role, null, e, yf.At(v)));
            }
        }
        if (finish) r.Done($"row {id}");
        return new RowDefinition(id, label, cite, tableId, sectionId, quota ?? "", when, basePatterns, baseRole, whole, cells, yf.At(node))
        {
            Figures = figures, Provenance = provenance, Borrows = borrows,
        };
    }

    private static readonly System.Text.RegularExpressions.Regex FigureName = new("^[a-z][a-z0-9_]*$");

    /// <summary>A row's <c>figures</c>: <c>name: 5000</c> or <c>name: { value: 5000, unit: EUR, cite: "..." }</c>.</summary>
    private static List<Figure> ParseFigures(YamlFile yf, YamlDotNet.RepresentationModel.YamlNode? node, string rowId)
    {
        var figures = new List<Figure>();
        if (yf.Mapping(node, "figures") is not { } fm) return figures;
        foreach (var (k, v) in fm.Children)
        {
            var name = (k as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value ?? "";
            if (!FigureName.IsMatch(name))
            {
                yf.Error(k, $"row {rowId}: a figure's name is lower case letters, digits and '_' starting with a letter, got '{name}'");
                continue;
            }
            decimal? value;
            string unit = "", cite = "";
            if (v is YamlDotNet.RepresentationModel.YamlMappingNode vm)
            {
                var f = new YamlMap(yf, vm, Keys.Figure);
                value = f.Dec("value", required: true);
                unit = f.Str("unit") ?? "";
                cite = f.Str("cite") ?? "";
                f.Done($"figure {name} of row {rowId}");
            }
            else
            {
                var text = (v as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value;
                value = decimal.TryParse(text, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : null;
                if (value is null) yf.Error(v, $"row {rowId}: figure {name} must be a number, got '{text}'");
            }
            if (figures.Any(f => f.Name == name)) yf.Error(k, $"row {rowId}: figure {name} is given twice");
            else if (value is { } val) figures.Add(new Figure(name, val, unit, cite, yf.At(k)));
        }
        return figures;
    }

    /// <summary>An overlay's manifest: the version it patches, its window, whether it is on by default, its row patches.</summary>
    private static OverlayDefinition? ParseOverlay(YamlFile yf, YamlMap m, string? patches, HashSet<string> quotaIds)
    {
        if (patches is null) yf.Error(m.Node, "an overlay names the version it patches ('patches: dm-2021')");
        DateOnly from = default, to = default;
        if (yf.Map(m.Node_("window"), "window", Keys.Range) is { } w)
        {
            from = w.Date("from", required: true) ?? default;
            to = w.Date("to", required: true) ?? default;
            if (to < from) yf.Error(m.Node_("window")!, $"window: 'to' ({to:yyyy-MM-dd}) is before 'from' ({from:yyyy-MM-dd})");
            w.Done("window");
        }
        else yf.Error(m.Node, "an overlay needs its window of dates ('window: { from: ..., to: ... }')");
        var onByDefault = m.Bool("on_by_default");
        var rows = new List<RowPatch>();
        foreach (var pn in yf.Seq(m.Node_("rows"), "rows"))
        {
            if (yf.Map(pn, "a row patch", Keys.RowPatch) is not { } pm) continue;
            var at = yf.At(pn);
            if (pm.Str("add") is { } addId)
            {
                var after = pm.Str("after", required: true);
                // The added row is read like any row; its table and section are those of the row it follows.
                var row = ParseRow(yf, pm, "", "", null, quotaIds, quotaOptional: true, idKey: "add");
                rows.Add(new RowPatch(addId, "add", row?.Citation ?? "", [], row, after, at));
                continue;
            }
            if (pm.Str("disable") is { } disableId)
            {
                rows.Add(new RowPatch(disableId, "disable", pm.Str("cite", required: true) ?? "", [], null, null, at));
                pm.Done($"the patch disabling {disableId}");
                continue;
            }
            var id = pm.Str("patch");
            if (id is null)
            {
                yf.Error(pn, "a row patch is 'patch: ROW' (figures or expressions), 'add: ROW' or 'disable: ROW'");
                continue;
            }
            var cite = pm.Str("cite", required: true) ?? "";
            var figures = ParseFigures(yf, pm.Node_("figures"), id);
            RowDefinition? replaced = null;
            if (pm.Node_("points") is not null || pm.Node_("when") is not null)
            {
                // New expressions for the row (its columns, or its condition), whole: not windowed.
                replaced = ParseRow(yf, pm, "", "", null, quotaIds, quotaOptional: true, labelOptional: true, idKey: "patch", finish: false);
            }
            if (figures.Count == 0 && replaced is null) yf.Error(pn, $"patch of {id} changes nothing: give 'figures', 'points' or 'when'");
            if (figures.Count > 0 && replaced is not null) yf.Error(pn, $"patch of {id}: give either windowed 'figures' or new expressions, not both");
            pm.Done($"the patch of {id}");
            rows.Add(new RowPatch(id, figures.Count > 0 ? "figures" : "expressions", cite, figures, replaced, null, at));
        }
        return new OverlayDefinition(patches ?? "", onByDefault, from, to, rows);
    }


    /// <summary>Row ids unique in the rule set; 'base' patterns name earlier rows only.</summary>
    private static void CheckRowReferences(List<TableDefinition> tables, List<RuleError> errors)
    {
        var seen = new Dictionary<string, RowDefinition>();
        var earlier = new List<RowDefinition>();
        foreach (var t in tables)
            foreach (var row in t.Rows)
            {
                if (seen.TryGetValue(row.Id, out var first))
                    errors.Add(new RuleError(row.Location.File, row.Location.Line,
                        $"duplicate row id '{row.Id}' (first at {first.Location})"));
                else seen[row.Id] = row;
                foreach (var pattern in row.BasePatterns)
                {
                    var baseRole = row.BaseRole;
                    var matched = earlier.Where(e => Matches(pattern, e.Id)).ToList();
                    if (matched.Count == 0)
                        errors.Add(new RuleError(row.Location.File, row.Location.Line,
                            $"row {row.Id}: base '{pattern}' matches no earlier row (a base names rows above it)"));
                    else if (baseRole is { } br && !matched.Any(x => x.Cells.Any(c => c.Role == br)))
                        errors.Add(new RuleError(row.Location.File, row.Location.Line,
                            $"row {row.Id}: base '{pattern}' has no {RoleNames.Key(br)} column"));
                }
                earlier.Add(row);
            }
    }

    /// <summary>'T1.A.1' matches itself; 'T1.A.*' matches every id starting with 'T1.A.'.</summary>
    public static bool Matches(string pattern, string id) =>
        pattern.EndsWith('*') ? id.StartsWith(pattern[..^1], StringComparison.Ordinal) : id == pattern;
}
