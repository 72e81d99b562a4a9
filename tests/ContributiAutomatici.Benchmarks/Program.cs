using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Benchmarks;

/// <summary>
/// Engine benchmark, side by side in one run:
/// (a) start-up of all rule sets: cold (parse + validate + Roslyn compile, in a fresh process, empty cache)
///     and warm (same, compiled assembly taken from the content-hash cache), each in child processes;
/// (b) scoring throughput on one thread for a realistic work (producer and theatrical distributor):
///     compiled Tabella 1 vs the hand-written Tabella 1 scorer, plus the full DM 2021 rule set and the
///     explanation path. Writes RESULTS.md beside the project.
/// Usage: dotnet run -c Release --project tests/ContributiAutomatici.Benchmarks [-- [--quick] [--published-cli PATH]]
/// (PATH: a ReadyToRun publish of src/ContributiAutomatici.Cli, to measure its cold start side by side).
/// (c, d) the yearly allocation, in-process and over gRPC: <c>-- allocation</c>, see <see cref="AllocationBenchmark"/>.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length >= 3 && args[0] == "--child") return Child(args[1], args[2]);
        if (args.Length >= 1 && args[0] == "--alloc-child") return AllocationBenchmark.Child(args[1..]).GetAwaiter().GetResult();
        if (args.Length >= 1 && args[0] == "allocation") return AllocationBenchmark.Measure(args[1..]);
        if (args.Length >= 1 && args[0] == "--guard") return Guard();
        var quick = args.Contains("--quick");
        var rules = Path.GetFullPath(RulesLocator.Find(null));
        var inv = CultureInfo.InvariantCulture;
        var report = new StringBuilder();
        report.AppendLine("# Engine benchmark results");
        report.AppendLine();
        report.AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `dotnet run -c Release --project tests/ContributiAutomatici.Benchmarks{(args.Length > 0 ? " -- " + string.Join(" ", args) : "")}`.");
        report.AppendLine($"Machine: {Environment.ProcessorCount} cores, {CpuModel()}, {RuntimeInformation.OSDescription}, .NET {Environment.Version}.");
        report.AppendLine();

        // (a) start-up
        var runs = quick ? 3 : 7;
        var cache = Path.Combine(Path.GetTempPath(), "contributi-bench-cache-" + Guid.NewGuid().ToString("N"));
        var cold = new List<(double Load, double Process)>();
        for (var i = 0; i < runs; i++)
        {
            var empty = cache + "-cold" + i;
            cold.Add(RunChild(rules, empty));
            Directory.Delete(empty, true);
        }
        RunChild(rules, cache); // populate
        var warm = Enumerable.Range(0, runs).Select(_ => RunChild(rules, cache)).ToList();
        Directory.Delete(cache, true);

        // The same with a ReadyToRun publish of the CLI (Roslyn precompiled, as in the container image).
        var cliIndex = Array.IndexOf(args, "--published-cli");
        List<(double Load, double Process)>? r2rCold = null, r2rWarm = null;
        if (cliIndex >= 0 && cliIndex + 1 < args.Length)
        {
            var cli = args[cliIndex + 1];
            r2rCold = [];
            for (var i = 0; i < runs; i++)
            {
                var empty = cache + "-r2r-cold" + i;
                r2rCold.Add(RunCli(cli, rules, empty));
                Directory.Delete(empty, true);
            }
            RunCli(cli, rules, cache);
            r2rWarm = Enumerable.Range(0, runs).Select(_ => RunCli(cli, rules, cache)).ToList();
            Directory.Delete(cache, true);
        }

        report.AppendLine("## (a) Start-up of all rule sets under rules/");
        report.AppendLine();
        report.AppendLine($"Median of {runs} fresh processes each. *Load* is `RuleCatalog.Load` (parse, validate, compile or load from cache) timed inside the process, JIT included; *process* is the child's whole wall time (runtime start, load, exit).");
        report.AppendLine();
        report.AppendLine("| start-up | load (ms) | process (ms) | target |");
        report.AppendLine("|---|---:|---:|---|");
        report.AppendLine($"| cold: parse + validate + Roslyn compile, empty cache | {Median(cold.Select(c => c.Load)):0} | {Median(cold.Select(c => c.Process)):0} | load <= 1500 ms as shipped (ReadyToRun) |");
        report.AppendLine($"| warm: parse + compiled assembly from the cache, verified; no Roslyn loaded | {Median(warm.Select(c => c.Load)):0} | {Median(warm.Select(c => c.Process)):0} | load <= 100 ms |");
        if (r2rCold is not null && r2rWarm is not null)
        {
            report.AppendLine($"| cold, ReadyToRun publish (as in the container image) | {Median(r2rCold.Select(c => c.Load)):0} | {Median(r2rCold.Select(c => c.Process)):0} | load <= 1500 ms |");
            report.AppendLine($"| warm, ReadyToRun publish (`validate`) | {Median(r2rWarm.Select(c => c.Load)):0} | {Median(r2rWarm.Select(c => c.Process)):0} | load <= 100 ms, process <= 250 ms |");
        }
        report.AppendLine();
        report.AppendLine("Cold start-up is mostly the JIT compiling Roslyn itself: the NuGet Roslyn assemblies are IL only. " +
                          "A ReadyToRun publish (`dotnet publish -p:PublishReadyToRun=true -r linux-x64`) precompiles them; the rule set's own " +
                          "parse, checks and sandbox take a few hundred ms (`contributi validate` prints the phases). A warm start tries the cache before " +
                          "anything else and loads no Microsoft.CodeAnalysis assembly (WarmStartTests): what is left is the YAML parse and the verifier.");
        report.AppendLine();

        // (b) throughput
        var n = quick ? 100_000 : 1_000_000;
        var rounds = quick ? 3 : 5;
        var results = Throughput(rules, n, rounds);

        report.AppendLine("## (b) Scoring throughput, one thread");
        report.AppendLine();
        report.AppendLine("One work scored for two roles (producer and theatrical distributor) per operation: the README's example (EUR 2.4M box office from 10 July, cost EUR 3M, Venice competition, a David best-film nomination, two markets). Best of " +
                          $"{rounds} rounds of {n:N0} operations ({n / 10:N0} for the explanation path) after a warm-up. The hand-written scorer is checked to give the same totals before timing.");
        report.AppendLine();
        report.AppendLine("| scorer | works/s | ns/work | bytes allocated/work | vs hand-written |");
        report.AppendLine("|---|---:|---:|---:|---:|");
        var baseline = results[0].PerSecond;
        foreach (var (name, perSecond, alloc) in results)
            report.AppendLine($"| {name} | {perSecond.ToString("N0", inv)} | {1e9 / perSecond:0} | {alloc:0} | {baseline / perSecond:0.00}x slower |");
        report.AppendLine();
        report.AppendLine("Targets: compiled Tabella 1 within 2x of the hand-written code; >= 200,000 works scored per second per core.");
        var text = report.ToString().Replace("| 1.00x slower |", "| 1.00x (baseline) |");
        Console.Write(text);
        var outPath = Path.Combine(FindProjectDir(), "RESULTS.md");
        // Sections written by other modes are kept as they are: (c) the server's memory (the load benchmark's --memory),
        // (d) the allocation (-- allocation). They follow (a) and (b), in that order.
        var old = File.Exists(outPath) ? File.ReadAllText(outPath) : "";
        foreach (var heading in new[] { "## (c) Memory of the server", AllocationBenchmark.Heading, "## (e) Comparing a year" })
        {
            var at = old.IndexOf(heading, StringComparison.Ordinal);
            if (at < 0) continue;
            var end = old.IndexOf("\n## (", at + heading.Length, StringComparison.Ordinal);
            var next = end < 0 ? old.Length : end + 1;
            // A section runs to the next top-level section that is not one of its own (the allocation's (d') stays with (d)).
            while (end >= 0 && old.AsSpan(end + 1).StartsWith(heading.AsSpan(0, 5)))
            {
                end = old.IndexOf("\n## (", end + 1, StringComparison.Ordinal);
                next = end < 0 ? old.Length : end + 1;
            }
            text = text.TrimEnd() + "\n\n" + old[at..next].TrimEnd();
        }
        File.WriteAllText(outPath, text + "\n");
        Console.WriteLine($"written {outPath}");
        return 0;
    }

    /// <summary>
    /// The side-by-side throughput of (b): the hand-written Tabella 1 and the compiled rules, in one process, the
    /// baseline first checked to give the same totals.
    /// </summary>
    private static List<(string Name, double PerSecond, double AllocPerOp)> Throughput(string rules, int n, int rounds)
    {
        var full = RuleCatalog.Load(rules, new RuleCompileOptions { CacheDirectory = null }).Find("dm-2021")!;
        var t1Dir = Tabella1Only(rules);
        var t1 = RuleCatalog.Load(t1Dir, new RuleCompileOptions { CacheDirectory = null }).RuleSets[0];
        var festivals = full.Definition.Lists.First(l => l.Kind == "festivals").Entries
            .GroupBy(e => e.Id).ToDictionary(g => g.Key, g => g.Select(e => (e.Band ?? "", e.Category, e.IncrementPercent)).ToArray());
        var hand = new HandWrittenTabella1(festivals);
        var work = ExampleWork();
        RoleInput[] roles = [new(Role.Producer), new(Role.TheatricalDistributor, new DateOnly(2022, 5, 2), 800_000m)];

        // The baseline must compute the same numbers, or the comparison means nothing.
        var compiled = t1.Score(work, roles, ScoreOptions.TotalsOnly);
        foreach (var r in roles)
        {
            var (e, c) = hand.Score(work, r);
            var q = compiled.For(r.Role)!.Quotas.ToDictionary(x => x.QuotaId, x => x.Points);
            if (q.GetValueOrDefault("cinema.economic") != e || q.GetValueOrDefault("cinema.cultural") != c)
                throw new InvalidOperationException($"hand-written and compiled Tabella 1 disagree for {r.Role}: {e}/{c} vs {string.Join(", ", q)}");
        }

        var results = new List<(string Name, double PerSecond, double AllocPerOp)>
        {
            Measure("hand-written C# Tabella 1 (totals)", n, rounds, () => { var a = hand.Score(work, roles[0]); var b = hand.Score(work, roles[1]); return a.Economic + b.Cultural; }),
            Measure("compiled rules, Tabella 1 only (totals)", n, rounds, () => t1.Score(work, roles, ScoreOptions.TotalsOnly).Roles[0].TotalPoints),
            Measure("compiled rules, all of DM 2021 (totals)", n, rounds, () => full.Score(work, roles, ScoreOptions.TotalsOnly).Roles[0].TotalPoints),
            Measure("compiled rules, all of DM 2021, with explanation", n / 10, rounds, () => full.Score(work, roles, ScoreOptions.Default).Roles[0].TotalPoints),
        };
        Directory.Delete(t1Dir, true);
        return results;
    }

    /// <summary>
    /// CI's guard against a gross regression: a short run of (b), and the ratios of the compiled rules to the hand-written
    /// scorer (measured in the same process, so a busy machine slows both) compared with the ratios committed in
    /// RESULTS.md: exit 1 when one is worse than twice its committed value.
    /// </summary>
    private static int Guard()
    {
        var inv = CultureInfo.InvariantCulture;
        var rules = Path.GetFullPath(RulesLocator.Find(null));
        var resultsFile = Path.Combine(Path.GetDirectoryName(rules)!, "tests", "ContributiAutomatici.Benchmarks", "RESULTS.md");
        var committed = File.ReadLines(resultsFile)
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^\| (compiled rules, [^|]*\(totals\)) \|.*\| ([0-9.]+)x slower \|$"))
            .Where(m => m.Success).ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, inv));
        var results = Throughput(rules, 200_000, 3);
        var baseline = results[0].PerSecond;
        var failed = false;
        foreach (var (name, perSecond, _) in results.Where(r => committed.ContainsKey(r.Name)))
        {
            var ratio = baseline / perSecond;
            var limit = 2 * committed[name];
            failed |= ratio > limit;
            Console.WriteLine($"guard: {name}: {ratio.ToString("0.00", inv)}x the hand-written scorer (committed {committed[name].ToString("0.00", inv)}x, limit {limit.ToString("0.00", inv)}x){(ratio > limit ? ": REGRESSION" : "")}");
        }
        if (committed.Count == 0)
        {
            Console.WriteLine($"guard: no committed ratios found in {resultsFile}");
            return 1;
        }
        return failed ? 1 : 0;
    }

    private static (string, double, double) Measure(string name, int n, int rounds, Func<decimal> op)
    {
        decimal sink = 0;
        for (var i = 0; i < Math.Max(n / 10, 10_000); i++) sink += op();
        var best = 0.0;
        var alloc = 0.0;
        for (var r = 0; r < rounds; r++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < n; i++) sink += op();
            sw.Stop();
            alloc = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)n;
            best = Math.Max(best, n / sw.Elapsed.TotalSeconds);
        }
        if (sink == -1) Console.WriteLine(sink);
        Console.Error.WriteLine($"{name}: {best:N0}/s");
        return (name, best, alloc);
    }

    /// <summary>A child process: load the rules once, print the load time in ms.</summary>
    private static int Child(string rules, string cache)
    {
        var sw = Stopwatch.StartNew();
        var catalog = RuleCatalog.Load(rules, new RuleCompileOptions { CacheDirectory = cache });
        sw.Stop();
        Console.WriteLine(sw.Elapsed.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + " " + catalog.RuleSets[0].Source);
        return 0;
    }

    private static (double Load, double Process) RunChild(string rules, string cache)
    {
        var self = typeof(Program).Assembly.Location;
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(self);
        foreach (var a in new[] { "--child", rules, cache }) psi.ArgumentList.Add(a);
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        sw.Stop();
        if (p.ExitCode != 0) throw new InvalidOperationException("child failed: " + output);
        return (double.Parse(output.Split(' ')[0], CultureInfo.InvariantCulture), sw.Elapsed.TotalMilliseconds);
    }

    /// <summary>Runs a published CLI's validate: its own reported load time, and the process wall time.</summary>
    private static (double Load, double Process) RunCli(string cli, string rules, string cache)
    {
        var psi = new ProcessStartInfo(cli) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "validate", "--rules", rules }) psi.ArgumentList.Add(a);
        psi.Environment["CONTRIBUTI_RULES_CACHE"] = cache;
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        sw.Stop();
        var m = System.Text.RegularExpressions.Regex.Match(output, @"valid \((\d+) ms\)");
        if (p.ExitCode != 0 || !m.Success) throw new InvalidOperationException("published CLI failed: " + output);
        return (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), sw.Elapsed.TotalMilliseconds);
    }

    /// <summary>A copy of dm-2021 whose manifest lists Tabella 1 only, for the like-for-like comparison.</summary>
    private static string Tabella1Only(string rules)
    {
        var dir = Path.Combine(Path.GetTempPath(), "contributi-bench-t1-" + Guid.NewGuid().ToString("N"), "dm-2021-t1");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Path.Combine(rules, "dm-2021"), "*.yaml")) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var manifest = Path.Combine(dir, "ruleset.yaml");
        File.WriteAllLines(manifest, File.ReadAllLines(manifest).Where(l => !System.Text.RegularExpressions.Regex.IsMatch(l, @"^\s+- tabella-[2-5]\.yaml")));
        return Path.GetDirectoryName(dir)!;
    }

    private static Work ExampleWork() => new()
    {
        Id = "esempio-opera-prima",
        Kind = WorkKind.Cinema,
        FirstOrSecondWork = true,
        ProductionCost = 3_000_000m,
        FirstReleaseDate = new DateOnly(2022, 7, 10),
        BoxOffice = [new(new DateOnly(2022, 7, 31), 1_500_000m), new(new DateOnly(2022, 9, 30), 900_000m)],
        Festivals = [new("venezia", FestivalSection.Competition, new DateOnly(2022, 7, 26))],
        Prizes = [new("david-di-donatello", PrizeCategory.BestFilm, PrizeOutcome.Nomination, new DateOnly(2023, 3, 29))],
        Markets = [new("berlinale-coproduction-market", new DateOnly(2021, 12, 1)), new("torino-film-lab", new DateOnly(2021, 6, 1))],
    };

    internal static int IntArg(string[] args, string name, int fallback) =>
        Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;

    internal static double Median(IEnumerable<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    internal static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        }
        catch (IOException) { return "unknown CPU"; }
    }

    internal static string FindProjectDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ContributiAutomatici.Benchmarks.csproj"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }
}
