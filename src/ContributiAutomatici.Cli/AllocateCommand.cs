using System.Globalization;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Cli;

/// <summary>
/// <c>allocate</c>: a year from a file (one AllocationYear as JSON, or AllocateRequest items as JSON lines) allocated
/// in-process; a readable summary per quota and the top companies, or <c>--json</c> for the whole result.
/// <c>synth</c>: a synthetic year for tests and benchmarks.
/// </summary>
internal static class AllocateCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(RuleCatalog catalog, Program.Options opts, TextWriter stdout, TextWriter stderr)
    {
        if (opts.Positional is not { } file)
        {
            stderr.WriteLine("allocate needs a year file: contributi.v1.AllocationYear (.json) or AllocateRequest lines (.jsonl)");
            return 2;
        }
        List<V1.AllocateRequest> items;
        try
        {
            items = Read(file);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or IOException or InvalidJsonException)
        {
            stderr.WriteLine($"{file}: {ex.Message}");
            return 1;
        }
        if (opts.Value("--policy") is { } policy && items.Count > 0 && items[0].Header is { } header)
        {
            header.ExcessPolicy = policy switch
            {
                "unassigned" => V1.ExcessPolicy.Unassigned,
                "redistribute" => V1.ExcessPolicy.Redistribute,
                _ => V1.ExcessPolicy.Unspecified,
            };
            if (header.ExcessPolicy == V1.ExcessPolicy.Unspecified)
            {
                stderr.WriteLine($"--policy is 'unassigned' or 'redistribute', got '{policy}'");
                return 2;
            }
        }
        AllocationOutcome outcome;
        try
        {
            var reader = new AllocationMapper.Reader(catalog);
            foreach (var item in items) reader.Add(item);
            outcome = Allocator.Run(reader.Build());
        }
        catch (Exception ex) when (Program.ReportRequestError(ex, file, stderr))
        {
            return 1;
        }
        if (opts.Json)
        {
            var result = AllocationMapper.Result(AllocationMapper.Items(outcome));
            stdout.WriteLine(new JsonFormatter(JsonFormatter.Settings.Default.WithIndentation()).Format(result));
            return 0;
        }
        var top = int.TryParse(opts.Value("--top"), NumberStyles.None, Inv, out var n) ? n : 10;
        WriteSummary(outcome, top, stdout);
        return 0;
    }

    /// <summary>A year file: one AllocationYear (JSON), or one AllocateRequest per line (JSON lines, for large years).</summary>
    internal static List<V1.AllocateRequest> Read(string file)
    {
        if (file.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
            return File.ReadLines(file).Where(l => l.Trim().Length > 0).Select(l => JsonParser.Default.Parse<V1.AllocateRequest>(l)).ToList();
        return AllocationMapper.Items(JsonParser.Default.Parse<V1.AllocationYear>(File.ReadAllText(file))).ToList();
    }

    private static string Eur(decimal d) => d.ToString("#,0.00", Inv);

    private static void WriteSummary(AllocationOutcome o, int top, TextWriter w)
    {
        w.WriteLine($"{o.RuleSetId} (sha256 {o.ContentHash[..16]}, {o.Resolution})  application year {o.ApplicationYear}, credited {o.CreditingYear}");
        w.WriteLine($"budget EUR {Eur(o.Budget)}; excess policy {o.Excess.ToString().ToLowerInvariant()} ({(o.ExcessFromRequest ? "request" : "rule set")}); " +
                    $"{o.Companies.Count} companies, {o.Works.Count} works, {o.ClaimCount} claims, {o.Exclusions.Count} exclusions");
        w.WriteLine();
        w.WriteLine($"{"quota",-20} {"resources",16} {"points",14} {"EUR/point",12} {"allocated",16} {"work cap cut",14} {"co. cap cut",14} {"unassigned",14} {"residue",8}");
        foreach (var q in o.Quotas)
        {
            if (!q.Pays)
            {
                w.WriteLine($"{q.Quota.Id,-20} {Eur(q.Resources),16}  {(q.Quota.Reserved ? "reserved, not allocated" : "split into its sub-quotas")} [{q.Quota.Citation}]");
                continue;
            }
            w.WriteLine($"{q.Quota.Id,-20} {Eur(q.Resources),16} {q.TotalPoints.ToString("0.##", Inv),14} {q.PointValue.ToString("0.####", Inv),12} " +
                        $"{Eur(q.Allocated),16} {Eur(q.CutByWorkCap),14} {Eur(q.CutByCompanyCap),14} {Eur(q.Unassigned),14} {q.RoundingResidue.ToString("0.####", Inv),8}");
            if (q.ShortFilms is { Binding: true } sf)
                w.WriteLine($"{"",-20} short films limit {sf.LimitPercent.ToString("0.##", Inv)}% binding: EUR {Eur(sf.Resources)} to {sf.Points.ToString("0.##", Inv)} points at {sf.PointValue.ToString("0.####", Inv)}; the other works at {sf.OtherPointValue.ToString("0.####", Inv)}");
        }
        w.WriteLine();
        w.WriteLine($"allocated EUR {Eur(o.Allocated)}; unassigned EUR {Eur(o.Unassigned)}; reserved EUR {Eur(o.Reserved)}; rounding residue EUR {o.RoundingResidue.ToString("0.####", Inv)}");
        w.WriteLine();
        w.WriteLine($"top {Math.Min(top, o.Companies.Count)} companies:");
        foreach (var c in o.Companies.OrderByDescending(c => c.Total).ThenBy(c => c.Id, StringComparer.Ordinal).Take(top))
        {
            var caps = c.Credits.SelectMany(x => x.Caps).Distinct().ToList();
            w.WriteLine($"  {c.Id,-12} {c.Name,-30} EUR {Eur(c.Total),16}  {string.Join(", ", c.Credits.Select(x => $"{x.QuotaId} {Eur(x.Amount)}"))}" +
                        (caps.Count > 0 ? $"  capped: {string.Join("; ", caps)}" : ""));
        }
        if (o.Exclusions.Count > 0)
        {
            w.WriteLine();
            w.WriteLine($"kept out ({o.Exclusions.Count}):");
            foreach (var e in o.Exclusions.Take(top))
                w.WriteLine($"  {(e.CompanyId.Length > 0 ? e.CompanyId + " " : "")}{e.WorkId}{(e.Role is { } r ? " " + Engine.Rules.RoleNames.Key(r) : "")}{(e.Field.Length > 0 ? " " + e.Field : "")}  [{e.Article}] {e.Reason}");
            if (o.Exclusions.Count > top) w.WriteLine($"  ... and {o.Exclusions.Count - top} more (--json for all)");
        }
    }

    public static int Synth(RuleCatalog catalog, Program.Options opts, TextWriter stdout, TextWriter stderr)
    {
        int Int(string name, int fallback) => opts.Value(name) is { } v ? int.Parse(v, NumberStyles.None, Inv) : fallback;
        int companies, works, seed, year;
        decimal budget;
        try
        {
            companies = Int("--companies", 0);
            works = Int("--works", 0);
            seed = Int("--seed", 1);
            year = Int("--year", 2023);
            budget = opts.Value("--budget") is { } b ? decimal.Parse(b, NumberStyles.Number, Inv) : 100_000_000m;
        }
        catch (FormatException ex)
        {
            stderr.WriteLine($"synth: {ex.Message}");
            return 2;
        }
        if (companies <= 0 || works <= 0)
        {
            stderr.WriteLine("synth needs --companies N and --works M (both > 0)");
            return 2;
        }
        var ruleSet = opts.Value("--rule-set") is { } id ? catalog.Find(id) : catalog.ForApplicationYear(year);
        if (ruleSet is null)
        {
            stderr.WriteLine($"synth: no rule set {(opts.Value("--rule-set") ?? $"for {year}")}");
            return 1;
        }
        var items = YearSynthesizer.Items(ruleSet, companies, works, seed, year, budget);
        var writer = opts.Value("--out") is { } path ? new StreamWriter(path) : stdout;
        try
        {
            foreach (var item in items) writer.WriteLine(JsonFormatter.Default.Format(item));
        }
        finally
        {
            if (!ReferenceEquals(writer, stdout)) writer.Dispose();
        }
        return 0;
    }
}
