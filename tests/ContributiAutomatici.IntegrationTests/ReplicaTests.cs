using System.Collections.Concurrent;
using System.Diagnostics;
using ContributiAutomatici.Client;
using ContributiAutomatici.Contracts.V1;
using Grpc.Core;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// The typed client over several replicas: a static list balanced round robin by Grpc.Net.Client, on real servers on
/// loopback ports; and three server processes, one killed in the middle of 10,000 works streamed over them and restarted.
/// </summary>
public sealed class ReplicaTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Calls_spread_round_robin_over_a_static_list_of_replicas_and_skip_one_that_stopped()
    {
        var servers = new List<LoopbackServer>();
        try
        {
            for (var i = 0; i < 3; i++) servers.Add(await LoopbackServer.StartAsync(catalog: TestRules.Catalog));
            using var client = new ContributiClient(new ContributiClientOptions
            {
                Address = new Uri("http://replicas"),
                Replicas = servers.Select(s => s.Address).ToList(),
            });
            Assert.True(client.Options.Balanced);

            for (var i = 0; i < 300; i++) await client.ScoreWorkAsync(Examples.FirstFeature());

            var counts = servers.Select(s => s.Stats.UnaryScores).ToList();
            Assert.Equal(300, counts.Sum());
            Assert.All(counts, c => Assert.InRange(c, 90, 110)); // round robin once all three are connected

            await servers[1].StopAsync();
            for (var i = 0; i < 90; i++) await client.ScoreWorkAsync(Examples.FirstFeature()); // retried where it fails
            var after = servers.Select(s => s.Stats.UnaryScores).ToList();
            Assert.Equal(counts[1], after[1]);
            Assert.Equal(90, after[0] + after[2] - counts[0] - counts[2]);
            Assert.True(after[0] > counts[0] && after[2] > counts[2]);
        }
        finally
        {
            foreach (var s in servers) await s.DisposeAsync();
        }
    }

    /// <summary>A server process on fixed ports (so it can be restarted where the client expects it).</summary>
    private sealed class Replica(int port, int httpPort) : IDisposable
    {
        private Process? _process;
        public int Port { get; private set; } = port;
        public Uri Address => new($"http://127.0.0.1:{Port}");

        /// <summary>
        /// Starts the replica. A port found free may be taken before the server binds it (by another test's server, or as the
        /// local end of a connection): on its first start (<paramref name="newPortsIfTaken"/>, before the client knows its
        /// address) a replica that exits before serving is started again on other ports, twice at most; a restart keeps its ports.
        /// </summary>
        public async Task StartAsync(bool newPortsIfTaken = false)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    _process = await ServerProcesses.StartServingAsync($"--Contributi:Port={Port}", $"--Contributi:HttpPort={httpPort}",
                        $"--Contributi:Rules={TestRules.Folder}", "--Contributi:WatchRules=false");
                    return;
                }
                catch (ServerStartException ex) when (ex.ExitCode == Server.Program.CannotListen && newPortsIfTaken && attempt < 3)
                {
                    Port = LoopbackServer.FreePort();
                    httpPort = LoopbackServer.FreePort();
                }
            }
        }

        public void Kill()
        {
            _process!.Kill(entireProcessTree: true);
            _process.WaitForExit();
            _process.Dispose();
            _process = null;
        }

        /// <summary>Calls this process has ended (of one method, or all), from its /metrics over HTTP/1.1.</summary>
        public async Task<double> CallsAsync(string? method = "ScoreWorkBatches")
        {
            using var http = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version11 };
            var samples = PrometheusText.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{httpPort}/metrics")));
            return method is null ? PrometheusText.Sum(samples, "contributi_calls_total") : PrometheusText.Sum(samples, "contributi_calls_total", ("rpc_method", method));
        }

        public void Dispose()
        {
            if (_process is null) return;
            try { _process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            _process.Dispose();
        }
    }

    [Fact]
    public async Task A_server_whose_port_is_taken_says_so_on_stderr_and_exits_with_code_2_before_serving()
    {
        // What a replica's first start retries on: the port it was given is bound by someone else.
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var ex = await Assert.ThrowsAsync<ServerStartException>(() => ServerProcesses.StartServingAsync($"--Contributi:Port={port}",
            "--Contributi:HttpPort=off", $"--Contributi:Rules={TestRules.Folder}", "--Contributi:WatchRules=false"));
        // Said in one line on stderr and a code of its own, not an unhandled exception (exit 134, a stack trace).
        Assert.Equal(Server.Program.CannotListen, ex.ExitCode);
        Assert.StartsWith("the server exited with code 2 before serving; stderr: cannot listen: Failed to bind to address " +
                          $"http://127.0.0.1:{port}: address already in use; the server does not start", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Three_replicas_one_killed_and_restarted_in_the_middle_of_10000_works_every_work_answered_exactly_once()
    {
        const int works = 10_000, chunk = 250, concurrency = 4;
        var replicas = Enumerable.Range(0, 3).Select(_ => new Replica(LoopbackServer.FreePort(), LoopbackServer.FreePort())).ToList();
        try
        {
            await Task.WhenAll(replicas.Select(r => r.StartAsync(newPortsIfTaken: true)));
            using var client = new ContributiClient(new ContributiClientOptions
            {
                Address = new Uri("http://replicas"),
                Replicas = replicas.Select(r => r.Address).ToList(),
            });
            var answers = new ConcurrentDictionary<int, int>();
            var resumed = 0;

            // A stream is not retried by the client (its items may have been scored): the caller sends again what was not
            // answered, as any caller of ScoreWorks does; the balancer takes the new call to a live replica.
            async Task ScoreChunk(int first)
            {
                var pending = Enumerable.Range(first, Math.Min(chunk, works - first)).ToList();
                while (pending.Count > 0)
                {
                    var answered = new HashSet<int>();
                    try
                    {
                        var requests = pending.Select(i => new ScoreWorksRequest { RequestId = i.ToString(System.Globalization.CultureInfo.InvariantCulture), Request = Examples.Variant($"w{i}", i) });
                        await foreach (var item in client.ScoreWorksAsync(requests, DateTime.UtcNow.AddSeconds(60)))
                        {
                            var id = int.Parse(item.RequestId, System.Globalization.CultureInfo.InvariantCulture);
                            Assert.Null(item.Error);
                            Assert.Equal($"w{id}", item.Response.WorkId);
                            answers.AddOrUpdate(id, 1, (_, n) => n + 1);
                            answered.Add(id);
                        }
                    }
                    catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Cancelled or StatusCode.Unknown)
                    {
                        Interlocked.Increment(ref resumed);
                        await Task.Delay(100);
                    }
                    pending = pending.Where(i => !answered.Contains(i)).ToList();
                }
            }

            async Task Run(IEnumerable<int> firsts, Func<int, Task>? afterEach = null)
            {
                var queue = new ConcurrentQueue<int>(firsts);
                var done = 0;
                await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
                {
                    while (queue.TryDequeue(out var first))
                    {
                        await ScoreChunk(first);
                        if (afterEach is not null) await afterEach(Interlocked.Increment(ref done));
                    }
                }));
            }

            var chunks = Enumerable.Range(0, works / chunk).Select(c => c * chunk).ToList();
            // The first 4,000 works: replica 1 killed once 6 chunks are answered, while others are in flight.
            await Run(chunks.Take(16), done =>
            {
                if (done == 6) replicas[1].Kill();
                return Task.CompletedTask;
            });
            Assert.Equal(4_000, answers.Count);
            var survivors = new[] { await replicas[0].CallsAsync(), await replicas[2].CallsAsync() };
            Assert.All(survivors, c => Assert.True(c > 0));

            // Restarted on its ports: the balancer reconnects to it after its back-off (unary calls until it has taken one).
            await replicas[1].StartAsync();
            var until = DateTime.UtcNow.AddSeconds(120);
            while (await replicas[1].CallsAsync(null) == 0 && DateTime.UtcNow < until)
            {
                await client.ListRuleSetsAsync();
                await Task.Delay(50);
            }
            // The other 6,000 works, over the three.
            await Run(chunks.Skip(16));

            Assert.Equal(Enumerable.Range(0, works), answers.Keys.Order());
            Assert.All(answers, a => Assert.Equal(1, a.Value)); // every work answered exactly once: nothing lost, nothing twice
            var calls = new[] { await replicas[0].CallsAsync(), await replicas[1].CallsAsync(), await replicas[2].CallsAsync() };
            output.WriteLine($"bulk-scoring calls per live replica: {string.Join(", ", calls)} (replica 1 since its restart); streams resumed after the kill: {resumed}");
            Assert.All(calls, c => Assert.True(c > 0, $"bulk-scoring calls per replica: {string.Join(", ", calls)}"));
            // 40 chunks, plus one call for each chunk the kill interrupted; the killed process's own count died with it.
            Assert.InRange(calls.Sum(), 40 - 16 + 1, 40 + resumed);
        }
        finally
        {
            foreach (var r in replicas) r.Dispose();
        }
    }
}
