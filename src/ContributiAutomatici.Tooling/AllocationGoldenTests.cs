using System.Globalization;
using System.Text.Json;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using Google.Protobuf;
using YamlDotNet.RepresentationModel;
using V1 = ContributiAutomatici.Contracts.V1;

using ContributiAutomatici.Protocol;

namespace ContributiAutomatici.Tooling;

/// <summary>
/// A golden allocation: a year (contributi.v1.AllocationYear in the protobuf JSON mapping, as YAML) and what the decree
/// pays, worked by hand. <see cref="Expect"/> holds the expected values by path into the result's JSON (only the listed
/// ones are checked); <see cref="Exclusions"/>, when given, must match the result's exclusions one to one.
/// </summary>
public sealed record AllocationGoldenCase(
    string RuleSetId, string File, int Line, string Name, V1.AllocationYear Year,
    IReadOnlyList<(string What, Func<JsonElement, JsonElement?> Find, string Expected)> Expect,
    IReadOnlyList<IReadOnlyDictionary<string, string>>? Exclusions)
{
    /// <summary>
    /// Test lists (<c>lists:</c>, files beside the case's file): each entry replaces the rule set's entry with the same id in
    /// the list of the same kind, or is added, for this case only (an agreement given a date it does not have yet). They
    /// class the works (art. 2.f-h); the rule set's own lists, and what it ships, are unchanged.
    /// </summary>
    public IReadOnlyList<ListDefinition> TestLists { get; init; } = [];

    public override string ToString() => $"{Path.GetFileName(File)}:{Line} {Name}";
}

/// <summary>
/// Golden allocations: YAML files under a rule set's tests/allocation/ folder. Rule authors run them with
/// <c>cli test</c>; xunit runs each. Numbers are compared after rounding the computed value to the expected value's
/// decimals (at least 2): credits to the cent, point values to the decimals written.
/// </summary>
public static class AllocationGoldenTests
{
    public const string Folder = "allocation";

    /// <summary>The keys of a golden allocation case and of its expectations (the file's are <see cref="GoldenTests.Keys.File"/>).</summary>
    public static class Keys
    {
        public static readonly YamlKeys Case = new("case", ["name", "lists", "year", "expect"]);

        public static readonly YamlKeys Expect = new("expect", ["quotas", "credits", "authorShares", "summary", "works", "exclusions"]);

        public static IReadOnlyList<YamlKeys> All { get; } = [Case, Expect];
    }

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static IReadOnlyList<AllocationGoldenCase> Load(string ruleSetDirectory, string ruleSetId, List<RuleError> errors) =>
        GoldenTests.LoadCases(Path.Combine(ruleSetDirectory, GoldenTests.Folder, Folder), "a golden allocation file", errors,
            (file, node) => ParseCase(file, node, ruleSetId), c => (c.Name, c.File, c.Line));

    private static AllocationGoldenCase? ParseCase(YamlFile file, YamlNode node, string ruleSetId)
    {
        if (file.Map(node, "a case", Keys.Case) is not { } c) return null;
        var before = file.ErrorCount;
        var name = c.Str("name", required: true) ?? "";
        var year = new V1.AllocationYear();
        if (c.Node_("year") is { } yn)
            year = GoldenTests.Message<V1.AllocationYear>(file, yn, $"case '{name}': year") ?? year;
        else file.Error(node, $"case '{name}' has no year");
        year.Header ??= new V1.AllocationHeader();
        if (year.Header.RuleSetId.Length == 0 && year.Header.ApplicationYear == 0) year.Header.RuleSetId = ruleSetId;

        var expect = new List<(string, Func<JsonElement, JsonElement?>, string)>();
        List<IReadOnlyDictionary<string, string>>? exclusions = null;
        if (file.Map(c.Node_("expect"), "expect", Keys.Expect) is { } em)
        {
            foreach (var (quota, fields) in Pairs(file, em.Node_("quotas")))
                foreach (var (field, value) in Pairs(file, fields))
                    expect.Add(($"quota {quota} {field}", r => Field(Find(r, "summary", "quotas", "quotaId", quota), field), Scalar(file, value)));
            foreach (var (company, quotas) in Pairs(file, em.Node_("credits")))
                foreach (var (quota, value) in Pairs(file, quotas))
                    expect.Add(($"credit {company} {quota}", r =>
                    {
                        var co = Find(r, "companies", null, "companyId", company);
                        return quota == "total" ? Field(co, "total") : Field(co is { } x ? FindIn(x, "credits", "quotaId", quota) : null, "amount");
                    }, Scalar(file, value)));
            foreach (var (work, value) in Pairs(file, em.Node_("authorShares")))
                expect.Add(($"author share {work}", r =>
                    Find(r, "works", null, "workId", work) is { } w && w.GetProperty("authorShares").EnumerateArray().ToList() is { Count: > 0 } shares &&
                    shares.Select(s => s.GetProperty("amount").GetString()).Distinct().Count() == 1
                        ? shares[0].GetProperty("amount") : null, Scalar(file, value)));
            foreach (var (field, value) in Pairs(file, em.Node_("summary")))
                expect.Add(($"summary {field}", r => Field(r.GetProperty("summary"), field), Scalar(file, value)));
            foreach (var (work, fields) in Pairs(file, em.Node_("works")))
                foreach (var (field, value) in Pairs(file, fields))
                    expect.Add(($"work {work} {field}", r => Field(Find(r, "works", null, "workId", work), field), Scalar(file, value)));
            if (em.Node_("exclusions") is { } xn)
            {
                exclusions = [];
                foreach (var x in file.Seq(xn, "exclusions"))
                    exclusions.Add(Pairs(file, x).ToDictionary(p => p.Key, p => Scalar(file, p.Value)));
            }
            em.Done("expect");
        }
        else file.Error(node, $"case '{name}' has no expect");
        var lists = new List<ListDefinition>();
        foreach (var listFile in c.StrList("lists"))
        {
            var listErrors = new List<RuleError>();
            if (RuleFileParser.ParseListFile(Path.Combine(Path.GetDirectoryName(file.Path)!, listFile), listErrors) is { } l && listErrors.Count == 0)
                lists.Add(l);
            else file.Error(c.Node_("lists")!, $"case '{name}': test list '{listFile}': {string.Join("; ", listErrors)}");
        }
        c.Done($"case '{name}'");
        return file.ErrorCount > before ? null
            : new AllocationGoldenCase(ruleSetId, file.Path, (int)node.Start.Line, name, year, expect, exclusions) { TestLists = lists };
    }

    private static IEnumerable<(string Key, YamlNode Value)> Pairs(YamlFile file, YamlNode? node) =>
        file.Mapping(node, "a 'name: value' mapping") is { } m
            ? m.Children.Select(kv => (((YamlScalarNode)kv.Key).Value ?? "", kv.Value)).ToList()
            : [];

    private static string Scalar(YamlFile file, YamlNode node)
    {
        if (node is YamlScalarNode { Value: { } v }) return v;
        file.Error(node, "expected a single value");
        return "";
    }

    private static JsonElement? Find(JsonElement root, string list, string? inner, string key, string id)
    {
        var container = root.GetProperty(list);
        return inner is null ? FindIn(root, list, key, id) : FindIn(container, inner, key, id);
    }

    private static JsonElement? FindIn(JsonElement obj, string list, string key, string id) =>
        obj.TryGetProperty(list, out var arr)
            ? arr.EnumerateArray().Where(e => e.TryGetProperty(key, out var k) && k.GetString() == id).Select(e => (JsonElement?)e).FirstOrDefault()
            : null;

    /// <summary>
    /// A field, or a dotted path into the result ("account.unassignedCompanyCap"); a segment on a list picks the item
    /// whose first field has that value ("pools.other_works.account.unassignedWorkCap").
    /// </summary>
    private static JsonElement? Field(JsonElement? obj, string field)
    {
        foreach (var segment in field.Split('.'))
        {
            if (obj is not { } o) return null;
            obj = o.ValueKind switch
            {
                JsonValueKind.Object when o.TryGetProperty(segment, out var v) => v,
                JsonValueKind.Array => o.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object && e.EnumerateObject().FirstOrDefault()
                    is { Value.ValueKind: JsonValueKind.String } first && first.Value.GetString() == segment).Select(e => (JsonElement?)e).FirstOrDefault(),
                _ => null,
            };
        }
        return obj;
    }

    /// <summary>The rule set's classifier of works (art. 2.f-h) over its lists with the test lists' entries in place of theirs.</summary>
    private static CoproductionClassifier WithTestLists(CompiledRuleSet rs, IReadOnlyList<ListDefinition> tests)
    {
        var lists = rs.Lists.Lists.Select(l => tests.Where(t => t.Kind == l.Kind).Aggregate(l, (list, t) => list with
        {
            Entries = [.. list.Entries.Where(e => t.Entries.All(x => x.Id != e.Id)), .. t.Entries],
        })).ToList();
        return new CoproductionClassifier(rs.Definition.Allocation?.Coproduction, new ListCatalog(lists));
    }

    /// <summary>Allocates the case's year and compares.</summary>
    public static GoldenResult Run(AllocationGoldenCase c, RuleCatalog catalog)
    {
        V1.AllocationResult result;
        try
        {
            var reader = new AllocationMapper.Reader(catalog);
            foreach (var item in AllocationMapper.Items(c.Year)) reader.Add(item);
            var input = reader.Build();
            if (c.TestLists.Count > 0) input = input with { Coproductions = WithTestLists(input.RuleSet, c.TestLists) };
            result = AllocationMapper.Result(AllocationMapper.Items(Allocator.Run(input)));
        }
        catch (InvalidRequestException ex) { return Failed(ex.Message); }
        catch (RuleSetNotFoundException ex) { return Failed(ex.Message); }

        var failures = new List<string>();
        using var doc = JsonDocument.Parse(Formatter.Format(result));
        var root = doc.RootElement;
        foreach (var (what, find, expected) in c.Expect)
        {
            var got = find(root);
            var text = got is { ValueKind: JsonValueKind.String } s ? s.GetString() : got?.ToString();
            if (text is null) failures.Add($"{what}: expected {expected}, not in the result");
            else if (GoldenNumbers.Parse(expected) is { } number && GoldenNumbers.Parse(text) is { } value)
            {
                if (!GoldenNumbers.Match(value, number)) failures.Add($"{what}: {GoldenNumbers.ExpectedGot(number, value)}");
            }
            else if (!string.Equals(text, expected, StringComparison.Ordinal)) failures.Add($"{what}: expected {expected}, got {text}");
        }
        if (c.Exclusions is { } want)
        {
            var got = root.GetProperty("exclusions").EnumerateArray().ToList();
            var unmatched = new List<JsonElement>(got);
            foreach (var w in want)
            {
                var i = unmatched.FindIndex(e => w.All(kv => e.TryGetProperty(kv.Key, out var v) && v.ToString() == kv.Value));
                if (i < 0) failures.Add($"exclusion {string.Join(", ", w.Select(kv => $"{kv.Key}={kv.Value}"))}: not in the result");
                else unmatched.RemoveAt(i);
            }
            foreach (var e in unmatched)
                failures.Add($"unexpected exclusion: {e.GetProperty("companyId")} {e.GetProperty("workId")} {e.GetProperty("role")} {e.GetProperty("field")} [{e.GetProperty("article")}] {e.GetProperty("reason")}");
        }
        return new GoldenResult(null, failures);

        GoldenResult Failed(string message) => new(null, [message]);
    }
}
