using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using ContributiAutomatici.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace ContributiAutomatici.LoadBenchmark;

/// <summary>
/// dotnet run -c Release --project tests/ContributiAutomatici.LoadBenchmark -- --memory [--requests 20000]
/// The server executable as a child process (Linux: RSS from /proc): started once to fill a private rules cache, then
/// again warm; its RSS after start-up, then after N varied ScoreWork requests (different works, explanations on and
/// off, not-applied rows, bad requests) at concurrency 8. Writes section (c) of tests/ContributiAutomatici.Benchmarks/RESULTS.md.
/// </summary>
public static class MemoryBenchmark
{
    private const long StartTargetKb = 150 * 1024;
    private const long GrowthTargetKb = 50 * 1024;

    public static async Task<int> RunAsync(string[] args)
    {
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("--memory reads /proc: Linux only");
            return 2;
        }
        var requests = args.SkipWhile(a => a != "--requests").Skip(1).Select(int.Parse).FirstOrDefault(20_000);
        var cache = Directory.CreateTempSubdirectory("contributi-memory-").FullName; // 0700
        try
        {
            // 1: fill the cache (cold start), 2: warm start, measured.
            using (var cold = await Server.StartAsync(cache)) { }
            using var server = await Server.StartAsync(cache);
            await Task.Delay(TimeSpan.FromSeconds(2));
            var startKb = server.RssKb();
            Console.WriteLine($"warm start: RSS {startKb / 1024.0:0.0} MiB");

            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
            var client = new ScoringService.ScoringServiceClient(channel);
            var template = JsonParser.Default.Parse<ScoreWorkRequest>(
                await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "first-feature.json")));
            var counts = new int[4];
            var peakKb = startKb;
            var next = -1;
            var sw = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < requests)
                {
                    var request = Varied(template, new Random(i));
                    try
                    {
                        await client.ScoreWorkAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
                        Interlocked.Increment(ref counts[0]);
                    }
                    catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument) { Interlocked.Increment(ref counts[1]); }
                    catch (RpcException) { Interlocked.Increment(ref counts[2]); }
                    if (i % 1000 == 0) InterlockedMax(ref peakKb, server.RssKb());
                }
            })));
            sw.Stop();
            await Task.Delay(TimeSpan.FromSeconds(2));
            var afterKb = server.RssKb();
            Console.WriteLine($"after {requests:N0} requests in {sw.Elapsed.TotalSeconds:0.0} s: RSS {afterKb / 1024.0:0.0} MiB (peak sampled {peakKb / 1024.0:0.0} MiB); " +
                              $"{counts[0]} OK, {counts[1]} INVALID_ARGUMENT, {counts[2]} other");

            var section = new StringBuilder();
            section.AppendLine("## (c) Memory of the server");
            section.AppendLine();
            section.AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `dotnet run -c Release --project tests/ContributiAutomatici.LoadBenchmark -- --memory --requests {requests}` " +
                               $"({Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}): the server executable (Release, " +
                               $"{server.GcMode}) as a child process, RSS (VmRSS) from /proc. Warm start: the rules from a cache filled by a first start, so Roslyn " +
                               $"emits nothing (its parser still checks each expression). Then {requests:N0} varied ScoreWork calls at concurrency 8 (works of 0-200 " +
                               "dated results, 0-40 festival and 0-40 market entries, cinema or TV, explanations on or off, not-applied rows, about one in eight " +
                               "a bad request).");
            section.AppendLine();
            section.AppendLine("| measure | RSS (MiB) | target |");
            section.AppendLine("|---|---:|---|");
            section.AppendLine($"| after a warm start, 2 s idle | {startKb / 1024.0:0.0} | <= 150 MiB: {(startKb <= StartTargetKb ? "met" : "MISSED")} |");
            section.AppendLine($"| after {requests:N0} requests, 2 s idle | {afterKb / 1024.0:0.0} (+{(afterKb - startKb) / 1024.0:0.0}) | <= start + 50 MiB: {(afterKb - startKb <= GrowthTargetKb ? "met" : "MISSED")} |");
            section.AppendLine($"| highest sample during the run (every 1,000 requests) | {peakKb / 1024.0:0.0} | |");
            section.AppendLine();
            section.AppendLine($"Answers: {counts[0]:N0} OK, {counts[1]:N0} INVALID_ARGUMENT, {counts[2]:N0} other; {requests / sw.Elapsed.TotalSeconds:N0} calls/s.");
            WriteSection(section.ToString());
            return afterKb <= StartTargetKb + GrowthTargetKb ? 0 : 1;
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    internal static void InterlockedMax(ref long target, long value)
    {
        long seen;
        while (value > (seen = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }

    /// <summary>A different work each time: sizes of its lists, amounts, dates, explanation options; one in eight invalid.</summary>
    internal static ScoreWorkRequest Varied(ScoreWorkRequest template, Random random)
    {
        var r = template.Clone();
        var w = r.Work;
        w.Id = "memory-" + random.Next();
        w.Title = new string('t', random.Next(0, 200));
        w.BoxOffice.Clear();
        for (var i = random.Next(0, 200); i > 0; i--)
            w.BoxOffice.Add(new DatedAmount { Date = new Google.Type.Date { Year = 2022, Month = random.Next(1, 13), Day = random.Next(1, 29) }, Amount = random.Next(0, 100_000).ToString(CultureInfo.InvariantCulture) });
        string[] festivals = ["venezia", "cannes", "berlino", "locarno", "sundance", "toronto-iff"];
        w.Festivals.Clear();
        for (var i = random.Next(0, 40); i > 0; i--)
            w.Festivals.Add(new FestivalEntry { FestivalId = festivals[random.Next(festivals.Length)], Section = (FestivalSection)random.Next(1, 3), OtherPrizes = random.Next(0, 3), BestFilmPrize = random.Next(2) == 0 });
        for (var i = random.Next(0, 40); i > 0; i--) w.Markets.Add(new MarketEntry { MarketId = "torino-film-lab" });
        w.Kind = random.Next(4) == 0 ? WorkKind.TvWeb : WorkKind.Cinema;
        w.Animation = random.Next(4) == 0;
        w.Documentary = random.Next(4) == 0;
        r.TotalsOnly = random.Next(3) == 0;
        r.IncludeNotApplied = random.Next(3) == 0;
        if (random.Next(8) == 0) w.Festivals.Add(new FestivalEntry { FestivalId = "no-such-festival-" + random.Next(), Section = FestivalSection.Competition });
        return r;
    }

    internal static void WriteSection(string section, string heading = "## (c) Memory of the server")
    {
        var path = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../ContributiAutomatici.Benchmarks/RESULTS.md"));
        var text = File.Exists(path) ? File.ReadAllText(path) : "";
        var at = text.IndexOf(heading, StringComparison.Ordinal);
        if (at >= 0)
        {
            var end = text.IndexOf("\n## ", at + heading.Length, StringComparison.Ordinal);
            text = text[..at] + section + (end >= 0 ? text[(end + 1)..] : "");
        }
        else text = text.TrimEnd() + "\n\n" + section;
        File.WriteAllText(path, text);
        Console.WriteLine($"written to {path}");
    }

    /// <summary>The server executable beside this program, as a child process on a free port.</summary>
    internal sealed class Server : IDisposable
    {
        private readonly Process _process;

        private Server(Process process, int port, string gcMode)
        {
            _process = process;
            Port = port;
            GcMode = gcMode;
        }

        public int Port { get; }
        public string GcMode { get; }

        public static async Task<Server> StartAsync(string cache, IReadOnlyDictionary<string, string>? environment = null, params string[] options)
        {
            int port;
            using (var l = new TcpListener(IPAddress.Loopback, 0)) { l.Start(); port = ((IPEndPoint)l.LocalEndpoint).Port; }
            var dll = Path.Combine(AppContext.BaseDirectory, "ContributiAutomatici.Server.dll");
            var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
            foreach (var a in new[] { dll, $"--Contributi:Port={port}", "--Contributi:HttpPort=off", $"--Contributi:RulesCache={cache}", "--Contributi:WatchRules=false" }.Concat(options))
                info.ArgumentList.Add(a);
            var process = Process.Start(info)!;
            var serving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            process.OutputDataReceived += (_, e) => { if (e.Data?.Contains("serving contributi.v1.ScoringService") == true) serving.TrySetResult(); };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (await Task.WhenAny(serving.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(120))) != serving.Task)
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException("the server did not start");
            }
            var config = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "ContributiAutomatici.Server.runtimeconfig.json"));
            var server = environment?.GetValueOrDefault("DOTNET_gcServer") is { } forced ? forced == "1" : config.Contains("\"System.GC.Server\": true", StringComparison.Ordinal);
            var gc = server ? "server GC" : "workstation GC";
            if (config.Contains("System.GC.ConserveMemory", StringComparison.Ordinal)) gc += ", GCConserveMemory";
            return new Server(process, port, gc);
        }

        public long RssKb() => RssKb(_process.Id);

        private static long RssKb(int pid)
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                    if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
            catch (IOException) { } // a child gone meanwhile
            return 0;
        }

        /// <summary>The server's child processes (its reform compiler workers).</summary>
        public List<int> Children() =>
            Directory.GetDirectories($"/proc/{_process.Id}/task")
                .SelectMany(t => File.Exists(Path.Combine(t, "children")) ? File.ReadAllText(Path.Combine(t, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries) : [])
                .Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToList();

        /// <summary>The RSS of the server's child processes together.</summary>
        public long ChildrenRssKb() => Children().Sum(RssKb);

        public void Dispose()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
            _process.Dispose();
        }
    }
}
