using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Protocol;
using Google.Protobuf.Reflection;
using Json.Schema;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using ContributiAutomatici.Tooling;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>
/// The JSON Schemas of rules/schema/ and the loader agree: every YAML file under rules/ names its schema and validates
/// against it; each kind of mapping declares exactly the keys the loader reads (its <see cref="YamlKeys"/>); planted
/// mistakes are refused by both; the loader names the column of an unknown field and the nearest known one.
/// </summary>
public partial class SchemaTests
{
    private static string SchemaDir => Path.Combine(Repo.Rules, "schema");

    /// <summary>Each closed mapping of each schema (JSON pointer of its subschema) and the loader's keys for it.</summary>
    private static readonly Dictionary<string, YamlKeys> KeysBySchema = new()
    {
        ["table.schema.json#"] = RuleFileParser.Keys.Table,
        ["table.schema.json#/definitions/section"] = RuleFileParser.Keys.Section,
        ["table.schema.json#/definitions/row"] = RuleFileParser.Keys.Row,
        ["table.schema.json#/definitions/cell"] = RuleFileParser.Keys.Cell,
        ["table.schema.json#/definitions/figure"] = RuleFileParser.Keys.Figure,
        ["ruleset.schema.json#"] = RuleFileParser.Keys.Manifest,
        ["ruleset.schema.json#/definitions/inForce"] = RuleFileParser.Keys.Range,
        ["ruleset.schema.json#/definitions/window"] = RuleFileParser.Keys.Range,
        ["ruleset.schema.json#/definitions/applicationYears"] = RuleFileParser.Keys.Range,
        ["ruleset.schema.json#/definitions/quota"] = RuleFileParser.Keys.Quota,
        ["ruleset.schema.json#/definitions/rowPatch"] = RuleFileParser.Keys.RowPatch,
        ["ruleset.schema.json#/definitions/cell"] = RuleFileParser.Keys.Cell,
        ["ruleset.schema.json#/definitions/figure"] = RuleFileParser.Keys.Figure,
        ["ruleset.schema.json#/definitions/quantity"] = RuleFileParser.Keys.Quantity,
        ["ruleset.schema.json#/definitions/allocation"] = RuleFileParser.Keys.Allocation,
        ["ruleset.schema.json#/definitions/cap"] = RuleFileParser.Keys.Cap,
        ["ruleset.schema.json#/definitions/expiry"] = RuleFileParser.Keys.Expiry,
        ["ruleset.schema.json#/definitions/authorsShares"] = RuleFileParser.Keys.AuthorsShares,
        ["ruleset.schema.json#/definitions/applicants"] = RuleFileParser.Keys.Applicants,
        ["ruleset.schema.json#/definitions/applicant"] = RuleFileParser.Keys.Applicant,
        ["ruleset.schema.json#/definitions/netWorth"] = RuleFileParser.Keys.NetWorth,
        ["ruleset.schema.json#/definitions/works"] = RuleFileParser.Keys.Works,
        ["ruleset.schema.json#/definitions/coproduction"] = RuleFileParser.Keys.Coproduction,
        ["ruleset.schema.json#/definitions/coproductionCategories"] = RuleFileParser.Keys.CoproductionCategories,
        ["ruleset.schema.json#/definitions/results"] = RuleFileParser.Keys.Results,
        ["ruleset.schema.json#/definitions/firstExploitation"] = RuleFileParser.Keys.FirstExploitation,
        ["list.schema.json#"] = RuleFileParser.Keys.List,
        ["list.schema.json#/definitions/listEntry"] = RuleFileParser.Keys.ListEntry,
        ["list.schema.json#/definitions/listGroup"] = RuleFileParser.Keys.ListGroup,
        ["list.schema.json#/definitions/workFacts"] = RuleFileParser.Keys.WorkFacts,
        ["reform.schema.json#"] = RuleFileParser.ReformKeys.Reform,
        ["reform.schema.json#/definitions/figureChange"] = RuleFileParser.ReformKeys.Figure,
        ["reform.schema.json#/definitions/listChange"] = RuleFileParser.ReformKeys.List,
        ["reform.schema.json#/definitions/quotaChange"] = RuleFileParser.ReformKeys.Quota,
        ["reform.schema.json#/definitions/allocationChange"] = RuleFileParser.ReformKeys.Allocation,
        ["reform.schema.json#/definitions/rowPatch"] = RuleFileParser.Keys.RowPatch,
        ["reform.schema.json#/definitions/cell"] = RuleFileParser.Keys.Cell,
        ["reform.schema.json#/definitions/figure"] = RuleFileParser.Keys.Figure,
        ["reform.schema.json#/definitions/listEntry"] = RuleFileParser.Keys.ListEntry,
        ["reform.schema.json#/definitions/workFacts"] = RuleFileParser.Keys.WorkFacts,
        ["golden-tests.schema.json#"] = GoldenTests.Keys.File,
        ["golden-tests.schema.json#/definitions/case"] = GoldenTests.Keys.Case,
        ["golden-tests.schema.json#/definitions/expectation"] = GoldenTests.Keys.Expectation,
        ["golden-allocations.schema.json#"] = GoldenTests.Keys.File,
        ["golden-allocations.schema.json#/definitions/case"] = AllocationGoldenTests.Keys.Case,
        ["golden-allocations.schema.json#/definitions/expect"] = AllocationGoldenTests.Keys.Expect,
    };

    /// <summary>Closed mappings whose keys are the role columns (a row's points, a golden case's expect).</summary>
    private static readonly HashSet<string> RoleMaps =
    [
        "table.schema.json#/definitions/points/oneOf/1",
        "ruleset.schema.json#/definitions/points/oneOf/1",
        "reform.schema.json#/definitions/points/oneOf/1",
        "golden-tests.schema.json#/definitions/case/properties/expect",
    ];

    // ------------------------------------------------------------------------------------------------ (a) every file

    [Fact]
    public void Every_YAML_file_under_rules_names_its_schema_in_its_first_line_and_validates_against_it()
    {
        var expected = ExpectedSchemas();
        var files = Directory.GetFiles(Repo.Rules, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), files);
        var problems = new List<string>();
        foreach (var file in files)
        {
            var first = File.ReadLines(file).First();
            var want = "# yaml-language-server: $schema=" +
                       Path.GetRelativePath(Path.GetDirectoryName(file)!, Path.Combine(SchemaDir, expected[file])).Replace('\\', '/');
            if (first != want) problems.Add($"{file}:1: expected '{want}', got '{first}'");
            problems.AddRange(Validate(expected[file], File.ReadAllText(file)).Select(p => $"{file}: {p}"));
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.Equal(5, expected.Values.Distinct().Count()); // every schema has files
    }

    [Fact]
    public void Every_example_reform_names_the_reform_schema_validates_against_it_and_parses()
    {
        var files = Directory.GetFiles(Path.Combine(Repo.Root, "examples", "reforms"), "*.yaml");
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            Assert.Equal("# yaml-language-server: $schema=../../rules/schema/reform.schema.json", File.ReadLines(file).First());
            Assert.True(Validate("reform.schema.json", File.ReadAllText(file)) is [] , file + string.Join("\n", Validate("reform.schema.json", File.ReadAllText(file))));
            var errors = new List<RuleError>();
            Assert.NotNull(RuleFileParser.ParseReform(file, File.ReadAllText(file), errors));
            Assert.Empty(errors);
        }
        // A change the loader refuses, the schema refuses too.
        Assert.NotEmpty(Validate("reform.schema.json", "id: r\ntitle: t\nchanges:\n  - figure: T1.A.1.x\n    valeu: 3\n"));
        Assert.NotEmpty(Validate("reform.schema.json", "id: r\ntitle: t\nchanges:\n  - work_cap: 20\n    excess: redistribute\n"));
    }

    /// <summary>The schema of each YAML file, from what the loader makes of it: manifests, their tables and lists, golden tests.</summary>
    private static Dictionary<string, string> ExpectedSchemas()
    {
        var map = new Dictionary<string, string>();
        foreach (var dir in Directory.GetDirectories(Repo.Rules).Where(d => File.Exists(Path.Combine(d, RuleFileParser.ManifestName))))
        {
            var errors = new List<RuleError>();
            var def = RuleFileParser.Parse(dir, errors);
            Assert.True(def is not null, string.Join("\n", errors));
            map[Path.Combine(dir, RuleFileParser.ManifestName)] = "ruleset.schema.json";
            foreach (var t in def!.Tables) map[t.File] = "table.schema.json";
            foreach (var l in def.Lists) map[l.File] = "list.schema.json";
            var tests = Path.Combine(dir, GoldenTests.Folder);
            if (!Directory.Exists(tests)) continue;
            foreach (var f in Directory.GetFiles(tests, "*.yaml")) map[f] = "golden-tests.schema.json";
            var allocation = Path.Combine(tests, AllocationGoldenTests.Folder);
            if (Directory.Exists(allocation))
                foreach (var f in Directory.GetFiles(allocation, "*.yaml")) map[f] = "golden-allocations.schema.json";
            // Test lists of golden allocations (a case's 'lists'): list files.
            var fixtures = Path.Combine(allocation, "fixtures");
            if (Directory.Exists(fixtures))
                foreach (var f in Directory.GetFiles(fixtures, "*.yaml")) map[f] = "list.schema.json";
        }
        return map;
    }

    // ------------------------------------------------------------------------------------------------ (b) the keys

    [Fact]
    public void Each_closed_mapping_of_the_schemas_declares_exactly_the_keys_the_loader_reads()
    {
        var found = new Dictionary<string, JsonObject>();
        foreach (var file in Directory.GetFiles(SchemaDir, "*.schema.json").Select(Path.GetFileName))
        {
            var schema = Schema(file!);
            foreach (var generated in Generated(schema).ToList()) schema["definitions"]!.AsObject().Remove(generated.Key);
            ClosedMappings(schema, file + "#", found);
        }

        Assert.Equal(KeysBySchema.Keys.Concat(RoleMaps).Order(StringComparer.Ordinal), found.Keys.Order(StringComparer.Ordinal));
        foreach (var (at, keys) in KeysBySchema)
            Assert.True(Properties(found[at]).SetEquals(keys.Keys),
                $"{at} declares [{string.Join(", ", Properties(found[at]).Order())}], the loader reads {keys.Kind} [{string.Join(", ", keys.Keys.Order())}]");
        foreach (var at in RoleMaps) Assert.True(Properties(found[at]).SetEquals(RoleNames.ByKey.Keys), at);

        // Every kind the loaders know is in a schema.
        var all = RuleFileParser.Keys.All.Concat(RuleFileParser.ReformKeys.All).Concat(GoldenTests.Keys.All).Concat(AllocationGoldenTests.Keys.All);
        Assert.Empty(all.Except(KeysBySchema.Values).Select(k => k.Kind));
    }

    [Fact]
    public void The_schemas_enums_are_the_loaders_fixed_values()
    {
        var table = Schema("table.schema.json");
        var manifest = Schema("ruleset.schema.json");
        var list = Schema("list.schema.json");
        Assert.Equal(RoleNames.ByKey.Keys, Strings(table["definitions"]!["row"]!["properties"]!["role"]!["enum"]));
        Assert.Equal(RoleNames.ByKey.Keys, Strings(manifest["definitions"]!["rowPatch"]!["properties"]!["base_role"]!["enum"]));
        Assert.Equal(Enum.GetNames<Provenance>().Select(n => n.ToLowerInvariant()),
            Strings(table["definitions"]!["row"]!["properties"]!["provenance"]!["enum"]));
        Assert.Equal(RuleFileParser.ExcessPolicies.Order(), Strings(manifest["properties"]!["policies"]!["properties"]!["excess"]!["enum"]).Order());
        Assert.Equal(RuleFileParser.ListKinds.Order(), Strings(list["properties"]!["list"]!["enum"]).Order());
    }

    // ------------------------------------------------------------------------------------------------ the contract's part

    /// <summary>
    /// A golden case's work and roles and a golden allocation's year are protobuf JSON: their definitions in the golden
    /// schemas are generated from the contract's descriptors (lowerCamelCase names, the form the golden files use). After
    /// a change to protos/: CONTRIBUTI_WRITE_SCHEMA=1 dotnet test tests/ContributiAutomatici.Tests --filter SchemaTests
    /// </summary>
    [Theory]
    [InlineData("golden-tests.schema.json")]
    [InlineData("golden-allocations.schema.json")]
    public void The_definitions_of_works_roles_and_years_are_the_contracts(string file)
    {
        var generated = GenerateProtoDefinitions([V1.Work.Descriptor, V1.RoleInput.Descriptor, V1.AllocationYear.Descriptor]);
        var schema = Schema(file);
        var definitions = schema["definitions"]!.AsObject();
        var committed = new JsonObject(Generated(schema).Select(d => KeyValuePair.Create(d.Key, d.Value?.DeepClone())));
        if (Environment.GetEnvironmentVariable("CONTRIBUTI_WRITE_SCHEMA") == "1" && !JsonNode.DeepEquals(committed, generated))
        {
            foreach (var d in Generated(schema).ToList()) definitions.Remove(d.Key);
            foreach (var (k, v) in generated) definitions[k] = v!.DeepClone();
            File.WriteAllText(Path.Combine(SchemaDir, file), schema.ToJsonString(new JsonSerializerOptions
            {
                WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            }) + "\n");
            return;
        }
        Assert.True(JsonNode.DeepEquals(committed, generated),
            $"the contributi.v1 definitions of rules/schema/{file} are not the contract's: CONTRIBUTI_WRITE_SCHEMA=1 dotnet test tests/ContributiAutomatici.Tests --filter SchemaTests");
    }

    /// <summary>The generated definitions of a schema: those named after a protobuf message (contributi.v1.Work, google.type.Date).</summary>
    private static IEnumerable<KeyValuePair<string, JsonNode?>> Generated(JsonObject schema) =>
        schema["definitions"]!.AsObject().Where(d => d.Key.Contains('.', StringComparison.Ordinal));

    private static JsonObject GenerateProtoDefinitions(IEnumerable<MessageDescriptor> roots)
    {
        var defs = new SortedDictionary<string, JsonNode>(StringComparer.Ordinal);
        foreach (var m in roots) Add(m);
        return new JsonObject(defs.Select(d => KeyValuePair.Create(d.Key, (JsonNode?)d.Value)));

        void Add(MessageDescriptor m)
        {
            if (defs.ContainsKey(m.FullName)) return;
            if (m.FullName.StartsWith("google.protobuf.", StringComparison.Ordinal))
                throw new InvalidOperationException($"{m.FullName} has a special JSON form: teach the generator");
            defs[m.FullName] = new JsonObject();
            var props = new JsonObject();
            foreach (var f in m.Fields.InFieldNumberOrder())
            {
                var t = f.IsMap
                    ? new JsonObject { ["type"] = "object", ["additionalProperties"] = Type(f.MessageType.FindFieldByNumber(2)) }
                    : f.IsRepeated ? new JsonObject { ["type"] = "array", ["items"] = Type(f) } : Type(f);
                t["description"] = $"{f.Name} ({(f.IsRepeated && !f.IsMap ? "repeated " : "")}{TypeName(f)})";
                props[f.JsonName] = t;
            }
            defs[m.FullName] = new JsonObject
            {
                ["type"] = "object", ["description"] = m.FullName + " (generated from protos/ by SchemaTests)",
                ["properties"] = props, ["additionalProperties"] = false,
            };
        }

        JsonObject Type(FieldDescriptor f)
        {
            switch (f.FieldType)
            {
                case FieldType.Message:
                    Add(f.MessageType);
                    return new JsonObject { ["$ref"] = "#/definitions/" + f.MessageType.FullName };
                case FieldType.Enum:
                    return new JsonObject { ["enum"] = new JsonArray(f.EnumType.Values.Select(v => (JsonNode?)JsonValue.Create(v.Name)).ToArray()) };
                case FieldType.Bool:
                    return new JsonObject { ["type"] = "boolean" };
                case FieldType.String or FieldType.Bytes:
                    return new JsonObject { ["type"] = "string" };
                case FieldType.Double or FieldType.Float:
                    return new JsonObject { ["type"] = new JsonArray("number", "string"), ["pattern"] = "^[+-]?[0-9.eE+-]+$" };
                default:
                    return new JsonObject { ["type"] = new JsonArray("integer", "string"), ["pattern"] = "^[+-]?[0-9]+$" };
            }
        }

        static string TypeName(FieldDescriptor f) => f.FieldType switch
        {
            FieldType.Message => f.MessageType.FullName,
            FieldType.Enum => f.EnumType.FullName,
            _ => f.FieldType.ToString().ToLowerInvariant(),
        };
    }

    // ------------------------------------------------------------------------------------------------ (c) planted mistakes

    public static TheoryData<string, string, string, string, string> Planted => new()
    {
        // file, text in it, replaced by, what the loader says, where the schema says it
        { "dm-2021/tabella-1.yaml", "        label: \"Fondi bilaterali\"", "        lable: \"Fondi bilaterali\"",
            "unknown field 'lable' in row T1.B.7; did you mean 'label'?", "lable" },
        { "dm-2021/tabella-1.yaml", "        label: \"Fondi bilaterali\"", "        label: { it: \"Fondi bilaterali\" }",
            "field 'label' must be a single value", "/label" },
        { "dm-2021/ruleset.yaml", "    share: 63", "    share: sessantatre", "field 'share' must be a number, got 'sessantatre'", "/share" },
        { "dm-2021/ruleset.yaml", "supersedes: dm-2017", "supersedes: dm-2017\nsupersede: dm-2017",
            "unknown field 'supersede' in the manifest; did you mean 'supersedes'?", "supersede" },
        { "dm-2021/tabella-6-festival.yaml", "    band: A", "    bands: A", "unknown field 'bands' in a list entry; did you mean 'band'?", "bands" },
        { "dm-2017/tabella-1.yaml", "        provenance: provisional", "        provenance: provisonal",
            "provenance is sourced, provisional or missing, got 'provisonal'; did you mean 'provisional'?", "/provenance" },
        { "dm-2021/tabella-7-premi.yaml", "list: prizes", "list: prize", "list must be one of festivals, prizes, markets, coproduction_agreements, coproduction_conventions, oda_recipients, got 'prize'; did you mean 'prizes'?", "/list" },
        { "dm-2021/tests/tabella-1.yaml", "    expect:", "    expekt:", "unknown field 'expekt' in case", "expekt" },
        { "dm-2021/tests/allocation/01-rounding.yaml", "    expect:", "    expected:", "unknown field 'expected' in case", "expected" },
        { "dm-2021/tests/tabella-1.yaml", "      boxOffice: [", "      boxOfice: [",
            "unknown field 'boxOfice' in contributi.v1.Work; did you mean 'boxOffice'?", "boxOfice" },
        { "dm-2021/tests/tabella-1.yaml", "day: 1 }, amount: \"800000\"", "day: 1 }, amout: \"800000\"",
            "unknown field 'amout' in contributi.v1.DatedAmount; did you mean 'amount'?", "amout" },
    };

    [Theory]
    [MemberData(nameof(Planted))]
    public void A_planted_mistake_is_refused_by_the_loader_and_by_the_schema(string file, string from, string to, string loader, string schema)
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(file, from, to);
        var line = t.LineOf(file, to.Split('\n')[^1]);

        var errors = new List<RuleError>();
        foreach (var dir in Directory.GetDirectories(t.Root).Where(d => File.Exists(Path.Combine(d, RuleFileParser.ManifestName))))
            if (RuleFileParser.Parse(dir, errors) is { } def)
            {
                GoldenTests.Load(def, errors);
                AllocationGoldenTests.Load(def.Directory, def.Id, errors);
            }
        var hit = errors.SingleOrDefault(e => e.File.EndsWith(file, StringComparison.Ordinal) && e.Line == line);
        Assert.True(hit is not null, $"expected the loader to refuse {file}:{line}, got:\n{string.Join("\n", errors)}");
        Assert.Contains(loader, hit!.Message);

        var kind = ExpectedSchemas().Single(kv => kv.Key.EndsWith(file, StringComparison.Ordinal) && kv.Key.StartsWith(Repo.Rules, StringComparison.Ordinal)).Value;
        var problems = Validate(kind, File.ReadAllText(t.File_(file)));
        Assert.True(problems.Any(p => p.Contains(schema, StringComparison.Ordinal)), $"expected the schema to refuse '{schema}', got:\n{string.Join("\n", problems)}");
    }

    // ------------------------------------------------------------------------------------------------ column and suggestion

    [Fact]
    public void Validate_names_the_line_and_column_of_a_misspelt_field_and_the_field_meant()
    {
        using var t = TempRules.CopyOfRepo();
        const string T1 = "dm-2021/tabella-1.yaml";
        t.Replace(T1, "        points: \"Per(producer_media_sales, eur_per_point)\"", "        pionts: \"Per(producer_media_sales, eur_per_point)\"");
        var line = t.LineOf(T1, "pionts:");
        var e = new StringWriter();
        var exit = ContributiAutomatici.Cli.Program.Run(["validate", "--rules", t.Root, "--no-cache"], new StringWriter(), e);
        Assert.Equal(1, exit);
        Assert.Matches($@"dm-2021/tabella-1\.yaml:{line}:9: unknown field 'pionts' in row T1\.A\.2; did you mean 'points'\?", e.ToString());
    }

    [Fact]
    public void A_misspelt_field_of_a_golden_work_is_reported_at_its_column()
    {
        using var t = TempRules.CopyOfRepo();
        const string T1 = "dm-2021/tests/tabella-1.yaml";
        t.Replace(T1, "day: 1 }, amount: \"800000\"", "day: 1 }, amout: \"800000\"");
        var line = t.LineOf(T1, "amout");
        var column = File.ReadAllLines(t.File_(T1))[line - 1].IndexOf("amout", StringComparison.Ordinal) + 1;
        var errors = new List<RuleError>();
        GoldenTests.Load(RuleFileParser.Parse(Path.Combine(t.Root, "dm-2021"), errors)!, errors);
        var e = Assert.Single(errors);
        Assert.EndsWith($"{T1}:{line}:{column}: unknown field 'amout' in contributi.v1.DatedAmount; did you mean 'amount'?", e.ToString());
    }

    [Theory]
    [InlineData("pionts", "points")]
    [InlineData("lable", "label")]
    [InlineData("Points", "points")]
    [InlineData("figure", "figures")]
    [InlineData("base_rol", "base_role")]
    [InlineData("quotas", "quota")]
    [InlineData("colour", null)]
    [InlineData("x", null)]
    public void The_suggestion_is_the_nearest_known_field_within_a_third_of_the_word(string typed, string? meant)
    {
        var suggestion = YamlKeys.Suggestion(typed, RuleFileParser.Keys.Row.Keys);
        Assert.Equal(meant is null ? "" : $"; did you mean '{meant}'?", suggestion);
    }

    [Fact]
    public void A_misspelt_role_column_role_and_work_fact_are_suggested_too()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/tabella-1.yaml", "          theatrical_distributor: \"Tiers(", "          theatrical_distributer: \"Tiers(");
        t.Replace("dm-2021/tabella-6-festival.yaml", "not_for_works: { documentary: true", "not_for_works: { documentery: true");
        t.Replace("dm-2021/tabella-1.yaml", "        role: producer", "        role: prodcer");
        var ex = t.LoadFails();
        Assert.Contains(ex.Errors, e => e.Message.Contains("unknown role column 'theatrical_distributer'") && e.Message.EndsWith("did you mean 'theatrical_distributor'?") && e.Column == 11);
        Assert.Contains(ex.Errors, e => e.Message.StartsWith("unknown field 'documentery' in work facts") && e.Message.EndsWith("did you mean 'documentary'?"));
        Assert.Contains(ex.Errors, e => e.Message.StartsWith("unknown role 'prodcer' (roles: producer,") && e.Message.EndsWith("did you mean 'producer'?"));
    }

    [Fact]
    public void A_known_field_in_the_wrong_place_is_said_not_to_apply()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/ruleset.yaml", "supersedes: dm-2017", "supersedes: dm-2017\nwindow: { from: 2020-01-01, to: 2020-12-31 }");
        var ex = t.LoadFails();
        var e = ex.Errors.FirstOrDefault(x => x.Message == "field 'window' does not apply in the manifest");
        Assert.True(e is not null, ex.Message);
        Assert.Equal((t.LineOf("dm-2021/ruleset.yaml", "window:"), 1), (e!.Line, e.Column));
        Assert.Contains(Validate("ruleset.schema.json", File.ReadAllText(t.File_("dm-2021/ruleset.yaml"))), p => p.Length > 0);
    }

    [Fact]
    public void An_error_prints_file_line_and_column_when_the_column_is_known()
    {
        Assert.Equal("a.yaml:3:7: bad", new RuleError("a.yaml", 3, "bad", 7).ToString());
        Assert.Equal("a.yaml:3: bad", new RuleError("a.yaml", 3, "bad").ToString());
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private static JsonObject Schema(string file) => JsonNode.Parse(File.ReadAllText(Path.Combine(SchemaDir, file)))!.AsObject();

    private static IEnumerable<string> Strings(JsonNode? array) => array!.AsArray().Select(n => n!.GetValue<string>());

    private static HashSet<string> Properties(JsonObject o) => o["properties"]!.AsObject().Select(p => p.Key).ToHashSet();

    /// <summary>Every subschema that is a closed mapping (additionalProperties: false), by its JSON pointer.</summary>
    private static void ClosedMappings(JsonNode? node, string at, Dictionary<string, JsonObject> found)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["additionalProperties"] is JsonValue v && v.GetValueKind() == JsonValueKind.False) found[at] = o;
                foreach (var (k, child) in o)
                    if (k is not ("enum" or "required" or "examples" or "const")) ClosedMappings(child, $"{at}/{k}", found);
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++) ClosedMappings(a[i], $"{at}/{i}", found);
                break;
        }
    }

    private static readonly Lazy<BuildOptions> Schemas = new(() =>
    {
        var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        foreach (var f in Directory.GetFiles(SchemaDir, "*.schema.json"))
            options.SchemaRegistry.Register(JsonSchema.FromFile(f, options));
        return options;
    });

    /// <summary>The schema's complaints about a YAML text, as 'instance location: message' (none: valid).</summary>
    private static List<string> Validate(string schemaFile, string yaml)
    {
        var schema = (JsonSchema?)Schemas.Value.SchemaRegistry.Get(new Uri(Path.Combine(SchemaDir, schemaFile)))
                     ?? throw new InvalidOperationException("no schema " + schemaFile);
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        using var doc = JsonDocument.Parse(ToJson(stream.Documents[0].RootNode)?.ToJsonString() ?? "null");
        var result = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid) return [];
        return (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}")).DefaultIfEmpty("invalid").ToList();
    }

    /// <summary>YAML as an editor's language server reads it (YAML 1.2 core schema): plain true/false, null, numbers are typed.</summary>
    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode m => new JsonObject(m.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode s => new JsonArray(s.Children.Select(ToJson).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain, Value: "true" or "false" } b => JsonValue.Create(b.Value == "true"),
        YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "null" or "~" } => null,
        YamlScalarNode { Style: ScalarStyle.Plain } n when Number().IsMatch(n.Value!) =>
            JsonValue.Create(decimal.Parse(n.Value!, NumberStyles.Float, CultureInfo.InvariantCulture)),
        YamlScalarNode sc => JsonValue.Create(sc.Value),
        _ => throw new InvalidOperationException(node.GetType().Name),
    };

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Number();
}
