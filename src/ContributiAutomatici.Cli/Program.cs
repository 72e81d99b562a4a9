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
            _ => Usage2(stderr),
        };
    }

    private const string Usage = """
        usage:
          contributi validate [--rules DIR] [--no-cache]
          contributi score REQUEST.json [--rules DIR] [--json] [--not-applied] [--no-cache]
          contributi test [RULE_SET_ID] [--rules DIR] [--no-cache]
        REQUEST.json is a contributi.v1.ScoreWorkRequest in the protobuf JSON mapping (see examples/).
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
        catch (InvalidRequestException ex)
        {
            foreach (var e in ex.Errors) stderr.WriteLine($"{file}: {e}");
            return 1;
        }
        catch (RuleSetNotFoundException ex)
        {
            stderr.WriteLine($"{file}: {ex.Message}");
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
            stdout.WriteLine(new JsonFormatter(JsonFormatter.Settings.Default.WithIndentation()).Format(ResponseMapper.ToProto(result)));
            return 0;
        }
        ScoreTable.Write(result, req.RuleSet, stdout);
        return 0;
    }

    private static int Test(RuleCatalog catalog, Options opts, TextWriter stdout, TextWriter stderr)
    {
        int passed = 0, failed = 0;
        var errors = new List<RuleError>();
        foreach (var rs in catalog.RuleSets.Where(r => opts.Positional is null || r.Id == opts.Positional))
        {
            var cases = GoldenTests.Load(rs.Definition.Directory, rs.Id, errors);
            foreach (var c in cases)
            {
                var r = GoldenTests.Run(c, catalog);
                if (r.Passed) passed++;
                else
                {
                    failed++;
                    stdout.WriteLine($"FAIL {c.File}:{c.Line} {c.Name}");
                    foreach (var f in r.Failures) stdout.WriteLine($"     {f}");
                }
            }
            stdout.WriteLine($"{rs.Id}: {cases.Count} golden case(s)");
        }
        foreach (var e in errors) stderr.WriteLine(e);
        stdout.WriteLine($"{passed} passed, {failed + errors.Count} failed");
        return failed + errors.Count == 0 ? 0 : 1;
    }

    private sealed record Options(string? Command, string? Positional, string? Rules, bool Json, bool NotApplied, bool NoCache)
    {
        public static Options? Parse(string[] args)
        {
            string? command = null, positional = null, rules = null;
            bool json = false, notApplied = false, noCache = false;
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--rules" when i + 1 < args.Length: rules = args[++i]; break;
                    case "--json": json = true; break;
                    case "--not-applied": notApplied = true; break;
                    case "--no-cache": noCache = true; break;
                    case var a when a.StartsWith("--", StringComparison.Ordinal): return null;
                    case var a when command is null: command = a; break;
                    case var a when positional is null: positional = a; break;
                    default: return null;
                }
            }
            return new Options(command, positional, rules, json, notApplied, noCache);
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
