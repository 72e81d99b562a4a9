using System.Text;
using System.Text.Json;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Protocol;

/// <summary>
/// A reform sent in a request (<see cref="V1.Reform"/>), read by the rule parser like a reform file: the message's fields
/// are written as the reform's YAML, one value a line, each line remembered with its field's path, so that the parser's,
/// the merger's and the compiler's refusals (each at a line) name the field at fault (<c>reform.changes[1].add.points[0].points</c>);
/// a reform sent as <c>yaml</c> is refused at its line (<c>reform.yaml: line 7: ...</c>). One parser, one set of refusals.
/// </summary>
public sealed class ReformMapper
{
    /// <summary>The name the parser and the compiler give a request's reform in their errors.</summary>
    public const string FileName = "reform";

    private readonly string _path;
    private readonly Dictionary<int, string>? _fields;

    private ReformMapper(ReformDefinition definition, string path, Dictionary<int, string>? fields)
    {
        Definition = definition;
        _path = path;
        _fields = fields;
    }

    /// <summary>The reform as the engine reads it.</summary>
    public ReformDefinition Definition { get; }

    /// <summary>Reads a request's reform; <paramref name="path"/> is its field's path ("reform.", "a.reform.").</summary>
    public static ReformMapper Read(V1.Reform reform, string path)
    {
        var fields = reform.Yaml.Length > 0 ? null : new Dictionary<int, string>();
        if (fields is not null && reform.Id.Length == 0 && reform.Changes.Count == 0)
            throw new InvalidRequestException([new FieldError(path.TrimEnd('.'), "a reform gives its 'yaml', or its id, title and changes")]);
        if (reform.Yaml.Length > 0 && (reform.Id.Length > 0 || reform.Changes.Count > 0 || reform.Title.Length > 0 || reform.Base.Length > 0))
            throw new InvalidRequestException([new FieldError(path + "yaml", "give the reform either as yaml or as fields, not both")]);
        if (reform.Changes.Count > ReformDefinition.MaxChanges)
            throw new InvalidRequestException([new FieldError(path + "changes", $"a reform makes at most {ReformDefinition.MaxChanges} changes, this one {reform.Changes.Count}")]);
        var text = fields is null ? reform.Yaml : Yaml(reform, fields);
        var errors = new List<RuleError>();
        var definition = RuleFileParser.ParseReform(FileName, text, errors);
        var mapper = new ReformMapper(definition!, path, fields);
        if (definition is null || errors.Count > 0) throw mapper.Refused(errors);
        return mapper;
    }

    /// <summary>The rule set with the reform applied (built or taken from the catalog's reforms); refusals name the fields.</summary>
    public CompiledRuleSet Apply(RuleCatalog catalog, CompiledRuleSet law, out ReformSource source)
    {
        try
        {
            return catalog.WithReform(law, Definition, out source);
        }
        catch (RuleLoadException ex)
        {
            throw Refused(ex.Errors);
        }
    }

    /// <summary>The refusal of the request: each error at the field its line was written from (or the YAML's line).</summary>
    private InvalidRequestException Refused(IReadOnlyList<RuleError> errors) =>
        new(errors.Select(e => e.File != FileName ? new FieldError(_path.TrimEnd('.'), e.ToString())
            : _fields is null ? new FieldError(_path + "yaml", $"line {e.Line}{(e.Column > 0 ? ":" + e.Column : "")}: {e.Message}")
            : new FieldError(_path + Field(e.Line), e.Message)).DistinctBy(e => e.ToString()).ToList());

    /// <summary>The field a line of the written YAML came from: the line's own, else the nearest line above with one.</summary>
    private string Field(int line)
    {
        for (var l = line; l > 0; l--)
            if (_fields!.TryGetValue(l, out var f)) return f;
        return "";
    }

    /// <summary>What a reform applied to a rule set is called in answers.</summary>
    public static V1.ReformApplied? Applied(CompiledRuleSet ruleSet, RuleCatalog catalog, ReformSource? source = null) =>
        ruleSet.Definition.Reform is not { } r ? null : new V1.ReformApplied
        {
            Id = r.Id, Title = r.Title, ContentHash = r.ContentHash, FigureOnly = r.FigureOnly,
            Source = source switch
            {
                ReformSource.Refigured => V1.ReformSource.Refigured,
                ReformSource.Compiled => V1.ReformSource.Compiled,
                ReformSource.Cached => V1.ReformSource.Cached,
                _ => V1.ReformSource.Unspecified,
            },
            CompiledReforms = catalog.Reforms.Compiled,
        };

    /// <summary>The reform's fields as its YAML, one value a line, each line's field path in <paramref name="fields"/>.</summary>
    private static string Yaml(V1.Reform reform, Dictionary<int, string> fields)
    {
        var sb = new StringBuilder();
        var line = 0;
        void Line(string text, string field)
        {
            sb.Append(text).Append('\n');
            fields[++line] = field;
        }
        static string Q(string s) => JsonSerializer.Serialize(s);
        Line($"id: {Q(reform.Id)}", "id");
        Line($"title: {Q(reform.Title)}", "title");
        if (reform.Base.Length > 0) Line($"base: {Q(reform.Base)}", "base");
        Line("changes:", "changes");
        for (var i = 0; i < reform.Changes.Count; i++)
        {
            var c = reform.Changes[i];
            var at = $"changes[{i}]";
            switch (c.ChangeCase)
            {
                case V1.ReformChange.ChangeOneofCase.Figure:
                    Line($"  - figure: {Q(c.Figure.Path)}", $"{at}.figure.path");
                    Line($"    value: {Q(c.Figure.Value)}", $"{at}.figure.value");
                    if (c.Figure.From is { } d) Line($"    from: {Q($"{d.Year:D4}-{d.Month:D2}-{d.Day:D2}")}", $"{at}.figure.from");
                    if (c.Figure.Cite.Length > 0) Line($"    cite: {Q(c.Figure.Cite)}", $"{at}.figure.cite");
                    break;
                case V1.ReformChange.ChangeOneofCase.Disable:
                    Line($"  - disable: {Q(c.Disable.RowId)}", $"{at}.disable.row_id");
                    Line($"    cite: {Q(c.Disable.Cite)}", $"{at}.disable.cite");
                    break;
                case V1.ReformChange.ChangeOneofCase.Add:
                {
                    var a = c.Add;
                    Line($"  - add: {Q(a.RowId)}", $"{at}.add.row_id");
                    Line($"    after: {Q(a.After)}", $"{at}.add.after");
                    Line($"    label: {Q(a.Label)}", $"{at}.add.label");
                    Line($"    cite: {Q(a.Cite)}", $"{at}.add.cite");
                    if (a.Quota.Length > 0) Line($"    quota: {Q(a.Quota)}", $"{at}.add.quota");
                    Row(a.When, a.Figures, a.Points, $"{at}.add");
                    break;
                }
                case V1.ReformChange.ChangeOneofCase.Replace:
                {
                    var r = c.Replace;
                    Line($"  - replace: {Q(r.RowId)}", $"{at}.replace.row_id");
                    Line($"    reason: {Q(r.Reason)}", $"{at}.replace.reason");
                    Line($"    cite: {Q(r.Cite)}", $"{at}.replace.cite");
                    Row(r.When, r.Figures, r.Points, $"{at}.replace");
                    break;
                }
                case V1.ReformChange.ChangeOneofCase.List:
                    Line($"  - list: {Q(c.List.List)}", $"{at}.list.list");
                    if (c.List.Remove.Length > 0) Line($"    remove: {Q(c.List.Remove)}", $"{at}.list.remove");
                    if (c.List.Add is { } e)
                    {
                        Line($"    add:", $"{at}.list.add");
                        Line($"      id: {Q(e.Id)}", $"{at}.list.add.id");
                        Line($"      name: {Q(e.Name)}", $"{at}.list.add.name");
                        if (e.Band.Length > 0) Line($"      band: {Q(e.Band)}", $"{at}.list.add.band");
                        Line($"      category: {Q(e.Category)}", $"{at}.list.add.category");
                        if (e.Increment.Length > 0) Line($"      increment: {Q(e.Increment)}", $"{at}.list.add.increment");
                        Line($"      cite: {Q(e.Cite)}", $"{at}.list.add.cite");
                    }
                    break;
                case V1.ReformChange.ChangeOneofCase.Quota:
                    Line($"  - quota: {Q(c.Quota.QuotaId)}", $"{at}.quota.quota_id");
                    Line($"    share: {Q(c.Quota.SharePercent)}", $"{at}.quota.share_percent");
                    break;
                case V1.ReformChange.ChangeOneofCase.Allocation:
                    switch (c.Allocation.ItemCase)
                    {
                        case V1.AllocationChange.ItemOneofCase.WorkCapPercent: Line($"  - work_cap: {Q(c.Allocation.WorkCapPercent)}", $"{at}.allocation.work_cap_percent"); break;
                        case V1.AllocationChange.ItemOneofCase.CompanyCapPercent: Line($"  - company_cap: {Q(c.Allocation.CompanyCapPercent)}", $"{at}.allocation.company_cap_percent"); break;
                        case V1.AllocationChange.ItemOneofCase.ExcessPolicy: Line($"  - excess: {Q(c.Allocation.ExcessPolicy)}", $"{at}.allocation.excess_policy"); break;
                        default: Line("  - {}", $"{at}.allocation"); break;
                    }
                    break;
                default:
                    Line("  - {}", at);
                    break;
            }
        }
        return sb.ToString();

        void Row(string when, IList<V1.NamedFigure> figures, IList<V1.RolePoints> points, string at)
        {
            if (when.Length > 0) Line($"    when: {Q(when)}", $"{at}.when");
            if (figures.Count > 0)
            {
                Line("    figures:", $"{at}.figures");
                for (var k = 0; k < figures.Count; k++)
                {
                    var f = figures[k];
                    var parts = f.Ref.Length > 0 ? $"ref: {Q(f.Ref)}" : $"value: {Q(f.Value)}" + (f.Unit.Length > 0 ? $", unit: {Q(f.Unit)}" : "");
                    Line($"      {Key(f.Name)}: {{ {parts} }}", $"{at}.figures[{k}]");
                }
            }
            Line("    points:", $"{at}.points");
            for (var k = 0; k < points.Count; k++)
            {
                var p = points[k];
                var role = p.Role != V1.Role.Unspecified && Enum.IsDefined(p.Role) ? RoleNames.Key((Engine.Model.Role)(int)p.Role) : p.Role.ToString();
                if (p.When.Length > 0)
                {
                    Line($"      {role}:", $"{at}.points[{k}].role");
                    Line($"        when: {Q(p.When)}", $"{at}.points[{k}].when");
                    Line($"        points: {Q(p.Points)}", $"{at}.points[{k}].points");
                }
                else Line($"      {role}: {Q(p.Points)}", $"{at}.points[{k}].points");
            }
        }

        // A figure's name as a YAML key: a plain name as it is, anything else quoted (the parser refuses it with the name).
        static string Key(string name) => name.Length > 0 && name.All(ch => char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch == '_') ? name : Q(name);
    }
}
