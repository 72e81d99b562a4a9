using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ContributiAutomatici.Contracts.V1;
using Google.Protobuf;
using Grpc.Net.Client;

namespace ContributiAutomatici.LoadBenchmark;

/// <summary>
/// dotnet run -c Release --project tests/ContributiAutomatici.LoadBenchmark -- --reforms 200 [--cache-size 16] [--reform-compiler worker|inprocess]
/// The server executable as a child process (warm start, as <see cref="MemoryBenchmark"/>), then N ScoreWork calls in a row,
/// each with a distinct structural what-if reform (a row added: compiled, issue 28): its RSS after the warm start, after the
/// first reform, every 20 reforms and at the end, and the RSS of its reform compiler worker (its child process; default
/// ReformCompiler=worker) beside it, then once the worker's idle time has passed. The server keeps ReformCacheSize
/// (--cache-size, default 16) reforms: the least recently used are let go and their collectible load contexts unloaded.
/// Writes section (c') of RESULTS.md.
/// </summary>
public static class ReformMemoryBenchmark
{
    private const long GrowthTargetKb = 50 * 1024;

    public static async Task<int> RunAsync(string[] args)
    {
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("--reforms reads /proc: Linux only");
            return 2;
        }
        var count = args.SkipWhile(a => a != "--reforms").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(200);
        var kept = args.SkipWhile(a => a != "--cache-size").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(16);
        var compiler = args.SkipWhile(a => a != "--reform-compiler").Skip(1).FirstOrDefault("worker");
        const int idleSeconds = 30; // the server's default ReformWorkerIdleSeconds
        var cache = Directory.CreateTempSubdirectory("contributi-reforms-").FullName;
        try
        {
            using (var cold = await MemoryBenchmark.Server.StartAsync(cache)) { }
            using var server = await MemoryBenchmark.Server.StartAsync(cache, null, $"--Contributi:ReformCacheSize={kept}", $"--Contributi:ReformCompiler={compiler}");
            await Task.Delay(TimeSpan.FromSeconds(2));
            var startKb = server.RssKb();
            Console.WriteLine($"warm start: RSS {startKb / 1024.0:0.0} MiB");
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
            var client = new ScoringService.ScoringServiceClient(channel);
            var template = JsonParser.Default.Parse<ScoreWorkRequest>(
                await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "first-feature.json")));
            var samples = new List<(int After, long Kb, long WorkerKb, double Seconds)>();
            long firstKb = 0, peakKb = startKb, firstWorkerKb = 0, peakWorkerKb = 0;
            long compiled = 0;
            var sw = Stopwatch.StartNew();
            for (var i = 1; i <= count; i++)
            {
                var request = template.Clone();
                request.Reform = Structural(i);
                var response = await client.ScoreWorkAsync(request, deadline: DateTime.UtcNow.AddMinutes(10));
                if (response.Reform.Source != ReformSource.Compiled) throw new InvalidOperationException($"reform {i} was not compiled: {response.Reform.Source}");
                compiled = response.Reform.CompiledReforms;
                var kb = server.RssKb();
                var workerKb = server.ChildrenRssKb();
                peakKb = Math.Max(peakKb, kb);
                peakWorkerKb = Math.Max(peakWorkerKb, workerKb);
                if (i == 1) (firstKb, firstWorkerKb) = (kb, workerKb);
                if (i % 20 == 0 || i == 1)
                {
                    samples.Add((i, kb, workerKb, sw.Elapsed.TotalSeconds));
                    Console.WriteLine($"after {i} reforms ({sw.Elapsed.TotalSeconds:0} s): RSS {kb / 1024.0:0.0} MiB, worker {workerKb / 1024.0:0.0} MiB");
                }
            }
            sw.Stop();
            await Task.Delay(TimeSpan.FromSeconds(5));
            var (endKb, endWorkerKb) = (server.RssKb(), server.ChildrenRssKb());
            Console.WriteLine($"{count} reforms in {sw.Elapsed.TotalSeconds:0} s, 5 s idle: RSS {endKb / 1024.0:0.0} MiB, worker {endWorkerKb / 1024.0:0.0} MiB; compiled_reforms {compiled}");
            await Task.Delay(TimeSpan.FromSeconds(idleSeconds + 5));
            var (idleKb, idleWorkerKb, workersLeft) = (server.RssKb(), server.ChildrenRssKb(), server.Children().Count);
            Console.WriteLine($"{idleSeconds + 10} s idle: RSS {idleKb / 1024.0:0.0} MiB, {workersLeft} worker(s) left");
            var load = File.ReadAllText("/proc/loadavg").Trim();

            var section = new StringBuilder();
            var heading = $"## (c') Memory under distinct structural reforms (issue 28), ReformCacheSize {kept}, ReformCompiler {compiler}";
            section.AppendLine(heading);
            section.AppendLine();
            section.AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `dotnet run -c Release --project tests/ContributiAutomatici.LoadBenchmark -- --reforms {count} --cache-size {kept}` " +
                               $"({Environment.ProcessorCount} cores shared with other builds, load average at the end {load}, {RuntimeInformation.OSDescription}, " +
                               $".NET {Environment.Version}): the server executable (Release, {server.GcMode}, ReformCacheSize {kept}, ReformCompiler {compiler}) as a " +
                               $"child process after a warm start, RSS (VmRSS) from /proc, and its child processes' (the reform compiler worker) beside it. Then " +
                               $"{count} ScoreWork calls in a row on examples/first-feature.json, each with a distinct reform that adds a row (`points: \"N m\"`): each " +
                               (compiler == "worker"
                                   ? "is compiled by Roslyn in the worker, whose image the server verifies and loads into a collectible load context; "
                                   : "is compiled by Roslyn in the server into a collectible load context; ") +
                               $"beyond {kept} the least recently used is let go and unloaded.");
            section.AppendLine();
            static string MiB(long kb) => (kb / 1024.0).ToString("0.0", CultureInfo.InvariantCulture);
            section.AppendLine("| measure | server RSS (MiB) | worker RSS (MiB) | target (server) |");
            section.AppendLine("|---|---:|---:|---|");
            section.AppendLine($"| after a warm start, 2 s idle | {MiB(startKb)} | none | |");
            section.AppendLine($"| after the first reform | {MiB(firstKb)} (+{MiB(firstKb - startKb)}) | {MiB(firstWorkerKb)} | |");
            foreach (var (after, kb, workerKb, seconds) in samples.Where(s => s.After > 1))
                section.AppendLine($"| after {after} reforms ({seconds:0} s) | {MiB(kb)} (+{MiB(kb - startKb)}) | {MiB(workerKb)} | |");
            section.AppendLine($"| after {count} reforms, 5 s idle | {MiB(endKb)} (+{MiB(endKb - startKb)}) | {MiB(endWorkerKb)} | <= start + 50 MiB: {(endKb - startKb <= GrowthTargetKb ? "met" : "MISSED")} |");
            section.AppendLine($"| {idleSeconds + 10} s idle (the worker's idle time, {idleSeconds} s, passed) | {MiB(idleKb)} (+{MiB(idleKb - startKb)}) | " +
                               $"{(workersLeft == 0 ? "exited" : MiB(idleWorkerKb) + $" ({workersLeft} left)")} | |");
            section.AppendLine($"| highest sample (after each reform) | {MiB(peakKb)} | {MiB(peakWorkerKb)} | |");
            section.AppendLine();
            section.AppendLine($"{compiled} reforms compiled in {sw.Elapsed.TotalSeconds:0} s ({sw.Elapsed.TotalMilliseconds / count:0} ms each, compile and score).");
            MemoryBenchmark.WriteSection(section.ToString(), heading);
            return endKb - startKb <= GrowthTargetKb ? 0 : 1;
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    /// <summary>A reform adding one row that scores <paramref name="n"/> points: a distinct content, so a distinct compilation.</summary>
    private static Reform Structural(int n) => new()
    {
        Id = $"bench-{n}", Title = $"una riga che vale {n} punti",
        Changes =
        {
            new ReformChange
            {
                Add = new RowAddition
                {
                    RowId = "T1.C.bench", After = "T1.C.16", Label = "riga aggiunta", Cite = "benchmark",
                    Points = { new RolePoints { Role = Role.Producer, Points = $"{n}m" } },
                },
            },
        },
    };
}
