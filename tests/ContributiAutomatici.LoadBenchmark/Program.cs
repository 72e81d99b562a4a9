using ContributiAutomatici.Benchmarks;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ContributiAutomatici.Client;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Server;
using Google.Protobuf;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ContributiAutomatici.LoadBenchmark;

/// <summary>
/// dotnet run -c Release --project tests/ContributiAutomatici.LoadBenchmark [-- --unary 20000 --concurrency 64
///     --stream 50000 --inprocess 50000 --rounds 7 --batch 64 --out PATH]
/// Starts the real server on 127.0.0.1 (a free port, in-process Kestrel), runs three bounded loops and prints a
/// markdown table, also written to tests/ContributiAutomatici.LoadBenchmark/RESULTS.md (or --out). Loopback only;
/// every loop is counted, and the whole run is cancelled after 10 minutes.
/// With --memory [--requests N]: the server's RSS after a warm start and after N varied requests (MemoryBenchmark).
/// With --fuzz [--requests N] [--soak-seconds S]: the same server fuzzed (bad inputs, deadlines, cancelled streams, large works; Fuzz).
/// </summary>
public static class Program
{
    private const decimal UnaryP99TargetMs = 5m;
    // The explained stream (b) against one mapped work scored again (issue 10); the totals stream (e) against the in-process
    // map + score of the same works, (f'): at least half its rate (issue 27 item 6; issue 10 item 5 asked a third).
    private const double StreamRatioTarget = 3.0;
    private const double TotalsStreamRatioTarget = 2.0;

    public static async Task<int> Main(string[] args)
    {
        if (args.Contains("--memory")) return await MemoryBenchmark.RunAsync(args);
        if (args.Contains("--fuzz")) return await Fuzz.RunAsync(args);
        if (args.Contains("--reforms")) return await ReformMemoryBenchmark.RunAsync(args);
        var unaryCount = IntArg(args, "--unary", 20_000);
        var concurrency = IntArg(args, "--concurrency", 64);
        var lowCount = IntArg(args, "--low-unary", 5_000);
        var lowConcurrency = IntArg(args, "--low-concurrency", 4);
        var streamCount = IntArg(args, "--stream", 50_000);
        var inProcessCount = IntArg(args, "--inprocess", 50_000);
        var rounds = IntArg(args, "--rounds", 7);
        var output = StringArg(args, "--out") ?? DefaultResultsPath();
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var ct = guard.Token;

        Console.WriteLine($"starting the server (loopback, free port); configuration {Configuration}");
        await using var app = ContributiServer.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Contributi:Address"] = "127.0.0.1",
                ["Contributi:Port"] = "0",
                ["Logging:LogLevel:Default"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            });
        });
        await app.StartAsync(ct);
        var address = new Uri($"http://127.0.0.1:{ContributiServer.Port(app)}");
        var catalog = app.Services.GetRequiredService<LiveRules>().Current;
        Console.WriteLine($"server on {address}");

        // --batch N: the shipped client's works per message (ContributiClientOptions.StreamBatchSize), to try another size.
        var batchSize = IntArg(args, "--batch", ContributiClientOptions.DefaultStreamBatchSize);
        using var client = new ContributiClient(new ContributiClientOptions { Address = address, PerCallTimeout = TimeSpan.FromSeconds(30), StreamBatchSize = batchSize });
        // For comparison: the same client on SocketsHttpHandler's own connection, which sends inline (WriteBehind off).
        using var inlineClient = new ContributiClient(new ContributiClientOptions { Address = address, PerCallTimeout = TimeSpan.FromSeconds(30), WriteBehind = false });
        // For comparison: the same client one work per message (ScoreWorks), as it was before ScoreWorkBatches.
        using var singleClient = new ContributiClient(new ContributiClientOptions { Address = address, PerCallTimeout = TimeSpan.FromSeconds(30), StreamBatchSize = 1 });
        var template = JsonParser.Default.Parse<ScoreWorkRequest>(
            await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "first-feature.json"), ct));
        var variants = Enumerable.Range(0, 1024).Select(i => Variant(template, i)).ToArray();
        // The same works asking for the points only (totals_only): the bulk shape without the explanation.
        var totalsTemplate = template.Clone();
        totalsTemplate.TotalsOnly = true;
        var totalsVariants = variants.Select(v => { var c = v.Clone(); c.TotalsOnly = true; return c; }).ToArray();
        if (args.Contains("--parts"))
        {
            Console.Write(Parts.Measure(catalog, totalsVariants, IntArg(args, "--rounds", 9)));
            return 0;
        }

        if (args.Contains("--stream-only"))
        {
            // For a profile of the stream alone: warm, then IntArg --stream works with totals only, three times.
            for (var i = 0; i < 3; i++) await Stream(client, totalsVariants, 20_000, ct);
            Jit.Quiet();
            for (var i = 0; i < 3; i++)
            {
                // The process's CPU (client and server, every thread) and allocation per streamed work beside the rate.
                var allocated = GC.GetTotalAllocatedBytes();
                var rate = await Stream(client, totalsVariants, streamCount, ct);
                Console.WriteLine($"stream, totals only, {batchSize} works a message: {rate.PerSecond:N0} works/s, {rate.CpuMicroseconds:0.0} us of CPU and {(GC.GetTotalAllocatedBytes() - allocated) / streamCount:N0} bytes allocated a work, client and server (load {LoadAverage()})");
            }
            return 0;
        }

        // Warm-up: JIT, tiered compilation, connections.
        Console.WriteLine("warming up");
        // Long enough for tiered compilation to reach its optimised code (dynamic PGO) on every hot path.
        for (var round = 0; round < 3; round++)
        {
            await Unary(client, variants, 4_000, concurrency, ct);
            await Stream(client, variants, 20_000, ct);
            await Unary(client, totalsVariants, 4_000, concurrency, ct);
            await Stream(client, totalsVariants, 20_000, ct);
            await Stream(inlineClient, totalsVariants, 20_000, ct);
            await Stream(singleClient, totalsVariants, 20_000, ct);
            InProcess(catalog, totalsTemplate, 20_000);
            InProcess(catalog, template, 20_000);
            InProcessFull(catalog, template, 20_000);
            InProcessMapScore(catalog, totalsVariants, 20_000);
        }
        Jit.Quiet(); // the rounds time steady code, not code still waiting for its optimized tier

        Console.WriteLine($"(a) unary ScoreWork: {unaryCount:N0} calls at concurrency {concurrency}");
        var unary = await Unary(client, variants, unaryCount, concurrency, ct);
        Console.WriteLine($"(a') unary ScoreWork: {lowCount:N0} calls at concurrency {lowConcurrency}");
        var unaryLow = await Unary(client, variants, lowCount, lowConcurrency, ct);
        Console.WriteLine($"(b) ScoreWorks stream: {streamCount:N0} works");
        var stream = await Stream(client, variants, streamCount, ct);
        Console.WriteLine($"(c) in-process CompiledRuleSet.Score: {inProcessCount:N0} scores on one thread");
        var inProcess = InProcess(catalog, template, inProcessCount);
        var inProcessFull = InProcessFull(catalog, template, inProcessCount);
        Console.WriteLine("(d) the same with totals_only: unary, stream, in-process");
        var unaryTotals = await Unary(client, totalsVariants, unaryCount, concurrency, ct);
        var inProcessTotals = InProcess(catalog, totalsTemplate, inProcessCount * 4);
        var totalsRounds = await StreamRounds(client, inlineClient, singleClient, catalog, totalsVariants, streamCount, inProcessCount * 2, rounds, ct);

        var report = Report(unary, concurrency, unaryLow, lowConcurrency, stream, inProcess, inProcessFull, catalog) +
                     TotalsReport(unaryTotals, concurrency, totalsRounds, inProcessTotals, batchSize);
        Console.WriteLine();
        Console.WriteLine(report);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        await File.WriteAllTextAsync(output, report + NotesAfterReport(output), ct);
        Console.WriteLine($"written to {Path.GetFullPath(output)}");
        await app.StopAsync(CancellationToken.None);
        return 0;
    }

    private sealed record UnaryResult(int Count, TimeSpan Elapsed, double[] LatenciesMs)
    {
        public double PerSecond => Count / Elapsed.TotalSeconds;
        public double Percentile(double p) => LatenciesMs[Math.Clamp((int)Math.Ceiling(p / 100 * LatenciesMs.Length) - 1, 0, LatenciesMs.Length - 1)];
    }

    /// <param name="CpuMicroseconds">CPU per item: the stream's of the whole process (client and server, every thread), the
    /// in-process loop's of its thread; 0 when not measured.</param>
    private sealed record RateResult(int Count, TimeSpan Elapsed, double CpuMicroseconds = 0)
    {
        public double PerSecond => Count / Elapsed.TotalSeconds;
    }

    /// <summary>One round of issue 27 item 6's comparison: the stream (typed client as shipped: ScoreWorkBatches, write-behind),
    /// the same stream with the client sending inline, the single-item ScoreWorks stream, and the in-process map-and-score
    /// baseline, run one after the other.</summary>
    private sealed record StreamRound(RateResult Stream, RateResult InlineStream, RateResult SingleStream, RateResult MapScore)
    {
        public double Ratio => MapScore.PerSecond / Stream.PerSecond;
        public double InlineRatio => MapScore.PerSecond / InlineStream.PerSecond;
        public double SingleRatio => MapScore.PerSecond / SingleStream.PerSecond;
    }

    /// <summary>
    /// Issue 27 item 6, side by side in one process: <paramref name="rounds"/> rounds, each the bulk stream (totals only)
    /// through the typed client as shipped (ScoreWorkBatches), the same through the client sending inline, the same client
    /// one work per message (ScoreWorks), and the in-process map-and-score baseline; the order of the streams rotates
    /// between rounds. On a shared machine whose speed drifts by tens of percent within a minute, the ratio of
    /// neighbours in one round is what is robust.
    /// </summary>
    private static async Task<StreamRound[]> StreamRounds(ContributiClient client, ContributiClient inlineClient, ContributiClient singleClient,
        RuleCatalog catalog, ScoreWorkRequest[] variants, int streamCount, int mapScoreCount, int rounds, CancellationToken ct)
    {
        var result = new StreamRound[rounds];
        ContributiClient[] clients = [client, inlineClient, singleClient];
        for (var r = 0; r < rounds; r++)
        {
            var rates = new RateResult[clients.Length];
            for (var k = 0; k < clients.Length; k++)
            {
                var which = (k + r) % clients.Length;
                rates[which] = await Stream(clients[which], variants, streamCount, ct);
            }
            result[r] = new StreamRound(rates[0], rates[1], rates[2], InProcessMapScore(catalog, variants, mapScoreCount));
            Console.WriteLine($"  round {r + 1}: stream {rates[0].PerSecond:N0} works/s, inline client {rates[1].PerSecond:N0}, one work per message {rates[2].PerSecond:N0}, in-process map + score {result[r].MapScore.PerSecond:N0}: {result[r].Ratio:0.00}x");
        }
        return result;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>"median (min-max)" of a measure over the rounds (also the per-step table of <see cref="Parts"/>).</summary>
    internal static string Spread(IEnumerable<double> values, string format)
    {
        var all = values.ToArray();
        var inv = CultureInfo.InvariantCulture;
        return string.Format(inv, "{0} ({1}-{2})", Median(all).ToString(format, inv), all.Min().ToString(format, inv), all.Max().ToString(format, inv));
    }

    private static ScoreWorkRequest Variant(ScoreWorkRequest template, int i)
    {
        var r = template.Clone();
        r.Work.Id = $"bench-{i}";
        r.Work.BoxOffice[0].Amount = (1_500_000m + i * 997m).ToString(CultureInfo.InvariantCulture);
        return r;
    }

    /// <summary>A fixed number of calls shared by <paramref name="concurrency"/> workers; each call's latency is kept.</summary>
    private static async Task<UnaryResult> Unary(ContributiClient client, ScoreWorkRequest[] variants, int count, int concurrency, CancellationToken ct)
    {
        var latencies = new double[count];
        var next = -1;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var start = Stopwatch.GetTimestamp();
                var response = await client.ScoreWorkAsync(variants[i % variants.Length], ct);
                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (response.Roles.Count != 2) throw new InvalidOperationException("unexpected response");
            }
        }, ct)));
        sw.Stop();
        Array.Sort(latencies);
        return new UnaryResult(count, sw.Elapsed, latencies);
    }

    private static async Task<RateResult> Stream(ContributiClient client, ScoreWorkRequest[] variants, int count, CancellationToken ct)
    {
        IEnumerable<ScoreWorksRequest> Requests()
        {
            for (var i = 0; i < count; i++)
                yield return new ScoreWorksRequest { RequestId = i.ToString(CultureInfo.InvariantCulture), Request = variants[i % variants.Length] };
        }

        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var received = 0;
        await foreach (var item in client.ScoreWorksAsync(Requests(), cancellationToken: ct))
        {
            if (item.ResultCase != ScoreWorksResponse.ResultOneofCase.Response || item.RequestId != received.ToString(CultureInfo.InvariantCulture))
                throw new InvalidOperationException($"unexpected stream item {item.RequestId}");
            received++;
        }
        sw.Stop();
        var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        if (received != count) throw new InvalidOperationException($"{received} of {count} stream items");
        return new RateResult(count, sw.Elapsed, used.TotalMicroseconds / count);
    }

    /// <summary>CompiledRuleSet.Score of the same (already mapped) work in a loop on this thread.</summary>
    private static RateResult InProcess(RuleCatalog catalog, ScoreWorkRequest template, int count)
    {
        var mapped = RequestMapper.Map(template, catalog);
        var sw = Stopwatch.StartNew();
        var total = 0m;
        for (var i = 0; i < count; i++)
            total += mapped.RuleSet.Score(mapped.Work, mapped.Roles, mapped.Options).Roles[0].TotalPoints;
        sw.Stop();
        GC.KeepAlive(total);
        return new RateResult(count, sw.Elapsed);
    }

    /// <summary>
    /// Issue 10 item 5's baseline: the in-process map-and-score rate, one thread, over the same varied requests the stream
    /// sends (each mapped anew, as the server does, so no per-work cache is reused).
    /// </summary>
    private static RateResult InProcessMapScore(RuleCatalog catalog, ScoreWorkRequest[] variants, int count)
    {
        ScoreWorkResponse? reuse = null;
        var cpu = ThreadCpu.Nanoseconds();
        var sw = Stopwatch.StartNew();
        var total = 0m;
        for (var i = 0; i < count; i++)
        {
            // As the server answers an item: the totals_only requests on the totals path (ResponseMapper.Score, issue 27), the
            // answer message rewritten from one work to the next as the stream's is.
            var mapped = RequestMapper.Map(variants[i % variants.Length], catalog);
            total += (reuse = ResponseMapper.Score(mapped, reuse)).Roles.Count;
        }
        sw.Stop();
        var used = ThreadCpu.Nanoseconds() - cpu;
        GC.KeepAlive(total);
        return new RateResult(count, sw.Elapsed, used / 1000.0 / count);
    }

    /// <summary>What the server does per item without the network: map the request, score, map and serialise the response.</summary>
    private static RateResult InProcessFull(RuleCatalog catalog, ScoreWorkRequest template, int count)
    {
        var sw = Stopwatch.StartNew();
        var bytes = 0L;
        for (var i = 0; i < count; i++)
        {
            var mapped = RequestMapper.Map(template, catalog);
            bytes += ResponseMapper.Score(mapped).CalculateSize();
        }
        sw.Stop();
        GC.KeepAlive(bytes);
        return new RateResult(count, sw.Elapsed);
    }

    private static string Report(UnaryResult unary, int concurrency, UnaryResult unaryLow, int lowConcurrency, RateResult stream,
        RateResult inProcess, RateResult inProcessFull, RuleCatalog catalog)
    {
        var ratio = inProcess.PerSecond / stream.PerSecond;
        var ratioFull = inProcessFull.PerSecond / stream.PerSecond;
        var p99 = unary.Percentile(99);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("# Load benchmark results");
        sb.AppendLine();
        sb.AppendLine(inv, $"- Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine(inv, $"- Machine: {Environment.ProcessorCount} cores, {CpuModel()}, {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})");
        sb.AppendLine(inv, $"- Runtime: {RuntimeInformation.FrameworkDescription}, {Configuration} build, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC");
        sb.AppendLine(inv, $"- Load average (1/5/15 min) at the end of the run: {LoadAverage()} (other work on the machine skews the figures)");
        sb.AppendLine(inv, $"- Rules: {string.Join(", ", catalog.RuleSets.Select(r => $"{r.Id} ({r.ContentHash[..12]})"))}");
        sb.AppendLine("- Setup: server (Kestrel, h2c) and client in one process on 127.0.0.1, sharing the same cores; typed client");
        sb.AppendLine("  (ContributiClient, Polly pipeline included) over one GrpcChannel; the work is examples/first-feature.json");
        sb.AppendLine("  (producer + theatrical distributor, Tabella 1) with the box office varied; responses carry the full explanation.");
        sb.AppendLine();
        sb.AppendLine("| Measure | Count | Result | Target | Met |");
        sb.AppendLine("| --- | ---: | --- | --- | --- |");
        sb.AppendLine(inv, $"| (a) ScoreWork unary, {concurrency} concurrent | {unary.Count:N0} | {unary.PerSecond:N0} calls/s; p50 {unary.Percentile(50):0.00} ms, p90 {unary.Percentile(90):0.00} ms, p99 {p99:0.00} ms, max {unary.LatenciesMs[^1]:0.00} ms | p99 < {UnaryP99TargetMs} ms | {(p99 < (double)UnaryP99TargetMs ? "yes" : "no")} |");
        sb.AppendLine(inv, $"| (a') ScoreWork unary, {lowConcurrency} concurrent | {unaryLow.Count:N0} | {unaryLow.PerSecond:N0} calls/s; p50 {unaryLow.Percentile(50):0.00} ms, p90 {unaryLow.Percentile(90):0.00} ms, p99 {unaryLow.Percentile(99):0.00} ms, max {unaryLow.LatenciesMs[^1]:0.00} ms | (for comparison) | |");
        sb.AppendLine(inv, $"| (b) bulk stream (typed client: ScoreWorkBatches), one call | {stream.Count:N0} | {stream.PerSecond:N0} works/s ({stream.Elapsed.TotalSeconds:0.00} s) | within {StreamRatioTarget}x of in-process | {(ratio <= StreamRatioTarget ? "yes" : "no")} ({ratio:0.00}x) |");
        sb.AppendLine(inv, $"| (c) in-process CompiledRuleSet.Score, one thread | {inProcess.Count:N0} | {inProcess.PerSecond:N0} scores/s | | |");
        sb.AppendLine(inv, $"| (c') in-process map + score + response mapping, one thread | {inProcessFull.Count:N0} | {inProcessFull.PerSecond:N0} works/s (stream is {ratioFull:0.00}x slower) | | |");
        sb.AppendLine();
        sb.AppendLine(inv, $"gRPC overhead of the stream: in-process Score rate / stream rate = {ratio:0.00}x (target <= {StreamRatioTarget}x); against the in-process map+score+response path, {ratioFull:0.00}x.");
        var mean = concurrency / unary.PerSecond * 1000;
        sb.AppendLine(inv, $"Unary at {concurrency} concurrent calls: the mean latency is {concurrency} / throughput = {mean:0.00} ms (Little's law), so p99 < {UnaryP99TargetMs} ms would need the 99th percentile within {(double)UnaryP99TargetMs / mean:0.0}x of the mean; with the client's {concurrency} callers and the server on the same {Environment.ProcessorCount} cores it is {p99 / mean:0.0}x here. With {lowConcurrency} concurrent calls (no queueing) p99 is {unaryLow.Percentile(99):0.00} ms.");
        return sb.ToString();
    }

    private static string TotalsReport(UnaryResult unary, int concurrency, StreamRound[] rounds, RateResult inProcess, int batchSize)
    {
        var inv = CultureInfo.InvariantCulture;
        // The target (issue 27 item 6): the stream at least half the in-process map-and-score rate, as the median of the
        // rounds' ratios (each round's stream and baseline measured one after the other).
        var ratio = Median(rounds.Select(r => r.Ratio));
        var streamRate = Median(rounds.Select(r => r.Stream.PerSecond));
        var ratioScoreOnly = inProcess.PerSecond / streamRate;
        var p99 = unary.Percentile(99);
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine("## The same with `totals_only` (points per role and quota, no lines)");
        sb.AppendLine();
        sb.AppendLine("| Measure | Count | Result | Target | Met |");
        sb.AppendLine("| --- | ---: | --- | --- | --- |");
        sb.AppendLine(inv, $"| (d) ScoreWork unary, {concurrency} concurrent, totals only | {unary.Count:N0} | {unary.PerSecond:N0} calls/s; p50 {unary.Percentile(50):0.00} ms, p90 {unary.Percentile(90):0.00} ms, p99 {p99:0.00} ms, max {unary.LatenciesMs[^1]:0.00} ms | p99 < {UnaryP99TargetMs} ms | {(p99 < (double)UnaryP99TargetMs ? "yes" : "no")} |");
        sb.AppendLine(inv, $"| (e) bulk stream, totals only, typed client as shipped (ScoreWorkBatches, up to {batchSize} works a message) | {rounds.Length} x {rounds[0].Stream.Count:N0} | {Spread(rounds.Select(r => r.Stream.PerSecond), "N0")} works/s; {Spread(rounds.Select(r => r.Stream.CpuMicroseconds), "0.0")} us of CPU a work (client and server) | within {TotalsStreamRatioTarget}x of in-process map + score (f'), median of the rounds | {(ratio <= TotalsStreamRatioTarget ? "yes" : "no")} ({Spread(rounds.Select(r => r.Ratio), "0.00")}x) |");
        sb.AppendLine(inv, $"| (e') the same stream, the client sending inline (`WriteBehind = false`) | {rounds.Length} x {rounds[0].InlineStream.Count:N0} | {Spread(rounds.Select(r => r.InlineStream.PerSecond), "N0")} works/s | (for comparison) | ({Spread(rounds.Select(r => r.InlineRatio), "0.00")}x) |");
        sb.AppendLine(inv, $"| (e'') ScoreWorks, one work per message (`StreamBatchSize = 1`, the typed client before ScoreWorkBatches) | {rounds.Length} x {rounds[0].SingleStream.Count:N0} | {Spread(rounds.Select(r => r.SingleStream.PerSecond), "N0")} works/s; {Spread(rounds.Select(r => r.SingleStream.CpuMicroseconds), "0.0")} us of CPU a work (client and server) | (for comparison) | ({Spread(rounds.Select(r => r.SingleRatio), "0.00")}x) |");
        sb.AppendLine(inv, $"| (f') in-process map + score, totals only, one thread, the stream's varied requests, the answer message rewritten as the server's stream does | {rounds.Length} x {rounds[0].MapScore.Count:N0} | {Spread(rounds.Select(r => r.MapScore.PerSecond), "N0")} works/s; {Spread(rounds.Select(r => r.MapScore.CpuMicroseconds), "0.0")} us of CPU a work | | |");
        sb.AppendLine(inv, $"| (f) in-process CompiledRuleSet.Score, totals only, one thread, one work already mapped | {inProcess.Count:N0} | {inProcess.PerSecond:N0} scores/s (stream is {ratioScoreOnly:0.00}x slower) | | |");
        sb.AppendLine();
        sb.AppendLine(inv, $"(e), (e'), (e'') and (f') were measured in {rounds.Length} rounds, one after the other in each round (the three streams' order rotating): medians (min-max); a ratio is (f') / (e) within a round. Client and server run in one process on the same {Environment.ProcessorCount} cores.");
        var cpuBound = Median(rounds.Select(r => r.Stream.CpuMicroseconds / (Environment.ProcessorCount * r.MapScore.CpuMicroseconds)));
        sb.AppendLine(inv, $"CPU, which the machine's other work moves less than the rates: a streamed work takes {Median(rounds.Select(r => r.Stream.CpuMicroseconds)):0.0} us of the process (both ends), an in-process one {Median(rounds.Select(r => r.MapScore.CpuMicroseconds)):0.0} us; with all {Environment.ProcessorCount} cores busy for the stream alone its ratio could not go below {cpuBound:0.00}x.");
        sb.AppendLine();
        sb.AppendLine("## Reading the figures");
        sb.AppendLine();
        sb.AppendLine(inv, $"- The stream's target is {(ratio <= TotalsStreamRatioTarget ? "met" : "missed")} here and the unary p99 target {(p99 < (double)UnaryP99TargetMs ? "met" : "missed")}. Client and server share");
        sb.AppendLine("  this machine's 2 cores: every call is serialised, framed, sent, parsed and mapped on both sides by the cores that score.");
        sb.AppendLine("  Scoring a work takes a few microseconds; each gRPC message costs about as much again in transport and");
        sb.AppendLine("  (de)serialisation on each side, so the stream/in-process ratio is bounded by the transport.");
        sb.AppendLine("- (e) goes through the typed client as shipped: it gathers the requests at hand into ScoreWorkBatches messages (up to");
        sb.AppendLine(inv, $"  {batchSize} works each; the server answers each batch with one message) and its connection sends from a background loop");
        sb.AppendLine("  (`ContributiClientOptions.WriteBehind`, on by default). (e') is the same client on SocketsHttpHandler's own connection,");
        sb.AppendLine("  which sends inline; (e'') the same client one work per message on ScoreWorks, as it was before ScoreWorkBatches.");
        sb.AppendLine("- The stream's target (issue 27 item 6) compares (e) with (f'): the in-process map-and-score rate over the same");
        sb.AppendLine("  varied requests, each mapped anew as the server does. (f) scores one already-mapped work again and again, so it");
        sb.AppendLine("  reuses that work's per-scoring caches (its list entries resolved, its Covid-19 window split): kept for comparison.");
        sb.AppendLine("- Unary at 64 concurrent calls is queueing: by Little's law the mean latency is 64 / throughput; p99 < 5 ms needs");
        sb.AppendLine("  either more throughput than 2 shared cores give or less concurrency (at 4 concurrent calls p99 is about 2 ms).");
        sb.AppendLine("- Figures vary by about 30% between runs on this shared machine; the load average above says how busy it was.");
        return sb.ToString();
    }

    /// <summary>
    /// The notes written by hand below the report in <paramref name="output"/> (every section after "Reading the figures"),
    /// kept when the report above them is written again; "" when there are none.
    /// </summary>
    private static string NotesAfterReport(string output)
    {
        if (!File.Exists(output)) return "";
        var old = File.ReadAllText(output);
        var reading = old.IndexOf("## Reading the figures", StringComparison.Ordinal);
        var notes = reading < 0 ? -1 : old.IndexOf("\n## ", reading, StringComparison.Ordinal);
        return notes < 0 ? "" : old[notes..];
    }

    private static string Configuration =>
#if DEBUG
        "Debug (numbers not representative: run with -c Release)";
#else
        "Release";
#endif

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "CPU model unknown" : line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
            return "CPU model unknown";
        }
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(" / ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>tests/ContributiAutomatici.LoadBenchmark/RESULTS.md of the repository above the current directory
    /// or the program, else RESULTS.md here.</summary>
    private static string DefaultResultsPath()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "ContributiAutomatici.LoadBenchmark");
                if (File.Exists(Path.Combine(candidate, "ContributiAutomatici.LoadBenchmark.csproj"))) return Path.Combine(candidate, "RESULTS.md");
            }
        return "RESULTS.md";
    }

    private static int IntArg(string[] args, string name, int fallback) =>
        StringArg(args, name) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : fallback;

    private static string? StringArg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
