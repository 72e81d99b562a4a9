using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ContributiAutomatici.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace ContributiAutomatici.LoadBenchmark;

/// <summary>
/// Issue 27 item 4, the fuzz that finds what grows: the server executable as a child process (as it ships: its own
/// runtimeconfig, so its GC settings), warm-started, then N requests in bounded loops at concurrency 8 over Grpc.Net.Client on
/// loopback, each chosen by a seeded random: varied works (0-200 dated results, 0-40 festivals and markets), every rule-set
/// selector and overlay combination (and unknown ones), explanations on and off, bad inputs (unknown ids, bad dates and
/// amounts, a missing work), large works (10,000 festival entries, 5,000 dated results), deadlines too short to finish,
/// ScoreWorks and ScoreWorkBatches streams cancelled after a few items (or ended on a batch over the limit), and one request in
/// fifty (<c>--allocations</c>, percent) a small year allocated on Allocate or AllocateBatches (whole, cancelled halfway, with a bad field, with a batch over
/// the limit, or past its deadline). The server's RSS (VmRSS from /proc) after start, sampled during the
/// run, then after 2 s and 10 s idle, and a soak of varied load after it (<c>--soak-seconds</c>; one request in ten with the
/// fuzz's bad fields, from <c>--soak-concurrency</c> callers, paced at <c>--soak-rate</c> requests a second when given), and
/// the managed heap after the server's last collection, from its metrics.
/// dotnet run -c Release --project tests/ContributiAutomatici.LoadBenchmark -- --fuzz [--requests 20000] [--allocations 2] [--soak-seconds 60]
///     [--soak-concurrency 8] [--soak-rate 0]
///     [--env NAME=VALUE ...] (runtime settings for the server, e.g. DOTNET_gcServer=1 to try the GC as it was)
/// Prints a markdown table; exit 1 when the RSS after the fuzz is over 200 MiB.
/// </summary>
public static class Fuzz
{
    private const long TargetKb = 200 * 1024;

    public static async Task<int> RunAsync(string[] args)
    {
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("--fuzz reads /proc: Linux only");
            return 2;
        }
        var requests = Arg(args, "--requests", 20_000);
        // The share of the fuzz's requests that allocate a small year, in percent (0: none, as the fuzz was before allocations).
        var allocating = Arg(args, "--allocations", 2);
        var soakSeconds = Arg(args, "--soak-seconds", 60);
        // The soak's callers, and its pace (requests per second over all callers; 0: as fast as they can): a long soak at a
        // steady pace shows what a replica holds over time without taking the machine from everyone else.
        var soakCallers = Arg(args, "--soak-concurrency", 8);
        var soakRate = Arg(args, "--soak-rate", 0);
        var env = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i++)
            if (args[i] == "--env" && args[i + 1].Split('=', 2) is [var name, var value]) env[name] = value;
        var cache = Directory.CreateTempSubdirectory("contributi-fuzz-").FullName; // 0700
        try
        {
            using (await MemoryBenchmark.Server.StartAsync(cache, env)) { } // fills the cache: the measured start is warm
            using var server = await MemoryBenchmark.Server.StartAsync(cache, env);
            await Task.Delay(TimeSpan.FromSeconds(2));
            var startKb = server.RssKb();
            Console.WriteLine($"warm start ({server.GcMode}{(env.Count > 0 ? ", " + string.Join(" ", env.Select(e => e.Key + "=" + e.Value)) : "")}): RSS {startKb / 1024.0:0.0} MiB");

            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}",
                new GrpcChannelOptions { MaxSendMessageSize = 64 * 1024 * 1024, MaxReceiveMessageSize = 64 * 1024 * 1024 });
            var client = new ScoringService.ScoringServiceClient(channel);
            var allocation = new AllocationService.AllocationServiceClient(channel);
            var years = Years();
            var template = JsonParser.Default.Parse<ScoreWorkRequest>(
                await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "first-feature.json")));
            var outcomes = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
            void Count(string what) => outcomes.AddOrUpdate(what, 1, (_, n) => n + 1);
            var peakKb = startKb;
            var next = -1;
            var sw = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < requests)
                {
                    var random = new Random(i);
                    var kind = random.Next(100);
                    try
                    {
                        if (kind < 5 && random.Next(2) == 0) await CancelledStream(client, template, random);
                        else if (kind < 5) await CancelledBatches(client, template, random);
                        else if (kind >= 100 - allocating) Count(await Allocation(allocation, years, random));
                        else
                        {
                            var request = MemoryBenchmark.Varied(template, random);
                            Vary(request, random, large: kind < 8);
                            // One in ten with a deadline it cannot meet (a large one always).
                            var deadline = kind < 8 || random.Next(10) == 0 ? DateTime.UtcNow.AddMilliseconds(random.Next(1, 5)) : DateTime.UtcNow.AddSeconds(30);
                            await client.ScoreWorkAsync(request, deadline: deadline);
                        }
                        if (kind < 100 - allocating) Count(kind < 5 ? "stream completed" : "OK");
                    }
                    catch (RpcException ex) { Count(ex.StatusCode.ToString()); }
                    if (i % 500 == 0) MemoryBenchmark.InterlockedMax(ref peakKb, server.RssKb());
                }
            })));
            sw.Stop();
            await Task.Delay(TimeSpan.FromSeconds(2));
            var after2 = server.RssKb();
            await Task.Delay(TimeSpan.FromSeconds(8));
            var after10 = server.RssKb();
            Console.WriteLine($"after {requests:N0} fuzzed requests in {sw.Elapsed.TotalSeconds:0.0} s: RSS {after2 / 1024.0:0.0} MiB at 2 s, {after10 / 1024.0:0.0} MiB at 10 s (peak sampled {peakKb / 1024.0:0.0} MiB)");

            // The soak: varied works (no large ones), one after the other from the soak's callers at its pace, the RSS every 10 s.
            var soak = new List<(double Seconds, long Kb)>();
            var soakCount = 0;
            if (soakSeconds > 0)
            {
                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(soakSeconds));
                var sampler = Task.Run(async () =>
                {
                    var t = Stopwatch.StartNew();
                    while (!stop.IsCancellationRequested)
                    {
                        try { await Task.Delay(TimeSpan.FromSeconds(10), stop.Token); } catch (OperationCanceledException) { break; }
                        soak.Add((t.Elapsed.TotalSeconds, server.RssKb()));
                    }
                });
                var interval = soakRate > 0 ? TimeSpan.FromSeconds((double)soakCallers / soakRate) : TimeSpan.Zero;
                await Task.WhenAll(Enumerable.Range(0, soakCallers).Select(w => Task.Run(async () =>
                {
                    var random = new Random(1_000_000 + w);
                    var pace = Stopwatch.StartNew();
                    var due = TimeSpan.Zero;
                    while (!stop.IsCancellationRequested)
                    {
                        // Varied works, one in ten with the fuzz's bad or odd fields (never a large one: those are the fuzz's).
                        var request = MemoryBenchmark.Varied(template, random);
                        if (random.Next(10) == 0) Vary(request, random, large: false);
                        try { await client.ScoreWorkAsync(request, deadline: DateTime.UtcNow.AddSeconds(30)); }
                        catch (RpcException) { }
                        Interlocked.Increment(ref soakCount);
                        if (interval > TimeSpan.Zero && (due += interval) > pace.Elapsed)
                            try { await Task.Delay(due - pace.Elapsed, stop.Token); } catch (OperationCanceledException) { break; }
                    }
                })));
                await sampler;
                Console.WriteLine($"soak: {soakCount:N0} requests in {soakSeconds} s; RSS every 10 s: {string.Join(", ", soak.Select(s => (s.Kb / 1024.0).ToString("0", CultureInfo.InvariantCulture)))} MiB");
            }
            var finalKb = server.RssKb();
            // What of it is the managed heap: the server's own metrics (meter System.Runtime), scraped over HTTP/2 on its gRPC port.
            var heap = await ManagedHeapAsync(server.Port);

            var sb = new StringBuilder();
            sb.AppendLine(CultureInfo.InvariantCulture, $"Fuzz {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, `-- --fuzz --requests {requests} --allocations {allocating} --soak-seconds {soakSeconds} --soak-concurrency {soakCallers} --soak-rate {soakRate}{string.Concat(env.Select(e => $" --env {e.Key}={e.Value}"))}` " +
                $"({Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; load average {LoadAverage()}); server: {server.GcMode}.");
            sb.AppendLine();
            sb.AppendLine("| measure | RSS (MiB) |");
            sb.AppendLine("|---|---:|");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| after a warm start, 2 s idle | {startKb / 1024.0:0.0} |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| highest sample during the fuzz (every 500 requests) | {peakKb / 1024.0:0.0} |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| after {requests:N0} fuzzed requests, 2 s idle | {after2 / 1024.0:0.0} |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| after them, 10 s idle | {after10 / 1024.0:0.0} |");
            if (soak.Count > 0 && soakSeconds < 600)
                sb.AppendLine(CultureInfo.InvariantCulture, $"| soak of {soakSeconds} s varied load: every 10 s | {string.Join(", ", soak.Select(s => (s.Kb / 1024.0).ToString("0", CultureInfo.InvariantCulture)))} |");
            else if (soak.Count > 0)
                // A long soak, per 5 minutes: the lowest and highest of its samples (every 10 s).
                foreach (var g in soak.GroupBy(x => (int)(x.Seconds / 300)))
                    sb.AppendLine(CultureInfo.InvariantCulture, $"| soak, minutes {g.Key * 5}-{g.Key * 5 + 5} ({g.Count()} samples): lowest-highest | {g.Min(x => x.Kb) / 1024.0:0.0}-{g.Max(x => x.Kb) / 1024.0:0.0} |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| at the end | {finalKb / 1024.0:0.0} |");
            if (heap is { } h)
                sb.AppendLine(CultureInfo.InvariantCulture, $"| of which the managed heap after the server's last collection (`dotnet_gc_last_collection_heap_size_bytes`; {h.Collections:0} collections, {h.Gen2:0} of gen2) | {h.Bytes / 1024.0 / 1024.0:0.0} |");
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"Answers ({requests / sw.Elapsed.TotalSeconds:N0} calls/s): {string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Key} {o.Value:N0}"))}.");
            if (soakSeconds > 0) sb.AppendLine(CultureInfo.InvariantCulture, $"Soak: {soakCount:N0} requests from {soakCallers} callers{(soakRate > 0 ? $" paced at {soakRate} a second" : "")}.");
            Console.WriteLine();
            Console.Write(sb);
            return after10 <= TargetKb ? 0 : 1;
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    /// <summary>The server's managed heap after its last collection (all generations) and its collections, from its /metrics; null without them.</summary>
    private static async Task<(double Bytes, double Collections, double Gen2)?> ManagedHeapAsync(int port)
    {
        try
        {
            using var http = new HttpClient { DefaultRequestVersion = new Version(2, 0), DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
            var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            double Sum(string name, string? label = null) => text.Split('\n')
                .Where(l => l.StartsWith(name, StringComparison.Ordinal) && (l.Length > name.Length && l[name.Length] is '{' or ' ') && (label is null || l.Contains(label, StringComparison.Ordinal)))
                .Sum(l => double.Parse(l[(l.Contains('{') ? l.LastIndexOf('}') + 1 : name.Length)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
            return (Sum("dotnet_gc_last_collection_heap_size_bytes"), Sum("dotnet_gc_collections_total"), Sum("dotnet_gc_collections_total", "gc_heap_generation=\"gen2\""));
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static readonly string[] Selectors = ["dm-2021", "dm-2021+covid-19", "dm-2021~covid-19", "2021", "2023", "dm-2017", "dm-2021+no-such-overlay", "dm-1999", "", "+"];

    /// <summary>On top of <see cref="MemoryBenchmark.Varied"/>: another rule set or overlay, a bad field, or a very large work.</summary>
    private static void Vary(ScoreWorkRequest r, Random random, bool large)
    {
        if (random.Next(3) == 0)
        {
            r.RuleSetId = Selectors[random.Next(Selectors.Length)];
            if (r.RuleSetId.Length == 0) r.ApplicationYear = random.Next(2015, 2030);
        }
        if (random.Next(6) == 0) r.WithOverlays.Add(random.Next(2) == 0 ? "covid-19" : "overlay-" + random.Next(1000));
        var w = r.Work;
        switch (random.Next(12))
        {
            case 0: r.Work = null; break;
            case 1: w.BoxOffice.Add(new DatedAmount { Date = new Google.Type.Date { Year = 2022, Month = 2, Day = 31 }, Amount = "12" }); break;
            case 2: w.BoxOffice.Add(new DatedAmount { Date = new Google.Type.Date { Year = 2022, Month = 3, Day = 1 }, Amount = "1e400" }); break;
            case 3: w.Markets.Add(new MarketEntry { MarketId = new string('x', random.Next(1, 5000)) }); break;
        }
        if (!large || r.Work is null) return;
        for (var i = 0; i < 10_000; i++)
            w.Festivals.Add(new FestivalEntry { FestivalId = i % 2 == 0 ? "venezia" : "cannes", Section = FestivalSection.Competition, OtherPrizes = i % 3 });
        for (var i = 0; i < 5_000; i++)
            w.BoxOffice.Add(new DatedAmount { Date = new Google.Type.Date { Year = 2022, Month = 1 + i % 12, Day = 1 + i % 28 }, Amount = "1000" });
    }

    /// <summary>
    /// Small synthetic years (20-400 works, <see cref="Tooling.YearSynthesizer"/>) of the version in force for 2023, from its rule
    /// files' lists (parsed here, nothing compiled), for the fuzz's allocations.
    /// </summary>
    private static List<AllocateRequest>[] Years()
    {
        var version = ContributiAutomatici.Engine.Loading.RuleCatalog.LoadDefinitions(ContributiAutomatici.Engine.Rules.RulesLocator.Find())
            .Versions.Select(v => v.Version).Where(d => d.ApplicationYearFrom <= 2023 && (d.ApplicationYearTo is null || d.ApplicationYearTo >= 2023))
            .MaxBy(d => d.ApplicationYearFrom) ?? throw new InvalidOperationException("no version governs 2023");
        var lists = new ContributiAutomatici.Engine.Scoring.ListCatalog(version.Lists);
        return [.. Enumerable.Range(0, 8).Select(i => Tooling.YearSynthesizer.Items(version.Id, lists, 2 + i * 5, 20 + i * 54, 100 + i, 2023, 1_000_000m).ToList())];
    }

    /// <summary>
    /// An allocation of one of <paramref name="years"/>, on Allocate (an item a message) or AllocateBatches (batches of a random
    /// size; one whole year in ten with a batch over the limit among them, INVALID_ARGUMENT): whole (every answer read),
    /// cancelled by the caller halfway through its items, with a bad field in one item (INVALID_ARGUMENT), or with a deadline
    /// too short to finish. Its outcome, to count.
    /// </summary>
    private static Task<string> Allocation(AllocationService.AllocationServiceClient client, List<AllocateRequest>[] years, Random random)
    {
        var year = years[random.Next(years.Length)];
        var how = random.Next(4);
        var bad = how == 2 ? random.Next(1, year.Count) : -1;
        var items = year.Take(how == 1 ? year.Count / 2 : year.Count).Select((item, i) => i == bad ? Spoilt(item) : item).ToList();
        var deadline = how == 3 ? DateTime.UtcNow.AddMilliseconds(random.Next(1, 5)) : DateTime.UtcNow.AddSeconds(30);
        if (random.Next(2) == 0) return Allocation(ct => client.Allocate(deadline: deadline, cancellationToken: ct), items, cancel: how == 1);
        var batches = items.Chunk(random.Next(1, 600)).Select(c => new AllocateBatchesRequest { Items = { c } }).ToList();
        if (how == 0 && random.Next(10) == 0)
            batches.Insert(batches.Count / 2, new AllocateBatchesRequest { Items = { Enumerable.Repeat(year[^1], ContributiAutomatici.Protocol.RequestLimits.MaxAllocateBatchItems + 1) } });
        return Allocation(ct => client.AllocateBatches(deadline: deadline, cancellationToken: ct), batches, cancel: how == 1);
    }

    /// <summary>An item of a year with a field the server refuses.</summary>
    private static AllocateRequest Spoilt(AllocateRequest item)
    {
        item = item.Clone();
        switch (item.ItemCase)
        {
            case AllocateRequest.ItemOneofCase.Company: item.Company.NetWorth = "1e400"; break;
            case AllocateRequest.ItemOneofCase.Work: item.Work.Work.BoxOffice.Add(new DatedAmount { Date = new Google.Type.Date { Year = 2022, Month = 2, Day = 31 }, Amount = "1" }); break;
            case AllocateRequest.ItemOneofCase.Claim: item.Claim.RightsSharePercent = "101"; break;
            default: item.Header.Budget = "-1"; break;
        }
        return item;
    }

    /// <summary>One allocation call: <paramref name="messages"/> written, then completed or cancelled, then every answer read.</summary>
    private static async Task<string> Allocation<TRequest, TResponse>(Func<CancellationToken, AsyncDuplexStreamingCall<TRequest, TResponse>> start,
        List<TRequest> messages, bool cancel)
    {
        using var cts = new CancellationTokenSource();
        using var call = start(cts.Token);
        try
        {
            foreach (var message in messages) await call.RequestStream.WriteAsync(message, cts.Token);
            if (cancel) await cts.CancelAsync();
            else await call.RequestStream.CompleteAsync();
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            // The server ended the call while messages were still going out (its deadline passed, or a batch over the limit: it
            // resets the stream, and the write fails with the transport's error): the call's status, read below, says why.
        }
        var answers = 0;
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) answers++; // throws for all but a whole year
        return answers > 0 ? "allocation completed" : "allocation empty";
    }

    /// <summary>A ScoreWorks stream: a few items written and read, then the call cancelled by the caller.</summary>
    private static async Task CancelledStream(ScoringService.ScoringServiceClient client, ScoreWorkRequest template, Random random)
    {
        using var cts = new CancellationTokenSource();
        using var call = client.ScoreWorks(cancellationToken: cts.Token);
        for (var k = random.Next(1, 20); k > 0; k--)
        {
            await call.RequestStream.WriteAsync(new ScoreWorksRequest { RequestId = "fuzz-" + k, Request = MemoryBenchmark.Varied(template, random) });
            if (random.Next(2) == 0) await call.ResponseStream.MoveNext(cts.Token);
        }
        await cts.CancelAsync();
        await call.ResponseStream.MoveNext(CancellationToken.None); // throws Cancelled
    }

    /// <summary>
    /// A ScoreWorkBatches stream: a few batches of up to 300 varied works (some with the fuzz's bad fields; at most 32 explained
    /// but in one stream in ten, which goes over that limit and is refused), each answer read
    /// before the next batch is sent (a batch is larger than HTTP/2's flow-control windows: a caller that neither reads nor
    /// stops writing stalls both ends), the last one's read or not, then the call cancelled by the caller; one in ten ends
    /// instead on a batch over the limit (INVALID_ARGUMENT).
    /// </summary>
    private static async Task CancelledBatches(ScoringService.ScoringServiceClient client, ScoreWorkRequest template, Random random)
    {
        using var cts = new CancellationTokenSource();
        using var call = client.ScoreWorkBatches(cancellationToken: cts.Token);
        // One stream in ten sends a batch with more explained works than the limit (INVALID_ARGUMENT ends it there).
        var overExplained = random.Next(10) == 0;
        for (var b = random.Next(1, 4); b > 0; b--)
        {
            var batch = new ScoreWorkBatchesRequest();
            var explained = 0;
            for (var k = random.Next(1, 300); k > 0; k--)
            {
                var request = MemoryBenchmark.Varied(template, random);
                if (random.Next(10) == 0) Vary(request, random, large: false);
                if (!request.TotalsOnly && ++explained > ContributiAutomatici.Protocol.RequestLimits.MaxBatchExplained && !overExplained)
                    request.TotalsOnly = true;
                batch.Items.Add(new ScoreWorksRequest { RequestId = "fuzz-" + k, Request = request });
            }
            await call.RequestStream.WriteAsync(batch);
            if (b > 1 || random.Next(2) == 0) await call.ResponseStream.MoveNext(cts.Token);
        }
        if (random.Next(10) == 0)
        {
            var over = new ScoreWorkBatchesRequest();
            for (var k = 0; k <= ContributiAutomatici.Protocol.RequestLimits.MaxBatchItems; k++)
                over.Items.Add(new ScoreWorksRequest { RequestId = "over-" + k });
            await call.RequestStream.WriteAsync(over);
            while (await call.ResponseStream.MoveNext(CancellationToken.None)) { } // throws InvalidArgument
        }
        await cts.CancelAsync();
        await call.ResponseStream.MoveNext(CancellationToken.None); // throws Cancelled
    }

    private static int Arg(string[] args, string name, int fallback) =>
        Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;

    private static string LoadAverage()
    {
        try { return string.Join(" / ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
    }
}
