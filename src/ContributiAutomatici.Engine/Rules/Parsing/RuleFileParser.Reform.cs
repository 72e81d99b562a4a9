using YamlDotNet.RepresentationModel;

namespace ContributiAutomatici.Engine.Rules;

public static partial class RuleFileParser
{
    /// <summary>The keys of a reform's YAML (rules/schema/reform.schema.json declares exactly these).</summary>
    public static class ReformKeys
    {
        public static readonly YamlKeys Reform = new("reform", ["id", "title", "base", "changes"]);

        /// <summary>A figure set to a value, by its path, optionally from a date.</summary>
        public static readonly YamlKeys Figure = new("figureChange", ["figure", "value", "from", "cite"]);

        /// <summary>A list entry added (a list entry's fields under 'add') or removed (its id).</summary>
        public static readonly YamlKeys List = new("listChange", ["list", "add", "remove"]);

        /// <summary>A quota's share of its parent.</summary>
        public static readonly YamlKeys Quota = new("quotaChange", ["quota", "share"]);

        /// <summary>An allocation cap or policy.</summary>
        public static readonly YamlKeys Allocation = new("allocationChange", ["work_cap", "company_cap", "excess"]);

        public static IReadOnlyList<YamlKeys> All { get; } = [Reform, Figure, List, Quota, Allocation];
    }

    private static readonly System.Text.RegularExpressions.Regex ReformId = new("^[a-z0-9][a-z0-9._-]{0,63}$");

    /// <summary>
    /// Parses a reform written as YAML (<paramref name="file"/> names it in errors: the file, or "reform" for one sent in a
    /// request). Every problem goes to <paramref name="errors"/> with its line; null when there is one. What it names (rows,
    /// figures, quotas) is checked when it is applied to a rule set (<see cref="ReformMerger"/>).
    /// </summary>
    public static ReformDefinition? ParseReform(string file, string text, List<RuleError> errors)
    {
        var first = errors.Count;
        if (text.Length > ReformDefinition.MaxLength)
        {
            errors.Add(new RuleError(file, 1, $"a reform is at most {ReformDefinition.MaxLength / 1024} KiB of YAML, this one is {text.Length / 1024} KiB"));
            return null;
        }
        var yf = new YamlFile(file, errors);
        if (yf.Map(YamlFile.Load(file, text, errors), "a reform", ReformKeys.Reform) is not { } m) return null;
        var id = m.Str("id", required: true) ?? "";
        if (id.Length > 0 && (!ReformId.IsMatch(id) || id.Contains("..", StringComparison.Ordinal)))
            yf.Error(m.Node_("id")!, $"a reform's id is lowercase letters, digits, '.', '_' or '-' (at most 64), got '{(id.Length > 80 ? id[..80] + "…" : id)}'");
        var title = m.Str("title", required: true) ?? "";
        var baseSelector = m.Str("base");
        var changes = new List<ReformChange>();
        var nodes = yf.Seq(m.Node_("changes"), "changes").ToList();
        if (m.Node_("changes") is null) yf.Error(m.Node, "missing required field 'changes'");
        if (nodes.Count > ReformDefinition.MaxChanges)
            yf.Error(m.Node_("changes")!, $"a reform makes at most {ReformDefinition.MaxChanges} changes, this one {nodes.Count}");
        else
            foreach (var node in nodes)
                if (ParseReformChange(yf, node) is { } c) changes.Add(c);
        m.Done("a reform");
        if (errors.Count > first) return null;
        return new ReformDefinition(id, title, baseSelector, changes, Sha256.HexOf(text.ReplaceLineEndings("\n")), file);
    }

    private static readonly string[] ChangeKinds = ["figure", "disable", "add", "replace", "list", "quota", "work_cap", "company_cap", "excess"];

    private static ReformChange? ParseReformChange(YamlFile yf, YamlNode node)
    {
        if (yf.Mapping(node, "a change") is not { } mapping) return null;
        var keys = mapping.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value ?? "").ToList();
        var kind = keys.FirstOrDefault(ChangeKinds.Contains);
        var at = yf.At(node);
        switch (kind)
        {
            case "figure":
            {
                var f = new YamlMap(yf, mapping, ReformKeys.Figure);
                var path = f.Str("figure", required: true) ?? "";
                var value = f.Str("value", required: true);
                var from = f.Date("from");
                var cite = f.Str("cite") ?? "";
                f.Done($"the change of figure {path}");
                if (value is null) return null;
                if (!decimal.TryParse(value, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var v))
                {
                    yf.Error(f.Node_("value")!, $"figure {path} must be a number, got '{value}'" +
                        (ItalianThousands.IsMatch(value) ? $": did you mean {ItalianNumber(value)}?" : ""));
                    return null;
                }
                // The figure's unit is the rule set's: a EUR figure written the Italian way ('4.000') is caught when applied.
                return new FigureChange(path, v, from, cite, at) { Text = value };
            }
            case "disable" or "add" or "replace":
            {
                var pm = new YamlMap(yf, mapping, Keys.RowPatch);
                if (!ParseRowChange(yf, pm, [], out var patch))
                {
                    yf.Error(node, "a row change is 'add: ROW' (after a row), 'replace: ROW' (with a reason) or 'disable: ROW'");
                    return null;
                }
                return patch is null ? null : new RowChange(patch, at);
            }
            case "list":
            {
                var l = new YamlMap(yf, mapping, ReformKeys.List);
                var listKind = l.Str("list", required: true) ?? "";
                if (!ListKinds.Contains(listKind))
                    yf.Error(l.Node_("list")!, $"list must be one of {string.Join(", ", ListKinds)}, got '{listKind}'{YamlKeys.Suggestion(listKind, ListKinds)}");
                var remove = l.Str("remove");
                var add = l.Node_("add");
                ListEntry? entry = null;
                if ((remove is null) == (add is null)) yf.Error(node, $"a change of list {listKind} either adds an entry ('add: {{ id: ..., name: ..., category: ..., cite: ... }}') or removes one ('remove: ID')");
                else if (add is not null) entry = ParseListEntry(yf, add, listKind);
                l.Done($"the change of list {listKind}");
                return remove is not null || entry is not null ? new ListChange(listKind, entry, remove, at) : null;
            }
            case "quota":
            {
                var q = new YamlMap(yf, mapping, ReformKeys.Quota);
                var quota = q.Str("quota", required: true) ?? "";
                var share = q.Dec("share", required: true);
                q.Done($"the change of quota {quota}");
                if (share is { } s and (< 0 or > 100)) { yf.Error(q.Node_("share")!, $"quota {quota}: a share is a percent from 0 to 100, got {s}"); return null; }
                return share is { } sh ? new QuotaChange(quota, sh, at) : null;
            }
            case "work_cap" or "company_cap" or "excess":
            {
                var a = new YamlMap(yf, mapping, ReformKeys.Allocation);
                if (kind == "excess")
                {
                    var policy = a.Str("excess", required: true) ?? "";
                    a.Done("the change of the excess policy");
                    if (ExcessPolicies.Contains(policy)) return new AllocationChange(AllocationItem.ExcessPolicy, 0, policy, at);
                    yf.Error(a.Node_("excess")!, $"excess must be one of {string.Join(", ", ExcessPolicies)}, got '{policy}'{YamlKeys.Suggestion(policy, ExcessPolicies)}");
                    return null;
                }
                var percent = a.Dec(kind, required: true);
                a.Done($"the change of {kind}");
                if (percent is { } p and (<= 0 or > 100)) { yf.Error(a.Node_(kind)!, $"{kind} is a percent above 0 and at most 100, got {p}"); return null; }
                return percent is { } pc ? new AllocationChange(kind == "work_cap" ? AllocationItem.WorkCap : AllocationItem.CompanyCap, pc, "", at) : null;
            }
            default:
                yf.Error(node, "a change is one of 'figure: ROW.figure' (with 'value'), 'disable: ROW', 'add: ROW' (with 'after'), " +
                               "'replace: ROW' (with 'reason'), 'list: KIND' (with 'add' or 'remove'), 'quota: ID' (with 'share'), " +
                               "'work_cap: PERCENT', 'company_cap: PERCENT' or 'excess: POLICY'" +
                               (keys.Count > 0 ? $"; got '{keys[0]}'{YamlKeys.Suggestion(keys[0], ChangeKinds)}" : ""));
                return null;
        }
    }
}
