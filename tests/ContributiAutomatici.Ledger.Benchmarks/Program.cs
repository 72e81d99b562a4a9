using System.Diagnostics;
using System.Globalization;
using System.Text;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Ledger;
using ContributiAutomatici.Protocol;
using Npgsql;
using ContributiAutomatici.Tooling;

namespace ContributiAutomatici.Ledger.Benchmarks;

/// <summary>
/// The fund ledger's benchmark (issue 29 item 4), on SQLite (a temp file) and on PostgreSQL (when CONTRIBUTI_LEDGER_POSTGRES
/// names a server: a fresh database each run):
/// (a) posting the synthetic year (YearSynthesizer: 5,000 companies, 50,000 works, seed 1, the allocation benchmark's budget),
///     three runs on a fresh ledger each, best and median;
/// (b) five years (2023-2027, seeds 1-5) of postings, with a draw for each company every year after its posting and an
///     expiry run on 1 January two years after each (2025-2029: at 2029-01-01 the 2023 credits lapse), then one at
///     2030-01-01 (the 2024 credits); each phase timed;
/// (c) a statement (art. 12.7) of 200 companies picked at random on that five-year ledger, median and max.
/// Usage: dotnet run -c Release --project tests/ContributiAutomatici.Ledger.Benchmarks [-- --companies N --works N --out FILE]
/// (--post-only: (a) alone, printed, RESULTS.md untouched).
/// </summary>
public static class Program
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private const decimal Budget = 100_000_000m;

    public static int Main(string[] args)
    {
        var companies = Arg(args, "--companies", 5000);
        var works = Arg(args, "--works", 50000);
        var output = Array.IndexOf(args, "--out") is var o and >= 0 ? args[o + 1] : Path.Combine(Root(), "tests", "ContributiAutomatici.Ledger.Benchmarks", "RESULTS.md");
        var catalog = RuleCatalog.Load(Path.Combine(Root(), "rules"), new RuleCompileOptions());
        var rs = catalog.Find("dm-2021")!;

        var report = new StringBuilder();
        report.AppendLine("# The fund ledger: benchmark results").AppendLine();
        var command = "dotnet run -c Release --project tests/ContributiAutomatici.Ledger.Benchmarks" + (args.Length > 0 ? " -- " + string.Join(' ', args) : "");
        report.AppendLine(FormattableString.Invariant($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `{command}` (PostgreSQL: `CONTRIBUTI_LEDGER_POSTGRES` set to ") +
            FormattableString.Invariant($"the server that `tests/ContributiAutomatici.Ledger.Tests/start-postgres.sh` starts), on a shared 2-core machine ({Environment.ProcessorCount} ") +
            FormattableString.Invariant($"logical CPUs seen, other builds running beside it; load average at the start {LoadAverage()}): figures vary widely from run to run.")).AppendLine();

        var postOnly = args.Contains("--post-only");
        var postings = new List<PostingRequest>();
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < (postOnly ? 1 : 5); i++)
        {
            var year = 2023 + i;
            sw.Restart();
            var items = YearSynthesizer.Items(rs, companies, works, seed: 1 + i, year, Budget);
            postings.Add(YearPosting.Allocate(catalog, items, new DateOnly(year + 1, 3, 1)).Posting);
            Console.Error.WriteLine($"year {year}: allocated, {postings[^1].Credits.Count} credits, {sw.ElapsedMilliseconds} ms");
        }
        var first = postings[0];
        report.AppendLine(FormattableString.Invariant($"The year: `YearSynthesizer.Items(dm-2021, companies: {companies:N0}, works: {works:N0}, seed: 1, year: 2023, ") +
            FormattableString.Invariant($"budget: {Budget:N0})`, allocated in-process (not timed here; see the allocation benchmark): {first.Credits.Count:N0} credits ") +
            FormattableString.Invariant($"(company, work, sub-quota) of {first.Credits.Select(c => c.CompanyId).Distinct().Count():N0} companies, EUR {first.Credits.Sum(c => c.Amount):N2}; ") +
            FormattableString.Invariant($"{first.Credits.Count + first.Credits.Count(c => c.AuthorsShare > 0):N0} journal entries.")).AppendLine();

        var backends = new List<string> { "sqlite" };
        if (Environment.GetEnvironmentVariable("CONTRIBUTI_LEDGER_POSTGRES") is { Length: > 0 }) backends.Add("postgres");
        report.AppendLine("## (a) Posting the year (goal: under 2 s)").AppendLine();
        report.AppendLine("| database | run 1 | run 2 | run 3 | best | median |").AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var b in backends)
        {
            var times = new List<double>();
            for (var run = 0; run < 3; run++)
            {
                var ledger = LedgerStore.Open(NewTarget(b));
                sw.Restart();
                var r = ledger.Post(first);
                times.Add(sw.Elapsed.TotalMilliseconds);
                if (!r.Applied) throw new InvalidOperationException("not applied");
            }
            var sorted = times.Order().ToList();
            report.AppendLine(Inv, $"| {b} | {Ms(times[0])} | {Ms(times[1])} | {Ms(times[2])} | {Ms(sorted[0])} | {Ms(sorted[1])} |");
            Console.Error.WriteLine($"{b}: post {string.Join(", ", times.Select(Ms))}");
        }
        report.AppendLine();
        if (postOnly)
        {
            Console.Write(report);
            return 0;
        }

        report.AppendLine("## (b) Five years: postings, a draw per company per year, expiries").AppendLine();
        report.AppendLine("| database | phase | operations | total | per operation |").AppendLine("|---|---|---:|---:|---:|");
        var statementTimes = new Dictionary<string, List<double>>();
        foreach (var b in backends)
        {
            var ledger = LedgerStore.Open(NewTarget(b));
            var rows = new List<(string Phase, int Count, double Ms)>();
            for (var i = 0; i < 5; i++)
            {
                var year = 2023 + i;
                var posting = postings[i];
                sw.Restart();
                ledger.Post(posting);
                rows.Add(($"post {year}", 1, sw.Elapsed.TotalMilliseconds));
                // Each company draws a tenth of what it was credited this year (at least 1 euro) for a new production.
                var draws = posting.Credits.GroupBy(c => c.CompanyId).Select(g => (Company: g.Key, Amount: Math.Max(1m, decimal.Round(g.Sum(c => c.Amount - c.AuthorsShare) / 10m, 2))))
                    .ToList();
                sw.Restart();
                foreach (var (company, amount) in draws)
                    ledger.Draw(new DrawRequest(company, new DateOnly(year + 1, 6, 1), $"new-{company}-{year}", "cinema", false, "production", amount * 10m, 0m, amount,
                        1_000_000m, true));
                rows.Add(($"draws {year + 1}", draws.Count, sw.Elapsed.TotalMilliseconds));
                sw.Restart();
                var lapsed = ledger.Expire(new DateOnly(year + 2, 1, 1));
                rows.Add(($"expire {year + 2}-01-01 (EUR {lapsed.Total:N2} of {lapsed.Companies.Count:N0} companies)", 1, sw.Elapsed.TotalMilliseconds));
            }
            foreach (var at in new[] { new DateOnly(2030, 1, 1) })
            {
                sw.Restart();
                var r = ledger.Expire(at);
                rows.Add(($"expire {at:yyyy-MM-dd} (EUR {r.Total:N2} of {r.Companies.Count:N0} companies)", 1, sw.Elapsed.TotalMilliseconds));
            }
            foreach (var (phase, count, ms) in rows)
                report.AppendLine(Inv, $"| {b} | {phase} | {count:N0} | {Ms(ms)} | {Ms(ms / count)} |");
            report.AppendLine(Inv, $"| {b} | **all** | | {Ms(rows.Sum(r => r.Ms))} | |");
            Console.Error.WriteLine($"{b}: five years {Ms(rows.Sum(r => r.Ms))}");

            var rnd = new Random(7);
            var ids = ledger.Companies();
            var times = new List<double>();
            for (var i = 0; i < 200; i++)
            {
                var id = ids[rnd.Next(ids.Count)];
                sw.Restart();
                ledger.Statement(id, new DateOnly(2029, 6, 30));
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
            statementTimes[b] = times;
        }
        report.AppendLine();
        report.AppendLine("## (c) A company's statement on the five-year ledger (goal: under 50 ms)").AppendLine();
        report.AppendLine("| database | statements | median | 95th percentile | max |").AppendLine("|---|---:|---:|---:|---:|");
        foreach (var (b, times) in statementTimes)
        {
            var s = times.Order().ToList();
            report.AppendLine(Inv, $"| {b} | {s.Count} | {Ms(s[s.Count / 2])} | {Ms(s[(int)(s.Count * 0.95)])} | {Ms(s[^1])} |");
        }
        report.AppendLine().AppendLine(FormattableString.Invariant($"Load average at the end: {LoadAverage()}."));
        File.WriteAllText(output, report.ToString());
        Console.Write(report);
        return 0;
    }

    /// <summary>The 1-minute load average (Linux), how busy the shared machine was.</summary>
    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    private static string Ms(double ms) => ms.ToString(ms < 10 ? "0.00" : "0", Inv) + " ms";

    private static int Arg(string[] args, string name, int fallback) =>
        Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], Inv) : fallback;

    private static string NewTarget(string backend)
    {
        if (backend == "sqlite") return Path.Combine(Directory.CreateTempSubdirectory("contributi-ledger-bench-").FullName, "ledger.db");
        var admin = Environment.GetEnvironmentVariable("CONTRIBUTI_LEDGER_POSTGRES")!;
        var name = "ledger_bench_" + Guid.NewGuid().ToString("N")[..12];
        using (var c = new NpgsqlConnection(admin))
        {
            c.Open();
            using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            cmd.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    private static string Root()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ContributiAutomatici.sln"))) return d.FullName;
        throw new InvalidOperationException("repository root not found");
    }
}
