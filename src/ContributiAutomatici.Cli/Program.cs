using System.Globalization;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Cli;

/// <summary>
/// contributi validate [--rules DIR] [--no-cache]
/// contributi score REQUEST.json [--rules DIR] [--json] [--not-applied] [--no-cache]
/// contributi test [RULE_SET_ID] [--rules DIR] [--no-cache]
/// contributi allocate YEAR.json|YEAR.jsonl [--json] [--policy unassigned|redistribute] [--top N] [--rules DIR] [--no-cache]
/// contributi synth --companies N --works M [--seed S] [--year Y] [--budget EUR] [--rule-set ID] [--out FILE]
/// contributi diff A B [--json]
/// contributi compare --a SIDE --b SIDE (--works FILE.jsonl | --year FILE) [--json] [--html REPORT.html] [--top N]
/// Exit codes: 0 ok, 1 rule files refused / a golden case failed / a bad request, 2 usage.
/// </summary>
public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var opts = Options.Parse(args);
        if (opts is null || opts.Command is null)
        {
            stderr.WriteLine(Usage);
            return 2;
        }
        var rules = RulesLocator.Find(opts.Rules);
        var compile = new RuleCompileOptions
        {
            CacheDirectory = opts.NoCache ? null : RuleCompileOptions.DefaultCacheDirectory,
            Warn = w => stderr.WriteLine("warning: " + w),
        };
        RuleCatalog catalog;
        try
        {
            catalog = RuleCatalog.Load(rules, compile);
        }
        catch (RuleLoadException ex)
        {
            foreach (var e in ex.Errors) stderr.WriteLine(e);
            stderr.WriteLine($"refused: {ex.Errors.Count} error(s) in {rules}; nothing loaded");
            return 1;
        }

        return opts.Command switch
        {
            "validate" => Validate(catalog, rules, stdout),
            "score" => Score(catalog, opts, stdout, stderr),
            "test" => Test(catalog, opts, stdout, stderr),
            "allocate" => AllocateCommand.Run(catalog, opts, stdout, stderr),
            "synth" => AllocateCommand.Synth(catalog, opts, stdout, stderr),
            "diff" => CompareCommand.Diff(catalog, opts.Positional, opts.Second, opts.Json, stdout, stderr),
            "compare" => CompareCommand.Compare(catalog, opts, stdout, stderr),
            _ => Usage2(stderr),
        };
    }

    private const string Usage = """
        usage:
          contributi validate [--rules DIR] [--no-cache]
          contributi score REQUEST.json [--rules DIR] [--json] [--not-applied] [--no-cache]
          contributi test [RULE_SET_ID] [--rules DIR] [--no-cache]
          contributi allocate YEAR.json|YEAR.jsonl [--json] [--policy unassigned|redistribute] [--top N] [--rules DIR] [--no-cache]
          contributi synth --companies N --works M [--seed S] [--year Y] [--budget EUR] [--rule-set ID] [--out FILE]
          contributi diff A B [--json]                      A, B: dm-2021, dm-2021+covid-19, or a folder of rule files
          contributi compare --a SIDE --b SIDE (--works FILE.jsonl | --year FILE) [--json] [--html REPORT.html] [--top N]
        REQUEST.json is a contributi.v1.ScoreWorkRequest in the protobuf JSON mapping (see examples/);
        YEAR.json a contributi.v1.AllocationYear, YEAR.jsonl one contributi.v1.AllocateRequest per line.
        """;

    private static int Usage2(TextWriter stderr)
    {
        stderr.WriteLine(Usage);
        return 2;
    }

    private static int Validate(RuleCatalog catalog, string rules, TextWriter stdout)
    {
        foreach (var rs in catalog.RuleSets)
        {
            var d = rs.Definition;
            stdout.WriteLine($"ok {d.Id}: {d.Tables.Count} tables, {d.Tables.Sum(t => t.Rows.Count())} rows, {rs.Cells.Count} role cells, " +
                             $"{d.Lists.Sum(l => l.Entries.Count)} list entries; sha256 {d.ContentHash[..16]}; {rs.Source.ToString().ToLowerInvariant()} " +
                             $"(checked {rs.Timings.Checked.TotalMilliseconds:0} ms, emitted {rs.Timings.Emitted.TotalMilliseconds:0} ms, " +
                             $"sandboxed {rs.Timings.Sandboxed.TotalMilliseconds:0} ms, ready {rs.Timings.Total.TotalMilliseconds:0} ms)");
        }
        stdout.WriteLine($"{catalog.RuleSets.Count} rule set(s) in {rules} valid ({catalog.LoadTime.TotalMilliseconds:0} ms)");
        // For the warm-start test: which assemblies the load pulled in (a warm start loads none of Roslyn).
        if (Environment.GetEnvironmentVariable("CONTRIBUTI_REPORT_ASSEMBLIES") == "1")
            foreach (var a in AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).Order(StringComparer.Ordinal))
                stdout.WriteLine("assembly " + a);
        return 0;
    }

    private static int Score(RuleCatalog catalog, Options opts, TextWriter stdout, TextWriter stderr)
    {
        if (opts.Positional is not { } file)
        {
            stderr.WriteLine("score needs a request file (JSON, contributi.v1.ScoreWorkRequest)");
            return 2;
        }
        V1.ScoreWorkRequest request;
        try
        {
            request = JsonParser.Default.Parse<V1.ScoreWorkRequest>(File.ReadAllText(file));
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or IOException or InvalidJsonException)
        {
            stderr.WriteLine($"{file}: {ex.Message}");
            return 1;
        }
        if (opts.NotApplied) request.IncludeNotApplied = true;
        ScoringRequest req;
        try
        {
            req = RequestMapper.Map(request, catalog);
        }
        catch (Exception ex) when (Program.ReportRequestError(ex, file, stderr))
        {
            return 1;
        }
        ScoreResult result;
        try
        {
            result = req.RuleSet.Score(req.Work, req.Roles, req.Options);
        }
        catch (RuleEvaluationException ex)
        {
            // A rule failed on this work (it divided by zero, overflowed): an error of that row, not a crash.
            stderr.WriteLine($"{file}: {ex.Message}");
            return 1;
        }
        if (opts.Json)
        {
            stdout.WriteLine(new JsonFormatter(JsonFormatter.Settings.Default.WithIndentation()).Format(ResponseMapper.ToProto(result, req.Excluded)));
            return 0;
        }
        ScoreTable.Write(result, req.RuleSet, stdout);
        foreach (var e in req.Excluded) stdout.WriteLine($"kept out: {e.Field} [{e.Article}] {e.Reason}");
        return 0;
    }

    /// <summary>Prints a request's errors (every bad field, or the unknown version) against its file; false for any other exception.</summary>
    internal static bool ReportRequestError(Exception ex, string file, TextWriter stderr)
    {
        switch (ex)
        {
            case InvalidRequestException invalid:
                foreach (var e in invalid.Errors) stderr.WriteLine($"{file}: {e}");
                return true;
            case RuleSetNotFoundException notFound:
                stderr.WriteLine($"{file}: {notFound.Message}");
                return true;
            default:
                return false;
        }
    }

    private static int Test(RuleCatalog catalog, Options opts, TextWriter stdout, TextWriter stderr)
    {
        int passed = 0, failed = 0;
        var errors = new List<RuleError>();
        var sets = catalog.Versions.Select(v => v.Definition).Concat(catalog.Overlays).ToList();
        if (opts.Positional is { } only && sets.All(d => d.Id != only))
        {
            stderr.WriteLine($"test: no rule set '{only}' (loaded: {string.Join(", ", sets.Select(d => d.Id))})");
            return 1;
        }
        foreach (var rs in sets.Where(r => opts.Positional is null || r.Id == opts.Positional))
        {
            var cases = GoldenTests.Load(rs, errors);
            foreach (var c in cases) Report(GoldenTests.Run(c, catalog), c.File, c.Line, c.Name);
            var allocations = AllocationGoldenTests.Load(rs.Directory, rs.Overlay?.Patches ?? rs.Id, errors);
            foreach (var c in allocations) Report(AllocationGoldenTests.Run(c, catalog), c.File, c.Line, c.Name);
            stdout.WriteLine($"{rs.Id}: {cases.Count} golden case(s), {allocations.Count} golden allocation(s)");
        }
        foreach (var e in errors) stderr.WriteLine(e);
        stdout.WriteLine($"{passed} passed, {failed + errors.Count} failed");
        return failed + errors.Count == 0 ? 0 : 1;

        void Report(GoldenResult r, string file, int line, string name)
        {
            if (r.Passed)
            {
                passed++;
                return;
            }
            failed++;
            stdout.WriteLine($"FAIL {file}:{line} {name}");
            foreach (var f in r.Failures) stdout.WriteLine($"     {f}");
        }
    }

    internal sealed record Options(string? Command, string? Positional, string? Rules, bool Json, bool NotApplied, bool NoCache,
        IReadOnlyDictionary<string, string> Values)
    {
        /// <summary>Options that take a value (beyond --rules).</summary>
        private static readonly HashSet<string> Valued = ["--policy", "--top", "--companies", "--works", "--seed", "--year", "--budget", "--rule-set", "--out", "--a", "--b", "--html"];

        /// <summary>The second positional argument (diff A B).</summary>
        public string? Second => Values.GetValueOrDefault("#2");

        public string? Value(string name) => Values.GetValueOrDefault(name);

        public static Options? Parse(string[] args)
        {
            string? command = null, positional = null, rules = null;
            bool json = false, notApplied = false, noCache = false;
            var values = new Dictionary<string, string>();
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--rules" when i + 1 < args.Length: rules = args[++i]; break;
                    case var v when Valued.Contains(v) && i + 1 < args.Length: values[v] = args[++i]; break;
                    case "--json": json = true; break;
                    case "--not-applied": notApplied = true; break;
                    case "--no-cache": noCache = true; break;
                    case var a when a.StartsWith("--", StringComparison.Ordinal): return null;
                    case var a when command is null: command = a; break;
                    case var a when positional is null: positional = a; break;
                    case var a when command == "diff" && !values.ContainsKey("#2"): values["#2"] = a; break;
                    default: return null;
                }
            }
            return new Options(command, positional, rules, json, notApplied, noCache, values);
        }
    }
}

/// <summary>The explanation as a table for people.</summary>
internal static class ScoreTable
{
    public static void Write(ScoreResult result, CompiledRuleSet rs, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine($"{result.RuleSetId} (sha256 {result.ContentHash[..16]})  work: {(result.WorkId.Length > 0 ? result.WorkId : "-")}");
        var quotas = rs.Definition.Quotas.ToDictionary(q => q.Id);
        foreach (var role in result.Roles)
        {
            o.WriteLine();
            o.WriteLine($"{RoleNames.Key(role.Role)}: {role.TotalPoints.ToString("0.####", inv)} points");
            foreach (var q in role.Quotas)
            {
                o.WriteLine($"  {q.QuotaId} ({quotas.GetValueOrDefault(q.QuotaId)?.Title}): {q.Points.ToString("0.####", inv)}");
                foreach (var l in q.Lines)
                {
                    o.WriteLine($"    {l.RowId,-18} {l.Points.ToString("0.####", inv),12}  {l.Label}");
                    o.WriteLine($"    {"",-18} {"",12}  [{l.Citation}]");
                    foreach (var (k, v) in l.Inputs) o.WriteLine($"    {"",-18} {"",12}    {k} = {v}");
                }
            }
            if (role.NotApplied.Count > 0)
            {
                o.WriteLine("  not applied:");
                foreach (var l in role.NotApplied) o.WriteLine($"    {l.RowId,-18} {l.Reason}");
            }
        }
    }
}
