using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using ContributiAutomatici.Client;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Server;
using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using ContributiAutomatici.Tooling;

namespace ContributiAutomatici.Benchmarks;

/// <summary>
/// Issue 7 item 9: a synthetic year (<see cref="YearSynthesizer"/>, fixed seed) allocated end to end, side by side
/// (c) in-process: proto items -> <see cref="AllocationMapper.Reader"/> -> <see cref="Allocator.Run"/> -> the result's items
///     as the server's stream writes them (<see cref="AllocationMapper.Frames"/>, each item's bytes written straight from the
///     outcome into one reused buffer before the next; no message built), with the scoring of the same works by the rule set
///     (totals only) timed beside it;
/// (d) over gRPC: the real server started in a process of its own on a loopback port (both processes with the workstation
///     GC, as the server ships), the year allocated from the measuring process three ways, each in processes of its own:
///     the product's path, the typed client's <c>AllocateAsync</c> (AllocateBatches, the whole result collected); the raw
///     AllocateBatches stream and the raw Allocate stream (one item per message, as before AllocateBatches) with
///     Grpc.Net.Client, every response read (and hashed, not held); each checked byte for byte against the in-process items;
///     the server's peak working set and bytes per warm allocation reported beside the client's.
/// Each measure in fresh child processes (so each has its own peak working set), a few allocations per process.
/// Usage: dotnet run -c Release --project tests/ContributiAutomatici.Benchmarks -- allocation
///     [--companies 5000] [--works 50000] [--seed 7] [--processes 3] [--runs 4]
/// Replaces its own section of RESULTS.md; the sections before it and after it are kept.
/// </summary>
public static class AllocationBenchmark
{
    public const string Heading = "## (d) Allocation of a synthetic year";
    private const decimal Budget = 100_000_000m;
    private const int Year = 2023;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>One allocation's phases: wall-clock ms, and the MB each in-process phase allocated (<c>GC.GetTotalAllocatedBytes</c>).</summary>
    private sealed record Run(double Total, double Reader, double Allocator, double Result, double Scoring, double Sent, double First,
        double ReaderMB = 0, double AllocatorMB = 0, double ResultMB = 0);

    private sealed record ChildResult(List<Run> Runs, long PeakWorkingSet, long WorkingSetBefore, long AllocatedPerRun, long ManagedAfter, string Info)
    {
        /// <summary>Over gRPC, the server process's own figures (0 in-process).</summary>
        public long ServerPeak { get; init; }
        public long ServerBefore { get; init; }
        public long ServerAllocatedPerRun { get; init; }
    }

    public static int Measure(string[] args)
    {
        var companies = Program.IntArg(args, "--companies", 5_000);
        var works = Program.IntArg(args, "--works", 50_000);
        var seed = Program.IntArg(args, "--seed", 7);
        var processes = Program.IntArg(args, "--processes", 3);
        var runs = Program.IntArg(args, "--runs", 4);
        var rules = Path.GetFullPath(RulesLocator.Find(null));
        var cache = Path.Combine(Path.GetTempPath(), "contributi-bench-alloc-cache-" + Guid.NewGuid().ToString("N"));
        RuleCatalog.Load(rules, new RuleCompileOptions { CacheDirectory = cache }); // compiled once, loaded from the cache by the children

        // The server ships with the workstation GC (README, "Memory"): the gRPC measure runs both its processes with it.
        (string Mode, bool ServerGc)[] measures =
            [("inprocess", false), ("inprocess", true), (GrpcClient, false), (GrpcClientItems, false), (GrpcBatches, false), (GrpcSingle, false)];
        var results = new Dictionary<(string, bool), List<ChildResult>>();
        foreach (var (mode, serverGc) in measures)
            results[(mode, serverGc)] = Enumerable.Range(0, processes).Select(_ =>
            {
                var r = RunChild([mode, rules, cache, companies.ToString(Inv), works.ToString(Inv), seed.ToString(Inv), runs.ToString(Inv)], serverGc);
                Console.Error.WriteLine($"{mode} ({(serverGc ? "server" : "workstation")} GC): {string.Join(" ", r.Runs.Select(x => x.Total.ToString("0", Inv)))} ms");
                return r;
            }).ToList();
        Directory.Delete(cache, true);

        var text = Report(results, companies, works, seed, processes, runs, args);
        Console.Write(text);
        var path = Path.Combine(Program.FindProjectDir(), "RESULTS.md");
        // This section replaced; what comes before it, and any section after it (notes by hand), kept.
        var old = File.Exists(path) ? File.ReadAllText(path) : "";
        var start = old.IndexOf(Heading, StringComparison.Ordinal);
        var end = start < 0 ? -1 : old.IndexOf("\n## ", start + Heading.Length, StringComparison.Ordinal);
        var before = start < 0 ? old.TrimEnd() + "\n\n" : old[..start];
        File.WriteAllText(path, before + text + (end < 0 ? "" : old[end..]));
        Console.WriteLine($"written {path}");
        return 0;
    }

    /// <summary>The gRPC measures' modes: the typed client (AllocateBatches) collecting the result or handing out its items, the raw
    /// AllocateBatches stream, the raw Allocate stream.</summary>
    private const string GrpcClient = "grpc-client", GrpcClientItems = "grpc-client-items", GrpcBatches = "grpc-batches", GrpcSingle = "grpc";

    /// <summary>The gRPC measures, as the report names them.</summary>
    private static readonly (string Mode, string Name, string Target)[] GrpcMeasures =
    [
        (GrpcClient, "(d) gRPC, the product's path: the typed client's AllocateAsync (AllocateBatches, the whole result collected; client and server one process each, workstation GC)", "< 1000 ms"),
        (GrpcClientItems, "(d) gRPC, the typed client's AllocateItemsAsync (AllocateBatches, each item hashed as it is handed out, none held)", "< 1000 ms"),
        (GrpcBatches, "(d) gRPC, AllocateBatches: the items in batches of 4,096, every response batch read", "< 1000 ms"),
        (GrpcSingle, "(d) gRPC, Allocate: one item per message in, one per message out, every response read (as before AllocateBatches)", "< 5000 ms"),
    ];

    /// <summary>The row of the CI guard on the allocation (issue 27 item 7), as RESULTS.md names it.</summary>
    public const string GuardRow = "compiled rules, allocation of the 50,000-work year in-process, against scoring its claims";

    /// <summary>
    /// The allocation against the scoring of the same year, side by side in one process (issue 27 item 7): each round allocates
    /// the synthetic 50,000-work year in-process (the reader, <see cref="Allocator.Run"/>, the result's items serialized as the
    /// server's stream writes them) and scores each of its
    /// claims once on the totals path (its work and role), interleaved; the per-round ratio of the two times. A busy machine slows
    /// both alike, so the ratio guards against a regression of the allocation's own work (2x fails CI), not the machine's speed.
    /// </summary>
    public static (double Median, double Min, double Max, double AllocationMs, double ScoringMs) Ratio(RuleCatalog catalog, int rounds)
    {
        var rs = catalog.Find("dm-2021")!;
        var items = YearSynthesizer.Items(rs, 5_000, 50_000, 7, Year, Budget).ToList();
        var (input, _, _, _) = AllocateOnce(catalog, items); // warm: JIT and caches
        var totals = new PointTotals();
        var one = new Engine.Model.RoleInput[1];
        var works = input.Works.ToDictionary(w => w.Work.Id, w => w.Work, StringComparer.Ordinal);
        decimal Score()
        {
            var sink = 0m;
            foreach (var c in input.Claims)
            {
                one[0] = c.Role;
                rs.ScoreTotals(works[c.WorkId], one, totals);
                sink += totals.Total(c.Role.Role);
            }
            return sink;
        }
        Score();
        var ratios = new double[rounds];
        var allocations = new double[rounds];
        var scorings = new double[rounds];
        for (var r = 0; r < rounds; r++)
        {
            GC.Collect();
            var sw = Stopwatch.StartNew();
            GC.KeepAlive(AllocateOnce(catalog, items, hashed: false));
            allocations[r] = sw.Elapsed.TotalMilliseconds;
            GC.Collect();
            sw.Restart();
            GC.KeepAlive(Score());
            scorings[r] = sw.Elapsed.TotalMilliseconds;
            ratios[r] = allocations[r] / scorings[r];
        }
        return (Median(ratios), ratios.Min(), ratios.Max(), Median(allocations), Median(scorings));
    }

    // ------------------------------------------------------------------ the report

    private static string Report(Dictionary<(string, bool), List<ChildResult>> results, int companies, int works, int seed, int processes,
        int runs, string[] args)
    {
        var sb = new StringBuilder();
        var inproc = results[("inprocess", false)];
        var inprocServer = results[("inprocess", true)];
        var grpc = results[(GrpcSingle, false)];
        var batches = results[(GrpcBatches, false)];
        sb.AppendLine(Heading);
        sb.AppendLine();
        sb.AppendLine(Inv, $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `dotnet run -c Release --project tests/ContributiAutomatici.Benchmarks -- {string.Join(" ", args.Prepend("allocation"))}`.");
        sb.AppendLine(Inv, $"Machine: {Environment.ProcessorCount} cores (nproc), {Program.CpuModel()}, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; load average at the end {LoadAverage()}.");
        sb.AppendLine();
        sb.Append(Inv, $"The year: `YearSynthesizer.Items(dm-2021, companies: {companies:N0}, works: {works:N0}, seed: {seed}, year: {Year}, budget: {Budget:N0})`, ")
                   .AppendLine(Inv, $"{inproc[0].Info}. Every work is scored by the rule set inside the allocation (none has given points).");
        sb.Append(Inv, $"{processes} fresh process(es) per measure, {runs} allocations in each; the first allocation of a process (JIT, cold caches) is reported apart, ")
            .AppendLine("the others pooled: median, and min-max as the spread. Times are wall-clock stopwatch phases inside the process.");
        sb.AppendLine();
        sb.AppendLine("| measure | first in a process (ms) | warm median (ms) | warm min-max (ms) | target | met |");
        sb.AppendLine("|---|---:|---:|---:|---|---|");
        Row(sb, "(c) in-process end to end: Reader + Allocator + the result's items serialized as the stream writes them, workstation GC (as the CLI)", inproc, r => r.Total, "< 2000 ms");
        Row(sb, "(c) in-process end to end, server GC (for comparison: the server ships with the workstation GC)", inprocServer, r => r.Total, "< 2000 ms");
        foreach (var (mode, name, target) in GrpcMeasures) Row(sb, name, results[(mode, false)], r => r.Total, target);
        sb.AppendLine();
        sb.AppendLine("Where the time and the bytes go (warm medians; ms, and in brackets MB allocated, `GC.GetTotalAllocatedBytes` around each phase):");
        sb.AppendLine();
        sb.AppendLine("| measure | Reader (items -> AllocationInput) | Allocator.Run (scoring included) | outcome -> the stream's items, each serialized | scoring alone, same works, totals only | Allocator.Run less scoring alone |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, rs) in new[] { ("in-process, workstation GC", inproc), ("in-process, server GC", inprocServer) })
            sb.AppendLine(Inv, $"| {name} | {Med(rs, r => r.Reader):0} ({Med(rs, r => r.ReaderMB):0} MB) | {Med(rs, r => r.Allocator):0} ({Med(rs, r => r.AllocatorMB):0} MB) | " +
                               $"{Med(rs, r => r.Result):0} ({Med(rs, r => r.ResultMB):0} MB) | {Med(rs, r => r.Scoring):0} | {Med(rs, r => r.Allocator - r.Scoring):0} |");
        sb.AppendLine();
        foreach (var (name, rs) in new[] { ("AllocateBatches", batches), ("Allocate", grpc) })
            sb.Append(Inv, $"Over gRPC, {name} (warm medians): all items written and the request stream completed at {Med(rs, r => r.Sent):0} ms; the summary (first response, ")
                .AppendLine(Inv, $"after the server has read, checked and allocated the year) at {Med(rs, r => r.First):0} ms; the last statement at {Med(rs, r => r.Total):0} ms.");
        var handed = results[(GrpcClientItems, false)];
        sb.AppendLine(Inv, $"Over gRPC, the typed client's AllocateItemsAsync (warm medians): the summary handed out at {Med(handed, r => r.First):0} ms; the last item at {Med(handed, r => r.Total):0} ms.");
        sb.AppendLine("The responses read over gRPC, the typed client's result too, are checked to be byte for byte the in-process items (a SHA-256 of every item's bytes, each after its length).");
        sb.AppendLine();
        sb.AppendLine("Memory (per process, median over the processes; `Process.PeakWorkingSet64` read by the child itself at its end, " +
                      "`GC.GetTotalAllocatedBytes` for the bytes allocated per allocation (in-process: by the reader, `Allocator.Run` and the stream's items serialized one by one, as the server writes them), `GC.GetTotalMemory(true)` after an allocation with its outcome still referenced (what the server holds while it streams), the rules and the year's items included):");
        sb.AppendLine();
        sb.AppendLine("| measure | working set before the first allocation (MB) | peak working set (MB) | allocated per allocation (MB) | managed heap holding one outcome (MB) |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var (name, rs) in new[]
                 {
                     ("(c) in-process, workstation GC", inproc), ("(c) in-process, server GC", inprocServer),
                     ("(d) gRPC, the typed client's process (holds the items sent and the result collected)", results[(GrpcClient, false)]),
                     ("(d) gRPC, the typed client's process handing out the items (holds the items sent; hashes each item handed out)", results[(GrpcClientItems, false)]),
                     ("(d) gRPC AllocateBatches, the client's process (holds the items sent; hashes each response read)", batches),
                     ("(d) gRPC Allocate, the client's process (holds the items sent; hashes each response read)", grpc),
                 })
            sb.AppendLine(Inv, $"| {name} | {MedL(rs, c => c.WorkingSetBefore):0} | {MedL(rs, c => c.PeakWorkingSet):0} | {MedL(rs, c => c.AllocatedPerRun):0} | {(rs[0].ManagedAfter == 0 ? "n/a" : MedL(rs, c => c.ManagedAfter).ToString("0", Inv))} |");
        foreach (var (mode, name, _) in GrpcMeasures)
        {
            var rs = results[(mode, false)];
            sb.AppendLine(Inv, $"| (d) gRPC, the server's process under {(mode == GrpcSingle ? "Allocate" : mode == GrpcClient ? "the typed client" : mode == GrpcClientItems ? "the typed client handing out items" : "AllocateBatches")} | {MedL(rs, c => c.ServerBefore):0} | {MedL(rs, c => c.ServerPeak):0} | {MedL(rs, c => c.ServerAllocatedPerRun):0} | n/a |");
        }
        sb.AppendLine();
        sb.AppendLine("*Scoring alone* is `CompiledRuleSet.ScoreTotals` (the totals path the allocation runs) of each work of the year once, for the distinct roles claimed on it " +
                      "(the rule set's work; the allocation scores per (work, role), and per claim for claims with facts of their own). " +
                      "The working set before the first allocation holds the runtime, the compiled rules and the year's items; for gRPC also Kestrel and the client.");
        return sb.ToString();
    }

    private static void Row(StringBuilder sb, string name, List<ChildResult> rs, Func<Run, double> f, string target)
    {
        var first = Median(rs.Select(c => f(c.Runs[0])));
        var warm = rs.SelectMany(c => c.Runs.Skip(1)).Select(f).ToList();
        var med = Median(warm);
        var limit = double.Parse(target.Split(' ')[1], Inv);
        sb.AppendLine(Inv, $"| {name} | {first:0} | {med:0} | {warm.Min():0}-{warm.Max():0} | {target} | {(med < limit ? "yes" : "no")}{(first < limit ? "" : " (first: no)")} |");
    }

    private static double Med(List<ChildResult> rs, Func<Run, double> f) => Median(rs.SelectMany(c => c.Runs.Skip(1)).Select(f));

    private static double MedL(List<ChildResult> rs, Func<ChildResult, long> f) => Median(rs.Select(c => f(c) / 1048576.0));

    private static double Median(IEnumerable<double> xs) => Program.Median(xs);

    private static string LoadAverage()
    {
        try { return string.Join(" / ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
    }

    // ------------------------------------------------------------------ the child processes

    private static Process StartChild(string[] args, bool serverGc, bool stdin = false)
    {
        var self = typeof(Program).Assembly.Location;
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardInput = stdin, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(self);
        psi.ArgumentList.Add("--alloc-child");
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_gcServer"] = serverGc ? "1" : "0";
        return Process.Start(psi)!;
    }

    private static ChildResult RunChild(string[] args, bool serverGc)
    {
        using var p = StartChild(args, serverGc);
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("child failed: " + output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        double[] Numbers(string line) => line.Split(' ').Skip(1).Select(x => double.Parse(x, Inv)).ToArray();
        var runs = lines.Where(l => l.StartsWith("RUN ", StringComparison.Ordinal)).Select(Numbers)
            .Select(n => new Run(n[0], n[1], n[2], n[3], n[4], n[5], n[6], n.ElementAtOrDefault(7), n.ElementAtOrDefault(8), n.ElementAtOrDefault(9))).ToList();
        var mem = Numbers(lines.Single(l => l.StartsWith("MEM ", StringComparison.Ordinal)));
        var info = lines.Single(l => l.StartsWith("INFO ", StringComparison.Ordinal))[5..];
        var server = lines.SingleOrDefault(l => l.StartsWith("SERVER ", StringComparison.Ordinal)) is { } sl ? Numbers(sl) : null;
        return new ChildResult(runs, (long)mem[0], (long)mem[1], (long)mem[2], (long)mem[3], info)
        {
            ServerPeak = (long)(server?[0] ?? 0), ServerBefore = (long)(server?[1] ?? 0), ServerAllocatedPerRun = (long)(server?[2] ?? 0),
        };
    }

    /// <summary>A child: load the rules (from the cache), synthesize the year, allocate it <c>runs</c> times; print the figures.</summary>
    public static async Task<int> Child(string[] a)
    {
        var (mode, rules, cache) = (a[0], a[1], a[2]);
        var (companies, works, seed, runs) = (int.Parse(a[3], Inv), int.Parse(a[4], Inv), int.Parse(a[5], Inv), int.Parse(a[6], Inv));
        var catalog = RuleCatalog.Load(rules, new RuleCompileOptions { CacheDirectory = cache });
        if (mode == "grpc-server") return await ServerChild(catalog);
        var rs = catalog.Find("dm-2021")!;
        var items = YearSynthesizer.Items(rs, companies, works, seed, Year, Budget).ToList();
        var results = new List<Run>();
        long allocated = 0, managed = 0;
        Kept? last = null;

        // Over gRPC the server is a process of its own (this one's sibling, same GC), the client this process.
        Process? server = null;
        GrpcChannel? channel = null;
        ContributiClient? client = null;
        var remote = mode is GrpcClient or GrpcClientItems or GrpcBatches or GrpcSingle;
        if (remote)
        {
            server = StartChild(["grpc-server", .. a[1..]], Environment.GetEnvironmentVariable("DOTNET_gcServer") == "1", stdin: true);
            var line = server.StandardOutput.ReadLine() ?? "";
            var port = line.StartsWith("PORT ", StringComparison.Ordinal) ? int.Parse(line[5..], Inv)
                : throw new InvalidOperationException("the server child did not start: " + line);
            channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { MaxReceiveMessageSize = 16 * 1024 * 1024 });
            // The product's client makes its own channel (its connection, its limits), as an application would.
            if (mode is GrpcClient or GrpcClientItems) client = new ContributiClient(new ContributiClientOptions { Address = new Uri($"http://127.0.0.1:{port}") });
        }
        GC.Collect();
        var before = Environment.WorkingSet;
        for (var i = 0; i < runs; i++)
        {
            last = null;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var bytes = GC.GetTotalAllocatedBytes(precise: true);
            var run = remote ? await OverGrpc(mode, channel!, client, items) : InProcess(catalog, items, out last);
            // In-process, what the allocation's phases allocated (not the scoring-alone measure beside them); over gRPC, the client's all.
            if (i > 0)
                allocated += remote ? GC.GetTotalAllocatedBytes(precise: true) - bytes
                    : (long)((run.ReaderMB + run.AllocatorMB + run.ResultMB) * 1048576);
            if (last is not null) managed = Math.Max(managed, GC.GetTotalMemory(forceFullCollection: true));
            GC.KeepAlive(last);
            results.Add(run);
            if (server is not null && i == 0)
            {
                // The server counts its bytes from the first warm call: marked (and said so) before it starts.
                server.StandardInput.WriteLine("MARK");
                if (server.StandardOutput.ReadLine() != "MARKED") throw new InvalidOperationException("the server child did not mark");
            }
        }
        string info;
        {
            var (input, outcome, bytes, hash) = AllocateOnce(catalog, items);
            info = $"{items.Count:N0} stream items: {input.Companies.Count:N0} companies, {input.Works.Count:N0} works, {input.Claims.Count:N0} claims; " +
                   $"result {bytes / 1048576.0:0.0} MB as the stream's items, {outcome.Exclusions.Count:N0} exclusions, " +
                   $"EUR {outcome.Allocated:N2} allocated, EUR {outcome.Unassigned:N2} unassigned";
            if (remote)
            {
                var answered = await ReadOverGrpc(mode, channel!, client, items);
                if (!answered.AsSpan().SequenceEqual(hash))
                    throw new InvalidOperationException("the result over gRPC differs from the in-process one");
            }
        }
        var serverLine = "";
        if (server is not null)
        {
            // The bytes since MARK include the check's call above: one more than the warm runs.
            server.StandardInput.WriteLine("END");
            serverLine = server.StandardOutput.ReadLine() ?? "";
            client?.Dispose();
            channel!.Dispose();
            server.StandardInput.Close();
            server.WaitForExit();
        }
        foreach (var r in results)
            Console.WriteLine(string.Join(" ", new[] { r.Total, r.Reader, r.Allocator, r.Result, r.Scoring, r.Sent, r.First, r.ReaderMB, r.AllocatorMB, r.ResultMB }
                .Select(x => x.ToString("0.###", Inv)).Prepend("RUN")));
        Console.WriteLine($"MEM {Process.GetCurrentProcess().PeakWorkingSet64} {before} {allocated / Math.Max(1, runs - 1)} {managed}");
        Console.WriteLine("INFO " + info);
        if (serverLine.StartsWith("SERVER ", StringComparison.Ordinal))
        {
            // The server's bytes per warm allocation (its calls after MARK), its peak working set (the process's whole life).
            var n = serverLine.Split(' ');
            Console.WriteLine($"SERVER {n[1]} {n[2]} {long.Parse(n[3], Inv) / runs}");
        }
        return 0;
    }

    /// <summary>
    /// The server of the gRPC measure, a process of its own: started on a loopback port (printed), then it waits for the client's
    /// lines on standard input: MARK (count the bytes allocated from here; it answers MARKED), END (print its peak working set, working set after
    /// start and the bytes allocated since MARK, then stop).
    /// </summary>
    private static async Task<int> ServerChild(RuleCatalog catalog)
    {
        var app = ContributiServer.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Contributi:Address"] = "127.0.0.1", ["Contributi:Port"] = "0", ["Logging:LogLevel:Default"] = "Warning",
            });
        }, catalog);
        await app.StartAsync();
        GC.Collect();
        var before = Environment.WorkingSet;
        Console.WriteLine($"PORT {ContributiServer.Port(app)}");
        var mark = GC.GetTotalAllocatedBytes(precise: true);
        string? line;
        while ((line = await Console.In.ReadLineAsync()) is not null && line != "END")
            if (line == "MARK")
            {
                mark = GC.GetTotalAllocatedBytes(precise: true);
                Console.WriteLine("MARKED");
            }
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - mark;
        Console.WriteLine($"SERVER {Process.GetCurrentProcess().PeakWorkingSet64} {before} {allocated}");
        await app.StopAsync();
        await app.DisposeAsync();
        return 0;
    }

    private sealed class Kept(AllocationOutcome outcome)
    {
        public AllocationOutcome Outcome { get; } = outcome;
    }

    /// <summary>
    /// One allocation as the product runs it, with the bytes of the stream's items (<see cref="Written"/>) and, when
    /// <paramref name="hashed"/>, their hash (empty otherwise: the guard's rounds time the product's work only).
    /// </summary>
    private static (AllocationInput, AllocationOutcome, long Bytes, byte[] Hash) AllocateOnce(RuleCatalog catalog, List<AllocateRequest> items,
        bool hashed = true)
    {
        var reader = new AllocationMapper.Reader(catalog);
        foreach (var item in items) reader.Add(item);
        var input = reader.Build();
        var outcome = Allocator.Run(input);
        using var hash = hashed ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        var bytes = Written(AllocationMapper.Frames(outcome), hash);
        return (input, outcome, bytes, hash?.GetHashAndReset() ?? []);
    }

    /// <summary>
    /// The result's items as the server's stream writes them (<see cref="AllocationMapper.Frames"/>: each item's bytes in one
    /// reused buffer, valid until the next); with <paramref name="hash"/>, each item's length and bytes hashed. The bytes written.
    /// </summary>
    private static long Written(IEnumerable<ReadOnlyMemory<byte>> frames, IncrementalHash? hash)
    {
        long bytes = 0;
        foreach (var frame in frames)
        {
            Hashed(frame.Span, hash);
            bytes += frame.Length;
        }
        return bytes;
    }

    /// <summary>An item's length and bytes hashed (nothing without <paramref name="hash"/>).</summary>
    private static void Hashed(ReadOnlySpan<byte> item, IncrementalHash? hash)
    {
        if (hash is null) return;
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, item.Length);
        hash.AppendData(length);
        hash.AppendData(item);
    }

    private static Run InProcess(RuleCatalog catalog, List<AllocateRequest> items, out Kept? kept)
    {
        static double Mb() => GC.GetTotalAllocatedBytes(precise: true) / 1048576.0;
        var b0 = Mb();
        var sw = Stopwatch.StartNew();
        var reader = new AllocationMapper.Reader(catalog);
        foreach (var item in items) reader.Add(item);
        var input = reader.Build();
        var tReader = sw.Elapsed.TotalMilliseconds;
        var b1 = Mb();
        var outcome = Allocator.Run(input);
        var tAllocator = sw.Elapsed.TotalMilliseconds;
        var b2 = Mb();
        // The items as the server's stream writes them: each item's bytes written from the outcome before the next.
        GC.KeepAlive(Written(AllocationMapper.Frames(outcome), null));
        var tResult = sw.Elapsed.TotalMilliseconds;
        var b3 = Mb();
        kept = new Kept(outcome);

        // Scoring alone: each work once, for the distinct roles claimed on it, totals only.
        var scoring = Stopwatch.StartNew();
        var roles = input.Claims.GroupBy(c => c.WorkId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.GroupBy(c => c.Role.Role).Select(r => r.First().Role).ToList(), StringComparer.Ordinal);
        var points = 0m;
        var totals = new PointTotals();
        foreach (var w in input.Works)
            if (roles.TryGetValue(w.Work.Id, out var mine))
            {
                // The totals path, as the allocation scores (issue 27).
                input.RuleSet.ScoreTotals(w.Work, mine, totals);
                foreach (var r in mine) points += totals.Total(r.Role);
            }
        scoring.Stop();
        GC.KeepAlive(points);
        return new Run(tResult, tReader, tAllocator - tReader, tResult - tAllocator, scoring.Elapsed.TotalMilliseconds, 0, 0, b1 - b0, b2 - b1, b3 - b2);
    }

    private static async Task<Run> OverGrpc(string mode, GrpcChannel channel, ContributiClient? client, List<AllocateRequest> items)
    {
        var (_, sent, first, last) = await Call(mode, channel, client, items, Stopwatch.StartNew());
        return new Run(last, 0, 0, 0, 0, sent, first);
    }

    private static async Task<byte[]> ReadOverGrpc(string mode, GrpcChannel channel, ContributiClient? client, List<AllocateRequest> items) =>
        (await Call(mode, channel, client, items, Stopwatch.StartNew())).Hash;

    /// <summary>
    /// One allocation over gRPC as <paramref name="mode"/> says: the typed client's (its result's items hashed afterwards, outside
    /// the time; no phases seen), or a raw AllocateBatches or Allocate call: every item written, the request stream completed,
    /// every response read and each item hashed as <see cref="Written"/> hashes the in-process items (none held). The times: all
    /// items written, the first response, the last response read (the typed client: its result returned), in ms.
    /// </summary>
    private static async Task<(byte[] Hash, double Sent, double First, double Last)> Call(string mode, GrpcChannel channel, ContributiClient? client,
        List<AllocateRequest> items, Stopwatch sw)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new ArrayBufferWriter<byte>(1 << 16);
        void Hash(AllocateResponse item)
        {
            // Each response item serialized again: the bytes the server wrote, if it wrote the message's.
            buffer.ResetWrittenCount();
            item.WriteTo(buffer);
            Hashed(buffer.WrittenSpan, hash);
        }
        if (mode == GrpcClient)
        {
            var result = await client!.AllocateAsync(items);
            var returned = sw.Elapsed.TotalMilliseconds;
            Hash(new AllocateResponse { Summary = result.Summary });
            foreach (var c in result.Companies) Hash(new AllocateResponse { Company = c });
            foreach (var w in result.Works) Hash(new AllocateResponse { Work = w });
            foreach (var e in result.Exclusions) Hash(new AllocateResponse { Exclusion = e });
            return (hash.GetHashAndReset(), 0, 0, returned);
        }
        if (mode == GrpcClientItems)
        {
            var handed = 0;
            double summary = 0;
            await foreach (var item in client!.AllocateItemsAsync(items))
            {
                if (handed++ == 0) summary = sw.Elapsed.TotalMilliseconds;
                Hash(item);
            }
            return (hash.GetHashAndReset(), 0, summary, sw.Elapsed.TotalMilliseconds);
        }
        var allocation = new AllocationService.AllocationServiceClient(channel);
        double sent, first = 0;
        var read = 0;
        if (mode == GrpcBatches)
        {
            using var call = allocation.AllocateBatches();
            var batch = new AllocateBatchesRequest();
            for (var i = 0; i < items.Count; i += RequestLimits.MaxAllocateBatchItems)
            {
                batch.Items.Clear();
                batch.Items.AddRange(items.Skip(i).Take(RequestLimits.MaxAllocateBatchItems));
                await call.RequestStream.WriteAsync(batch);
            }
            await call.RequestStream.CompleteAsync();
            sent = sw.Elapsed.TotalMilliseconds;
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                if (read++ == 0) first = sw.Elapsed.TotalMilliseconds;
                foreach (var item in call.ResponseStream.Current.Items) Hash(item);
            }
        }
        else
        {
            using var call = allocation.Allocate();
            foreach (var item in items) await call.RequestStream.WriteAsync(item);
            await call.RequestStream.CompleteAsync();
            sent = sw.Elapsed.TotalMilliseconds;
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                if (read++ == 0) first = sw.Elapsed.TotalMilliseconds;
                Hash(call.ResponseStream.Current);
            }
        }
        return (hash.GetHashAndReset(), sent, first, sw.Elapsed.TotalMilliseconds);
    }
}
