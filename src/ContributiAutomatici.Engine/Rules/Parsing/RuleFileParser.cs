using System.Text;
using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Engine.Rules;

/// <summary>
/// Parses one rule-set folder (manifest, tables, lists) into definitions, checking the shape of every
/// file and the references between them. It does not compile expressions: the compiler (Compiling.RuleCompiler) does.
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
        // The decree's text beside the rules is part of the folder's content: an edit of it invalidates the cached definitions
        // (whose cites were resolved in it) like an edit of a table.
        if (File.Exists(Path.Combine(directory, Law.DecreeText.FileName))) Read(Path.Combine(directory, Law.DecreeText.FileName));
        var m = yf.Map(root, "the manifest", Keys.Manifest);
        if (m is null) return null;

        var id = m.Str("id", required: true) ?? "";
        // The id names the compiled assembly and its cache file: a plain name, never a path.
        if (id.Length > 0 && !System.Text.RegularExpressions.Regex.IsMatch(id, "^[a-z0-9][a-z0-9._-]{0,63}$") || id.Contains(".."))
            yf.Error(m.Node_("id")!, $"id must be lowercase letters, digits, '.', '_' or '-' (at most 64), got '{(id.Length > 80 ? id[..80] + "…" : id)}'");
        var title = m.Str("title", required: true) ?? "";
        var decree = m.Str("decree") ?? "";
        var kindName = m.Str("kind") ?? "version";
        if (kindName is not ("version" or "overlay")) yf.Error(m.Node_("kind")!, $"kind must be 'version' or 'overlay', got '{kindName}'{YamlKeys.Suggestion(kindName, ["version", "overlay"])}");
        var kind = kindName == "overlay" ? RuleSetKind.Overlay : RuleSetKind.Version;
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
        else if (kind == RuleSetKind.Version) yf.Error(m.Node, "missing required field 'application_years'");
        var supersedes = m.Str("supersedes");

        var admissibleFrom = m.Date("admissible_results_from");
        var admissibleCite = m.Str("admissible_results_cite") ?? "";
        var quotas = new List<QuotaDefinition>();
        foreach (var qn in yf.Seq(m.Node_("quotas"), "quotas")) ParseQuota(yf, qn, null, quotas);

        var quantityPatches = ParseQuantities(yf, m.Node_("quantities"), overlay: kind == RuleSetKind.Overlay);

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
        if (allocation?.Coproduction?.Categories is { } cc)
            foreach (var kind_ in new[] { cc.Agreements, cc.Conventions })
                if (!lists.Any(l => l.Kind == kind_ && StateListKinds.Contains(kind_)))
                    yf.Error(m.Node_("allocation")!, $"allocation.works.coproduction.categories names the list '{kind_}', which is not one of this rule set's lists of States");
        OverlayDefinition? overlay = null;
        if (kind == RuleSetKind.Overlay) overlay = ParseOverlay(yf, m, patches, quotaIds) is { } o ? o with { Quantities = quantityPatches } : null;
        else if (patches is not null) yf.Error(m.Node_("patches")!, "only an overlay (kind: overlay) patches another rule set");
        m.Done("the manifest");

        CheckRowReferences(tables, errors);
        var quantities = kind == RuleSetKind.Overlay ? [] : quantityPatches
            .Select(q => new QuantityDefinition(q.Name, q.Label, q.Citation, [new QuantityTerm(q.Expr, false, null, null, q.Citation)], q.Location)).ToList();
        CheckNames(tables, quantities, errors);
        if (errors.Count > firstError) return null;

        return new RuleSetDefinition(id, title, decree, kind, patches, from, to, yearFrom, yearTo, quotas, tables, lists,
            policies, directory, ContentHash(hashed), admissibleFrom, admissibleCite, allocation)
        {
            Overlay = overlay,
            Supersedes = supersedes,
            Quantities = quantities,
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

    /// <summary>
    /// The kinds of list files: Tabelle 6, 7, 8, and the dated lists of States (art. 2.f-h: co-production agreements and the
    /// parties to the Council of Europe's conventions; art. 15.2: the OECD DAC list of ODA recipients).
    /// </summary>
    public static readonly IReadOnlySet<string> ListKinds = new HashSet<string>
    {
        "festivals", "prizes", "markets", "coproduction_agreements", "coproduction_conventions", "oda_recipients",
    };

    /// <summary>The list kinds whose entries are States: the id is the ISO 3166-1 alpha-2 code, the entry dated.</summary>
    public static readonly IReadOnlySet<string> StateListKinds = new HashSet<string> { "coproduction_agreements", "coproduction_conventions", "oda_recipients" };

    /// <summary>One list file on its own (a golden case's test list); null with its errors in <paramref name="errors"/>.</summary>
    public static ListDefinition? ParseListFile(string path, List<RuleError> errors) =>
        File.Exists(path) ? ParseList(path, File.ReadAllText(path), errors) : Fail(path, errors);

    private static ListDefinition? Fail(string path, List<RuleError> errors)
    {
        errors.Add(new RuleError(path, 1, "list file does not exist"));
        return null;
    }

    private static ListDefinition? ParseList(string path, string text, List<RuleError> errors)
    {
        var yf = new YamlFile(path, errors);
        if (yf.Map(YamlFile.Load(path, text, errors), "a list file", Keys.List) is not { } m) return null;
        var kind = m.Str("list", required: true) ?? "";
        if (!ListKinds.Contains(kind)) yf.Error(m.Node_("list") ?? m.Node, $"list must be one of {string.Join(", ", ListKinds)}, got '{kind}'{YamlKeys.Suggestion(kind, ListKinds)}");
        var entries = new List<ListEntry>();
        foreach (var en in yf.Seq(m.Node_("entries"), "entries"))
        {
            if (ParseListEntry(yf, en, kind) is not { } entry) continue;
            if (entries.Any(x => x.Id == entry.Id && x.Band == entry.Band && x.Category == entry.Category))
                yf.Error(en, $"duplicate entry '{entry.Id}' in {(entry.Band is null ? "" : $"band {entry.Band} ")}list {entry.Category}");
            else if (entries.FirstOrDefault(x => x.Id == entry.Id && x.Name != entry.Name) is { } other)
                yf.Error(en, $"id '{entry.Id}' already names '{other.Name}' (line {other.Location.Line}); one id, one festival");
            entries.Add(entry);
        }
        var borrows = m.Str("borrows");
        if (borrows is not null && !System.Text.RegularExpressions.Regex.IsMatch(borrows, "^[a-z0-9][a-z0-9._-]*/[a-z_]+$"))
            yf.Error(m.Node_("borrows")!, $"borrows names another version's list as RULESET/KIND (dm-2021/{kind}), got '{borrows}'");
        var removes = m.StrList("remove");
        if (removes.Count > 0 && borrows is null) yf.Error(m.Node_("remove")!, "'remove' takes entries out of a borrowed list: say which with 'borrows'");
        var list = new ListDefinition(kind, m.Str("title", required: true) ?? "", m.Str("cite", required: true) ?? "", path, entries)
        {
            Borrows = borrows, Removes = removes, BorrowsLocation = m.Node_("borrows") is { } bn ? yf.At(bn) : null,
            Groups = ParseGroups(yf, m.Node_("groups")),
        };
        m.Done("a list file");
        if (borrows is null) CheckGroups(list, errors);
        return list;
    }

    /// <summary>
    /// <c>groups: { premi_miglior_film: { label, cite, ids: [david-di-donatello, ...] } }</c>: named groups of the list's ids. A
    /// group's ids may name a group defined above it, which stands for its ids.
    /// </summary>
    private static List<ListGroup> ParseGroups(YamlFile yf, YamlDotNet.RepresentationModel.YamlNode? node)
    {
        var groups = new List<ListGroup>();
        if (node is null || yf.Mapping(node, "groups") is not { } map) return groups;
        foreach (var (key, value) in map.Children)
        {
            var name = (key as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value ?? "";
            if (!System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-z][a-z0-9_]*$"))
                yf.Error(key, $"a group's name is lower case letters, digits and '_' (premi_miglior_film), got '{name}'");
            if (groups.Any(g => g.Name == name)) yf.Error(key, $"group '{name}' is defined twice in this list; a group is defined once");
            if (yf.Map(value, "a list group", Keys.ListGroup) is not { } g) continue;
            var ids = new List<string>();
            foreach (var id in g.StrList("ids"))
                if (groups.FirstOrDefault(x => x.Name == id) is { } inner) ids.AddRange(inner.Ids.Where(x => !ids.Contains(x)));
                else if (!ids.Contains(id)) ids.Add(id);
            if (ids.Count == 0) yf.Error(value, $"group '{name}' names no ids: say them with 'ids: [...]'");
            groups.Add(new ListGroup(name, g.Str("label") ?? "", g.Str("cite", required: true) ?? "", ids, yf.At(key)));
            g.Done("a list group");
        }
        return groups;
    }

    /// <summary>A group names ids the list has, and no group is named as an entry is (a name in a rule means one thing).</summary>
    internal static void CheckGroups(ListDefinition list, List<RuleError> errors)
    {
        var ids = list.Entries.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var g in list.Groups)
        {
            if (ids.Contains(g.Name))
                errors.Add(new RuleError(g.Location.File, g.Location.Line, $"group '{g.Name}' has the name of an entry of the {list.Kind} list; name it otherwise", g.Location.Column));
            foreach (var id in g.Ids.Where(id => !ids.Contains(id)))
                errors.Add(new RuleError(g.Location.File, g.Location.Line,
                    $"group '{g.Name}' names '{id}', which the {list.Kind} list does not list{YamlKeys.Suggestion(id, ids)}", g.Location.Column));
        }
    }

    /// <summary>One entry of a list of <paramref name="kind"/> (a list file's, or one a reform adds).</summary>
    private static ListEntry? ParseListEntry(YamlFile yf, YamlDotNet.RepresentationModel.YamlNode en, string kind)
    {
        if (yf.Map(en, "a list entry", Keys.ListEntry) is not { } e) return null;
        var entry = new ListEntry(e.Str("id", required: true) ?? "", e.Str("name", required: true) ?? "", e.Str("band"),
            e.Str("category", required: true) ?? "", e.Dec("increment") ?? 0, e.Str("cite", required: true) ?? "", yf.At(en))
        {
            ForWorks = Facts(yf, e.Node_("for_works")), NotForWorks = Facts(yf, e.Node_("not_for_works")),
            InForceFrom = e.Date("in_force_from"), Note = e.Str("note"),
        };
        e.Done("a list entry");
        if (kind == "festivals" && entry.Band is not ("A" or "B" or "C")) yf.Error(en, $"festival '{entry.Id}' needs band A, B or C");
        if (StateListKinds.Contains(kind))
        {
            if (entry.Id.Length != 2 || !char.IsAsciiLetterUpper(entry.Id[0]) || !char.IsAsciiLetterUpper(entry.Id[1]))
                yf.Error(en, $"the id of a State is its ISO 3166-1 alpha-2 code (\"KR\"), got '{entry.Id}'");
            // Listed without a date: not in force. The note says why (an agreement being prepared, a date not verified).
            if (entry.InForceFrom is null && string.IsNullOrWhiteSpace(entry.Note))
                yf.Error(en, $"'{entry.Id}' has no in_force_from: say in a note why (being prepared, date not verified)");
        }
        else if (entry.InForceFrom is not null) yf.Error(en, $"in_force_from dates the entries of {string.Join(", ", StateListKinds)} only");
        return entry;
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
        var figures = ParseFigures(yf, r.Node_("figures"), id, cite);
        var provenance = Provenance.Sourced;
        if (r.Str("provenance") is { } pv && !Enum.TryParse(pv, ignoreCase: true, out provenance))
            yf.Error(r.Node_("provenance")!, $"row {id}: provenance is sourced, provisional or missing, got '{pv}'{YamlKeys.Suggestion(pv, ["sourced", "provisional", "missing"])}");
        var borrows = r.Str("borrows");
        if (provenance == Provenance.Provisional && borrows is null)
            yf.Error(node, $"row {id} is provisional: say which row's figure it borrows ('borrows: dm-2021/T1.A.1')");

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

    /// <summary>
    /// A row's <c>figures</c>: <c>name: 5000</c>, <c>name: { value: 5000, unit: EUR, cite: "..." }</c>, or a reference to a
    /// figure defined elsewhere, <c>name: { ref: T1.A.1.tier_1_up_to }</c> (another row of the rule set, or of the version an
    /// overlay patches) or <c>{ ref: dm-2021/T1.A.1.tier_1_up_to }</c> (another version): each figure is defined once.
    /// </summary>
    private static List<Figure> ParseFigures(YamlFile yf, YamlDotNet.RepresentationModel.YamlNode? node, string rowId, string rowCite)
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
            string? reference = null;
            if (v is YamlDotNet.RepresentationModel.YamlMappingNode sm && sm.Children.ContainsKey("scale"))
            {
                var f = new YamlMap(yf, sm, Keys.Figure);
                var bands = ParseScale(yf, f.Node_("scale")!, rowId, name);
                cite = f.Str("cite", required: true) ?? "";
                f.Done($"the scale {name} of row {rowId} (a scale has 'scale' and 'cite'; its bands' figures have their values and units)");
                if (figures.Any(x => x.Name == name)) yf.Error(k, $"row {rowId}: figure {name} is defined twice (a figure is defined once)");
                else if (bands is not null) figures.Add(new Figure(name, 0m, "", cite, yf.At(k)) { Bands = bands });
                continue;
            }
            if (v is YamlDotNet.RepresentationModel.YamlMappingNode vm)
            {
                var f = new YamlMap(yf, vm, Keys.Figure);
                reference = f.Str("ref");
                var text = f.Str("value", required: reference is null);
                unit = f.Str("unit") ?? "";
                cite = f.Str("cite") ?? "";
                // '4.000,00' in a flow mapping reads as 'value: 4.000' and a field '00': say what happened, once, not 'unknown field'.
                var split = vm.Children.Keys.OfType<YamlDotNet.RepresentationModel.YamlScalarNode>()
                    .FirstOrDefault(x => x.Value is { Length: > 0 } kv && kv.All(char.IsAsciiDigit));
                value = null;
                if (split is not null)
                    yf.Error(f.Node_("value") ?? split, $"row {rowId}: figure {name}: '{text},{split.Value}' is a number written the Italian way; write it " +
                                    $"with no thousands separator and a dot before the decimals: {ItalianNumber(text + "," + split.Value)}");
                else
                {
                    value = text is null ? null : FigureValue(yf, f.Node_("value")!, rowId, name, text, unit);
                    f.Done($"figure {name} of row {rowId}");
                }
                if (reference is not null && (text is not null || unit.Length > 0 || cite.Length > 0))
                    yf.Error(k, $"row {rowId}: figure {name} refers to {reference}: its value, unit and citation are that figure's, not given again here");
            }
            else
            {
                // The short form (points: 10, producer_points: 100) is a row's points as its column prints them: unit punti,
                // cited by the row's own line. Any other figure says its unit and the decree's words for it.
                var text = (v as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value;
                value = decimal.TryParse(text, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : null;
                if (value is null) yf.Error(v, $"row {rowId}: figure {name} must be a number, got '{text}'");
                else if (name != "points" && !name.EndsWith("_points", StringComparison.Ordinal))
                    yf.Error(k, $"row {rowId}: figure {name}: only points are written as a bare number (points: 10, producer_points: 10); " +
                                $"write {name}: {{ value: {text}, unit: ..., cite: \"...\" }}");
                unit = Figure.Points;
                cite = rowCite;
            }
            if (figures.Any(f => f.Name == name)) yf.Error(k, $"row {rowId}: figure {name} is defined twice (a figure is defined once)");
            else if (reference is not null) figures.Add(new Figure(name, 0m, "", "", yf.At(k)) { Ref = reference });
            else if (value is { } val) figures.Add(new Figure(name, val, unit, cite, yf.At(k)));
        }
        return figures;
    }

    /// <summary><c>scale: [[tier_1_up_to, tier_1_eur_per_point], [tier_2_up_to, tier_2_eur_per_point]]</c>: bands of the row's figures.</summary>
    private static List<(string UpTo, string Per)>? ParseScale(YamlFile yf, YamlDotNet.RepresentationModel.YamlNode node, string rowId, string name)
    {
        var bands = new List<(string, string)>();
        foreach (var band in yf.Seq(node, $"the scale {name}"))
        {
            if (band is YamlDotNet.RepresentationModel.YamlSequenceNode { Children: [YamlDotNet.RepresentationModel.YamlScalarNode { Value: { } upTo },
                    YamlDotNet.RepresentationModel.YamlScalarNode { Value: { } per }] } && FigureName.IsMatch(upTo) && FigureName.IsMatch(per))
                bands.Add((upTo, per));
            else
            {
                yf.Error(band, $"row {rowId}: each band of the scale {name} is a pair of the row's figures, [upper bound, euro per point] " +
                               "([tier_1_up_to, tier_1_eur_per_point])");
                return null;
            }
        }
        if (bands.Count == 0) yf.Error(node, $"row {rowId}: the scale {name} has no bands");
        return bands.Count == 0 ? null : bands;
    }

    private static readonly System.Text.RegularExpressions.Regex EuroText = new(@"^-?\d+(\.\d{1,2})?$");
    private static readonly System.Text.RegularExpressions.Regex ItalianThousands = new(@"^\d{1,3}(\.\d{3})+(,\d+)?$");

    /// <summary>
    /// A figure's value as written. A EUR figure is a whole number of euro or has at most two decimals: '4.000' (four
    /// thousand, as an Italian writes it) would read as 4, and is refused with the number it most likely means.
    /// </summary>
    private static decimal? FigureValue(YamlFile yf, YamlDotNet.RepresentationModel.YamlNode node, string rowId, string name, string text, string unit)
    {
        if (EuroProblem(text, unit) is { } problem)
        {
            yf.Error(node, $"row {rowId}: figure {name} = {problem}");
            return null;
        }
        if (unit == Figure.MonthDay)
        {
            // A day of the year, whatever the year ("06-01": 1 June), held as 601 so that rules compare it as a number.
            if (MonthDayAttribute.Parse(text) is > 0 and var md) return md;
            yf.Error(node, $"row {rowId}: figure {name} = '{text}': a {Figure.MonthDay} figure is a day of the year \"MM-dd\", e.g. \"06-01\"");
            return null;
        }
        if (decimal.TryParse(text, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var d)) return d;
        yf.Error(node, $"row {rowId}: figure {name} must be a number, got '{text}'");
        return null;
    }

    /// <summary>Why a figure's text is not a EUR amount (the text onwards: "4.000 EUR would read as 4 ..."), or null.</summary>
    internal static string? EuroProblem(string text, string unit) =>
        unit != "EUR" || EuroText.IsMatch(text) ? null
        : ItalianThousands.IsMatch(text)
            ? $"{text} EUR would read as {ReadAs(text)} (a dot is a decimal point here, not a thousands separator): did you mean {ItalianNumber(text)}? " +
              "(EUR figures are written without thousands separators, at most two decimals after a dot)"
            : $"{text}: a EUR figure is a whole number of euro or has at most two decimals after a dot";

    private static string ReadAs(string text) =>
        decimal.TryParse(text, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var d)
            ? d.ToString("0.############", System.Globalization.CultureInfo.InvariantCulture) : text;

    /// <summary>An Italian-written number ('4.000', '4.000,50') as the rule files write it ('4000', '4000.50').</summary>
    private static string ItalianNumber(string text) => text.Replace(".", "", StringComparison.Ordinal).Replace(',', '.');

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
            if (ParseRowChange(yf, pm, quotaIds, out var change))
            {
                if (change is not null) rows.Add(change);
                continue;
            }
            var id = pm.Str("patch");
            if (id is null)
            {
                yf.Error(pn, "a row patch is 'patch: ROW' (windowed figures), 'add: ROW', 'replace: ROW' (with a reason) or 'disable: ROW'");
                continue;
            }
            var cite = pm.Str("cite", required: true) ?? "";
            var figures = ParseFigures(yf, pm.Node_("figures"), id, cite);
            if ((pm.Node_("points") ?? pm.Node_("when")) is { } expressions)
                yf.Error(expressions, $"patch of {id} changes its expressions: an overlay changes figures and quantities; " +
                    $"where the row's shape must change, write 'replace: {id}' with a 'reason' (validate lists every replacement)");
            else if (figures.Count == 0) yf.Error(pn, $"patch of {id} changes nothing: give its windowed 'figures'");
            pm.Done($"the patch of {id}");
            rows.Add(new RowPatch(id, PatchAction.Figures, cite, figures, null, null, at));
        }
        return new OverlayDefinition(patches ?? "", onByDefault, from, to, rows);
    }


    /// <summary>
    /// A row patch that adds, disables or replaces a row (an overlay's, or a reform's change): false when the mapping is none of
    /// these (an overlay's 'patch'); <paramref name="change"/> null when it was one of them but refused (its errors reported).
    /// </summary>
    private static bool ParseRowChange(YamlFile yf, YamlMap pm, HashSet<string> quotaIds, out RowPatch? change)
    {
        change = null;
        var at = yf.At(pm.Node);
        if (pm.Str("add") is { } addId)
        {
            var after = pm.Str("after", required: true);
            // The added row is read like any row; its table and section are those of the row it follows.
            var row = ParseRow(yf, pm, "", "", null, quotaIds, quotaOptional: true, idKey: "add");
            change = new RowPatch(addId, PatchAction.Add, row?.Citation ?? "", [], row, after, at);
            return true;
        }
        if (pm.Str("disable") is { } disableId)
        {
            change = new RowPatch(disableId, PatchAction.Disable, pm.Str("cite", required: true) ?? "", [], null, null, at);
            pm.Done($"the patch disabling {disableId}");
            return true;
        }
        if (pm.Str("replace") is { } replaceId)
        {
            // The rare case where a measure changes the shape of a row: its expressions replaced, whole, with the reason
            // why figures and quantities do not suffice. validate prints every replacement: an edit of the version's
            // row there is shadowed while the overlay applies.
            var reason = pm.Str("reason", required: true) ?? "";
            var replacing = ParseRow(yf, pm, "", "", null, quotaIds, quotaOptional: true, labelOptional: true, idKey: "replace", finish: false);
            if (pm.Node_("points") is null && pm.Node_("when") is null) yf.Error(pm.Node, $"replace of {replaceId} changes nothing: give 'points' or 'when'");
            pm.Done($"the replacement of {replaceId}");
            if (replacing is not null) change = new RowPatch(replaceId, PatchAction.Replace, replacing.Citation, [], replacing, null, at) { Reason = reason };
            return true;
        }
        return false;
    }

    private static readonly string[] QuantityForms = ["expr", "plus", "minus"];

    /// <summary>
    /// The manifest's <c>quantities:</c>: for a version, each named with its label, citation and expression; for an overlay,
    /// new ones (expr) or a term added to or subtracted from one of the version's (plus, minus).
    /// </summary>
    private static List<QuantityPatch> ParseQuantities(YamlFile yf, YamlDotNet.RepresentationModel.YamlNode? node, bool overlay)
    {
        var list = new List<QuantityPatch>();
        if (yf.Mapping(node, "quantities") is not { } qm) return list;
        foreach (var (k, v) in qm.Children)
        {
            var name = (k as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value ?? "";
            if (!FigureName.IsMatch(name))
            {
                yf.Error(k, $"a quantity's name is lower case letters, digits and '_' starting with a letter, got '{name}'");
                continue;
            }
            if (yf.Map(v, $"quantity {name}", Keys.Quantity) is not { } q) continue;
            var cite = q.Str("cite", required: true) ?? "";
            var given = QuantityForms.Where(x => q.Node_(x) is not null).ToList();
            if (!overlay && given is not ["expr"])
            {
                yf.Error(given.Count == 0 ? v : q.Node_(given.First(x => x != "expr"))!, given.Count == 0
                    ? $"quantity {name} needs its 'expr'"
                    : $"quantity {name}: 'plus' and 'minus' change a version's quantity from an overlay; a version defines it with 'expr'");
                continue;
            }
            if (given.Count != 1)
            {
                yf.Error(v, $"quantity {name}: give one of 'expr' (a new quantity), 'plus' or 'minus' (a term of the version's)");
                continue;
            }
            var action = given[0] switch { "plus" => QuantityAction.Plus, "minus" => QuantityAction.Minus, _ => QuantityAction.Define };
            var label = q.Str("label", required: action == QuantityAction.Define) ?? "";
            var expr = q.Expr(given[0], required: true);
            q.Done($"quantity {name}");
            if (list.Any(x => x.Name == name)) yf.Error(k, $"quantity {name} is defined twice");
            else if (expr is not null) list.Add(new QuantityPatch(name, action, label, cite, expr, yf.At(k)));
        }
        return list;
    }

    /// <summary>
    /// A figure, a quantity and a row's name never stand for two things: a row's figure named like a quantity would hide it
    /// from that row's expressions.
    /// </summary>
    internal static void CheckNames(IEnumerable<TableDefinition> tables, IReadOnlyList<QuantityDefinition> quantities, List<RuleError> errors)
    {
        var names = quantities.ToDictionary(q => q.Name, q => q.Location);
        foreach (var row in tables.SelectMany(t => t.Rows))
            foreach (var f in row.Figures)
                if (names.TryGetValue(f.Name, out var at))
                    errors.Add(new RuleError(f.Location.File, f.Location.Line,
                        $"row {row.Id}: figure {f.Name} has the name of the quantity defined at {at}: a name is defined once", f.Location.Column));
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
