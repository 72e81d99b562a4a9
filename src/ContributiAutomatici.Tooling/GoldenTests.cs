using System.Globalization;
using System.Text;
using System.Text.Json;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using V1 = ContributiAutomatici.Contracts.V1;

using ContributiAutomatici.Protocol;

namespace ContributiAutomatici.Tooling;

/// <summary>What one role must score in a golden case. Points are compared after rounding the computed
/// value to the expected value's decimals (at least 2): write 386.67 for 386.666...</summary>
public sealed record RoleExpectation(
    IReadOnlyDictionary<string, decimal> Rows, IReadOnlyDictionary<string, decimal> Quotas, decimal? Total);

public sealed record GoldenCase(
    string RuleSetId, string File, int Line, string Name, V1.ScoreWorkRequest Request,
    IReadOnlyDictionary<Role, RoleExpectation> Expect, bool Exact)
{
    /// <summary>When given: exactly the rows with no known figure the score needed (the score is incomplete).</summary>
    public IReadOnlyList<string>? Missing { get; init; }

    /// <summary>When given: exactly the rows that scored with a provisional figure.</summary>
    public IReadOnlyList<string>? Provisional { get; init; }

    public override string ToString() => $"{Path.GetFileName(File)}:{Line} {Name}";
}

public sealed record GoldenResult(GoldenCase? Case, IReadOnlyList<string> Failures)
{
    public bool Passed => Failures.Count == 0;
}

/// <summary>
/// Golden tests: YAML files under a rule set's tests/ folder, each case a work (the protobuf JSON
/// mapping of contributi.v1.Work, written as YAML) and the points the decree gives it. Rule authors
/// run them with <c>cli test</c>; xunit runs every case of every rule set.
/// </summary>
public static class GoldenTests
{
    public const string Folder = "tests";

    /// <summary>The keys of the mappings of golden test files: the reader refuses any other key; the schemas under
    /// rules/schema/ declare exactly these (SchemaTests). A case's work and roles are protobuf JSON, checked by its parser.</summary>
    public static class Keys
    {
        public static readonly YamlKeys File = new("file", ["cases"]);

        public static readonly YamlKeys Case = new("case", ["name", "overlays", "work", "roles", "expect", "exact", "missing", "provisional"]);

        public static readonly YamlKeys Expectation = new("expectation", ["rows", "quotas", "total"]);

        public static IReadOnlyList<YamlKeys> All { get; } = [File, Case, Expectation];
    }

    /// <summary>
    /// The golden cases of a rule set. A version's cases score the version alone (its rows, without overlays, unless a
    /// case lists <c>overlays</c>); an overlay's cases score the version it patches with the overlay on (unless a case
    /// lists <c>overlays: []</c>, to pin what the overlay changes).
    /// </summary>
    public static IReadOnlyList<GoldenCase> Load(RuleSetDefinition ruleSet, List<RuleError> errors) =>
        LoadCases(Path.Combine(ruleSet.Directory, Folder), "a golden test file", errors,
            (file, node) => ParseCase(file, node, ruleSet.Overlay?.Patches ?? ruleSet.Id, ruleSet.Overlay is null ? [] : [ruleSet.Id]),
            c => (c.Name, c.File, c.Line));

    /// <summary>Every case of the *.yaml files of a folder (a 'cases' list each); duplicate names are errors.</summary>
    internal static List<T> LoadCases<T>(string dir, string what, List<RuleError> errors, Func<YamlFile, YamlNode, T?> parse,
        Func<T, (string Name, string File, int Line)> key) where T : class
    {
        if (!Directory.Exists(dir)) return [];
        var cases = new List<T>();
        foreach (var path in Directory.GetFiles(dir, "*.yaml").Order(StringComparer.Ordinal))
        {
            var file = new YamlFile(path, errors);
            if (file.Map(YamlFile.Load(path, File.ReadAllText(path), errors), what, Keys.File) is not { } m) continue;
            foreach (var node in file.Seq(m.Node_("cases"), "cases"))
                if (parse(file, node) is { } c) cases.Add(c);
            m.Done(what);
        }
        foreach (var dup in cases.Select(key).GroupBy(c => c.Name).Where(g => g.Count() > 1))
            errors.Add(new RuleError(dup.Last().File, dup.Last().Line, $"duplicate case name '{dup.Key}'"));
        return cases;
    }

    private static GoldenCase? ParseCase(YamlFile file, YamlNode node, string ruleSetId, IReadOnlyList<string> overlays)
    {
        if (file.Map(node, "a case", Keys.Case) is not { } c) return null;
        var before = file.ErrorCount;
        var name = c.Str("name", required: true) ?? "";
        var request = new V1.ScoreWorkRequest { RuleSetId = ruleSetId, IncludeNotApplied = false, WithoutOverlays = { "*" } };
        request.WithOverlays.AddRange(c.Node_("overlays") is { } on ? c.StrList("overlays") : overlays);
        if (c.Node_("work") is { } wn)
        {
            if (Message<V1.Work>(file, wn, $"case '{name}': work") is { } work) request.Work = work;
        }
        else file.Error(node, $"case '{name}' has no work");

        var expect = new Dictionary<Role, RoleExpectation>();
        if (file.Mapping(c.Node_("expect"), "expect") is { } em)
        {
            foreach (var (k, v) in em.Children)
            {
                var key = ((YamlScalarNode)k).Value ?? "";
                if (!RoleNames.ByKey.TryGetValue(key, out var role))
                {
                    file.Error(k, RuleFileParser.Keys.UnknownRole(key));
                    continue;
                }
                if (file.Map(v, $"expectations of {key}", Keys.Expectation) is not { } rm) continue;
                var e = new RoleExpectation(Numbers(file, rm.Node_("rows")), Numbers(file, rm.Node_("quotas")), rm.Dec("total"));
                rm.Done($"expectations of {key}");
                expect[role] = e;
            }
        }
        else file.Error(node, $"case '{name}' has no expect");

        if (c.Node_("roles") is YamlSequenceNode rs)
        {
            foreach (var rn in rs.Children)
                if (Message<V1.RoleInput>(file, rn, $"case '{name}': a role") is { } input) request.Roles.Add(input);
        }
        else
            foreach (var role in expect.Keys) request.Roles.Add(new V1.RoleInput { Role = (V1.Role)(int)role });
        var exact = c.Str("exact") is not "false";
        var missing = c.Node_("missing") is null ? null : c.StrList("missing");
        var provisional = c.Node_("provisional") is null ? null : c.StrList("provisional");
        c.Done($"case '{name}'");
        return file.ErrorCount > before ? null
            : new GoldenCase(ruleSetId, file.Path, (int)node.Start.Line, name, request, expect, exact) { Missing = missing, Provisional = provisional };
    }

    internal static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    /// <summary>A contract message written as YAML (the protobuf JSON mapping). An unknown field is reported at its line and
    /// column with the nearest field of its message; any other mistake in the protobuf parser's words.</summary>
    internal static T? Message<T>(YamlFile file, YamlNode node, string what) where T : class, IMessage<T>, new()
    {
        var descriptor = new T().Descriptor;
        if (!KnownFields(file, node, descriptor)) return null;
        try { return Parser.Parse<T>(ToJson(node)); }
        catch (InvalidProtocolBufferException ex)
        {
            file.Error(node, $"{what} is not a {descriptor.FullName}: {ex.Message}");
            return null;
        }
    }

    /// <summary>Every key of the YAML is a field (JSON or proto name) of its message, recursively.</summary>
    private static bool KnownFields(YamlFile file, YamlNode node, MessageDescriptor message)
    {
        var ok = true;
        if (node is YamlSequenceNode seq)
            foreach (var item in seq.Children) ok &= KnownFields(file, item, message);
        else if (node is YamlMappingNode map)
            foreach (var (k, v) in map.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? "";
                var fields = message.Fields.InDeclarationOrder();
                if (fields.FirstOrDefault(f => f.JsonName == key || f.Name == key) is not { } field)
                {
                    file.Error(k, $"unknown field '{key}' in {message.FullName}{YamlKeys.Suggestion(key, fields.Select(f => f.JsonName))}");
                    ok = false;
                }
                else if (field.FieldType == FieldType.Message && !field.IsMap) ok &= KnownFields(file, v, field.MessageType);
            }
        return ok;
    }

    private static Dictionary<string, decimal> Numbers(YamlFile file, YamlNode? node)
    {
        var d = new Dictionary<string, decimal>();
        if (file.Mapping(node, "a 'name: points' mapping") is not { } m) return d;
        foreach (var (k, v) in m.Children)
        {
            var text = (v as YamlScalarNode)?.Value;
            if (decimal.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out var x)) d[((YamlScalarNode)k).Value!] = x;
            else file.Error(v, $"'{text}' is not a number");
        }
        return d;
    }

    /// <summary>YAML to JSON for the protobuf parser: true/false stay booleans, every other scalar is a string
    /// (the protobuf JSON mapping accepts strings for numbers and enums).</summary>
    internal static string ToJson(YamlNode node)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) Write(w, node);
        return Encoding.UTF8.GetString(ms.ToArray());

        static void Write(Utf8JsonWriter w, YamlNode n)
        {
            switch (n)
            {
                case YamlMappingNode m:
                    w.WriteStartObject();
                    foreach (var (k, v) in m.Children) { w.WritePropertyName(((YamlScalarNode)k).Value!); Write(w, v); }
                    w.WriteEndObject();
                    break;
                case YamlSequenceNode s:
                    w.WriteStartArray();
                    foreach (var c in s.Children) Write(w, c);
                    w.WriteEndArray();
                    break;
                case YamlScalarNode { Style: ScalarStyle.Plain, Value: "true" or "false" } b:
                    w.WriteBooleanValue(b.Value == "true");
                    break;
                case YamlScalarNode sc:
                    w.WriteStringValue(sc.Value);
                    break;
            }
        }
    }

    public static GoldenResult Run(GoldenCase c, RuleCatalog catalog)
    {
        var failures = new List<string>();
        ScoreResult result;
        try
        {
            var req = RequestMapper.Map(c.Request, catalog);
            result = req.RuleSet.Score(req.Work, req.Roles, req.Options);
        }
        catch (InvalidRequestException ex) { return new GoldenResult(c, [ex.Message]); }
        catch (RuleSetNotFoundException ex) { return new GoldenResult(c, [ex.Message]); }
        catch (RuleEvaluationException ex) { return new GoldenResult(c, [ex.Message]); }

        Same("missing rows (incomplete score)", c.Missing, result.Roles.SelectMany(r => r.MissingRows));
        Same("provisional rows", c.Provisional, result.Roles.SelectMany(r => r.ProvisionalRows));
        foreach (var (role, e) in c.Expect)
        {
            var key = RoleNames.Key(role);
            if (result.For(role) is not { } rs)
            {
                failures.Add($"{key}: expected, but not among the case's roles");
                continue;
            }
            var lines = rs.Quotas.SelectMany(q => q.Lines).ToDictionary(l => l.RowId, l => l.Points);
            foreach (var (row, want) in e.Rows)
                Compare($"{key} {row}", lines.GetValueOrDefault(row), want, failures);
            if (c.Exact && e.Rows.Count > 0)
                foreach (var (row, got) in lines)
                    if (!e.Rows.ContainsKey(row))
                        failures.Add($"{key} {row}: scored {GoldenNumbers.Format(got)} but the case does not expect it");
            var quotas = rs.Quotas.ToDictionary(q => q.QuotaId, q => q.Points);
            foreach (var (quota, want) in e.Quotas)
                Compare($"{key} quota {quota}", quotas.GetValueOrDefault(quota), want, failures);
            if (e.Total is { } t) Compare($"{key} total", rs.TotalPoints, t, failures);
        }
        return new GoldenResult(c, failures);

        void Same(string what, IReadOnlyList<string>? want, IEnumerable<string> got)
        {
            if (want is null) return;
            var g = got.Distinct().Order(StringComparer.Ordinal).ToList();
            var w = want.Distinct().Order(StringComparer.Ordinal).ToList();
            if (!g.SequenceEqual(w)) failures.Add($"{what}: expected [{string.Join(", ", w)}], got [{string.Join(", ", g)}]");
        }
    }

    private static void Compare(string what, decimal got, decimal want, List<string> failures)
    {
        if (!GoldenNumbers.Match(got, want)) failures.Add($"{what}: {GoldenNumbers.ExpectedGot(want, got)}");
    }
}
