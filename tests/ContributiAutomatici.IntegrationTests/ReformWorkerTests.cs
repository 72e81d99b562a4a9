using System.Diagnostics;
using ContributiAutomatici.Contracts.V1;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// Structural reforms compiled out of the server's process (issue 28, server option ReformCompiler=worker, the default): the
/// server executable as a child process, as an operator runs it, starts its own reform compiler worker. The reform scores as
/// when compiled in-process, Microsoft.CodeAnalysis is never loaded into the server (its memory map; the worker's has it), a
/// hostile row is INVALID_ARGUMENT at the reform's line, the second identical request compiles nothing, and a worker killed
/// is replaced at the next reform.
/// </summary>
public sealed class ReformWorkerTests
{
    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(120);

    private const string Roslyn = "Microsoft.CodeAnalysis";

    [Fact]
    public async Task A_structural_reform_compiled_by_the_worker_scores_as_in_process_and_Roslyn_never_enters_the_server()
    {
        var yaml = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "reforms", "korea-markets.yaml"));
        const string rowExpression = "'Work.CoProducers.Any(p => p.Country == \"KR\") ? producer_points : 0m'";
        Assert.Contains(rowExpression, yaml, StringComparison.Ordinal);
        var hostileYaml = yaml.Replace(rowExpression, "'System.IO.File.ReadAllText(\"/etc/passwd\").Length'", StringComparison.Ordinal);
        var hostileLine = yaml.Split('\n').ToList().FindIndex(l => l.Contains(rowExpression, StringComparison.Ordinal)) + 1;

        // The same requests to a server compiling in its own process: what the worker's answers must equal.
        ScoreWorkResponse inProcess;
        BadRequest.Types.FieldViolation inProcessRefusal;
        await using (var here = await LoopbackServer.StartAsync(settings: new Dictionary<string, string?> { ["Contributi:ReformCompiler"] = "inprocess" }))
        {
            using var channel = here.Channel();
            var client = new ScoringService.ScoringServiceClient(channel);
            inProcess = await client.ScoreWorkAsync(ReformRpcTests.KoreanWork(new Reform { Yaml = yaml }), deadline: Deadline);
            inProcessRefusal = await Refused(client, hostileYaml);
        }

        var port = LoopbackServer.FreePort();
        using var server = await ServerProcesses.StartServingAsync($"--Contributi:Port={port}", "--Contributi:HttpPort=off",
            $"--Contributi:Rules={TestRules.Folder}", "--Contributi:WatchRules=false");
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var client = new ScoringService.ScoringServiceClient(channel);
            var law = await client.ScoreWorkAsync(ReformRpcTests.KoreanWork(null), deadline: Deadline);
            var first = await client.ScoreWorkAsync(ReformRpcTests.KoreanWork(new Reform { Yaml = yaml }), deadline: Deadline);
            var second = await client.ScoreWorkAsync(ReformRpcTests.KoreanWork(new Reform { Yaml = yaml }), deadline: Deadline);

            // Scored with the reform, exactly as the in-process compilation scores it.
            Assert.Equal(25m, ReformRpcTests.Row(law, "T1.C.17"));
            Assert.Equal(0m, ReformRpcTests.Row(first, "T1.C.17"));
            Assert.Equal(10m, ReformRpcTests.Row(first, "T1.C.korea"));
            Assert.Equal(ReformSource.Compiled, first.Reform.Source);
            Assert.Equal(1, first.Reform.CompiledReforms);
            Assert.Equal(inProcess.Roles, first.Roles);
            Assert.Equal(inProcess.ContentHash, first.ContentHash);
            Assert.Equal(inProcess.Reform.ContentHash, first.Reform.ContentHash);
            // The second identical request compiles nothing.
            Assert.Equal(ReformSource.Cached, second.Reform.Source);
            Assert.Equal(1, second.Reform.CompiledReforms);
            Assert.Equal(first.Roles, second.Roles);

            // A hostile row is refused at the reform's line, with the very words of the in-process refusal.
            var refusal = await Refused(client, hostileYaml);
            Assert.Equal("reform.yaml", refusal.Field);
            Assert.StartsWith($"line {hostileLine}:", refusal.Description, StringComparison.Ordinal);
            Assert.Equal(inProcessRefusal, refusal);

            if (OperatingSystem.IsLinux())
            {
                // Roslyn was loaded by the worker, never by the server.
                Assert.DoesNotContain(Roslyn, Mapped(server.Id), StringComparison.Ordinal);
                var worker = Assert.Single(Children(server.Id));
                Assert.Contains(Roslyn, Mapped(worker), StringComparison.Ordinal);

                // A worker that dies is replaced at the next reform; the law is served meanwhile.
                using (var dying = Process.GetProcessById(worker))
                {
                    dying.Kill();
                    await dying.WaitForExitAsync();
                }
                Assert.Equal(law.Roles, (await client.ScoreWorkAsync(ReformRpcTests.KoreanWork(null), deadline: Deadline)).Roles);
                var another = await client.ScoreWorkAsync(ReformRpcTests.KoreanWork(ReformRpcTests.Korea("korea-again")), deadline: Deadline);
                Assert.Equal(ReformSource.Compiled, another.Reform.Source);
                Assert.Equal(10m, ReformRpcTests.Row(another, "T1.C.korea"));
                Assert.DoesNotContain(Roslyn, Mapped(server.Id), StringComparison.Ordinal);
                Assert.NotEqual(worker, Assert.Single(Children(server.Id)));
            }
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    /// <summary>
    /// A reload after an expression edit (item 5 of issue 27) is compiled by the worker too: the edit serves, a broken one is
    /// refused at its file and line with the last good rules serving, and Roslyn, which a reload used to load into the server
    /// for good, never enters it.
    /// </summary>
    [Fact]
    public async Task A_reload_that_must_compile_is_compiled_by_the_worker_and_Roslyn_never_enters_the_server()
    {
        if (!OperatingSystem.IsLinux()) return; // the memory map and the children are read from /proc
        var folder = TestRules.CopyToTemp();
        var table1 = Path.Combine(folder, "dm-2021", "tabella-1.yaml");
        // The rules as they start are in the cache the server reads (as the images shipped with it are): its start compiles nothing.
        ContributiAutomatici.Engine.Loading.RuleCatalog.Load(folder, new ContributiAutomatici.Engine.Compiling.RuleCompileOptions());
        var port = LoopbackServer.FreePort();
        using var server = await ServerProcesses.StartServingAsync($"--Contributi:Port={port}", "--Contributi:HttpPort=off",
            $"--Contributi:Rules={folder}", "--Contributi:WatchRules=true", "--Contributi:ReformWorkerIdleSeconds=300");
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var client = new ScoringService.ScoringServiceClient(channel);
            var before = await client.ScoreWorkAsync(Examples.FirstFeature(), deadline: Deadline);
            async Task<ListRuleSetsResponse> Rules() => await client.ListRuleSetsAsync(new ListRuleSetsRequest(), deadline: Deadline);
            string Hash(ListRuleSetsResponse r, string id) => r.RuleSets.Single(x => x.Id == id).ContentHash;
            var start = await Rules();

            // T1.A.1.rapporto's producer expression written the other way round: the same points, another shape to compile.
            const string expression = "points: \"Base * increment\"";
            var text = await File.ReadAllTextAsync(table1);
            var at = text.IndexOf(expression, StringComparison.Ordinal);
            Assert.True(at > 0);
            await File.WriteAllTextAsync(table1, text[..at] + "points: \"increment * Base\"" + text[(at + expression.Length)..]);
            ListRuleSetsResponse? reloaded = null;
            var until = DateTime.UtcNow.AddSeconds(180);
            while (DateTime.UtcNow < until && Hash(reloaded = await Rules(), "dm-2021") == Hash(start, "dm-2021")) await Task.Delay(100);
            Assert.NotEqual(Hash(start, "dm-2021"), Hash(reloaded!, "dm-2021"));
            Assert.Null(reloaded!.RulesLoad.Refused);
            var after = await client.ScoreWorkAsync(Examples.FirstFeature(), deadline: Deadline);
            Assert.Equal(before.Roles, after.Roles);
            Assert.NotEqual(before.ContentHash, after.ContentHash);

            // A misspelt name: refused at its line, in the validator's words, and the edited rules keep serving.
            var lines = (await File.ReadAllTextAsync(table1)).Split('\n');
            var line = Array.FindIndex(lines, l => l.Contains("points: \"increment * Base\"", StringComparison.Ordinal)) + 1;
            lines[line - 1] = lines[line - 1].Replace("increment * Base", "incremento * Base", StringComparison.Ordinal);
            await File.WriteAllTextAsync(table1, string.Join('\n', lines));
            var refusedAt = DateTime.UtcNow.AddSeconds(180);
            ListRuleSetsResponse refused;
            while ((refused = await Rules()).RulesLoad.Refused is null && DateTime.UtcNow < refusedAt) await Task.Delay(100);
            Assert.NotNull(refused.RulesLoad.Refused);
            var problem = Assert.Single(refused.RulesLoad.Refused.Problems, p => p.Line == line);
            Assert.Equal("dm-2021/tabella-1.yaml", problem.File);
            Assert.Contains("incremento", problem.Reason, StringComparison.Ordinal);
            Assert.Equal(Hash(reloaded, "dm-2021"), Hash(refused, "dm-2021"));

            // Roslyn ran in the worker, never in the server.
            Assert.DoesNotContain(Roslyn, Mapped(server.Id), StringComparison.Ordinal);
            var worker = Assert.Single(Children(server.Id));
            Assert.Contains(Roslyn, Mapped(worker), StringComparison.Ordinal);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
            try { Directory.Delete(folder, recursive: true); }
            catch (IOException) { }
        }
    }

    /// <summary>
    /// The rule sets of one load (a reload after an expression edit: the version and each combination of its overlays) compile
    /// side by side in one worker, as they do in-process (issue 27 item 5), into the very rule sets compiled here; the worker a
    /// change of the rules folder had started ahead of the reload is the one that compiles them.
    /// </summary>
    [Fact]
    public void The_rule_sets_of_one_load_compile_side_by_side_in_the_worker_started_ahead_of_it()
    {
        var (file, arguments) = ContributiAutomatici.Server.ContributiServer.ReformWorkerCommand();
        using var workers = new ContributiAutomatici.Engine.Loading.ReformWorkers(file, arguments, maxWorkers: 1,
            idle: TimeSpan.FromSeconds(60), timeout: TimeSpan.FromSeconds(120), perWorker: 2);
        var cache = Path.Combine(Path.GetTempPath(), "contributi-it-cache-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            // A file of the rules folder changed: the server starts the worker before the reload (once, however many changes).
            workers.Prepare();
            workers.Prepare();
            var until = DateTime.UtcNow.AddSeconds(60);
            while (workers.ProcessIds.Count == 0 && DateTime.UtcNow < until) Thread.Sleep(20);
            workers.Prepare();
            var prepared = Assert.Single(workers.ProcessIds);

            // Nothing shipped, nothing cached: every rule set is compiled, each by the worker.
            var viaWorker = ContributiAutomatici.Engine.Loading.RuleCatalog.Load(TestRules.Folder,
                new ContributiAutomatici.Engine.Compiling.RuleCompileOptions { CacheDirectory = cache, ShippedDirectory = null, Emit = workers.Emit });
            var here = TestRules.Catalog;
            Assert.Equal(here.RuleSets.Count, viaWorker.RuleSets.Count);
            Assert.Equal(1, workers.Started);
            Assert.Equal([prepared], workers.ProcessIds);
            Assert.Equal(here.RuleSets.Count, workers.Compilations);
            Assert.Equal(0, workers.Failures);
            Assert.Equal(2, workers.PeakInFlight);

            // The same rule sets: the same hashes, and the same answer to the same request under each.
            var request = Examples.FirstFeature();
            foreach (var rs in here.RuleSets)
            {
                var other = Assert.Single(viaWorker.RuleSets, x => x.Id == rs.Id);
                Assert.Equal(rs.ContentHash, other.ContentHash);
                request.RuleSetId = rs.Definition.BaseId;
                request.WithOverlays.Clear();
                request.WithoutOverlays.Clear();
                request.WithOverlays.Add(rs.Definition.AppliedOverlays);
                foreach (var o in here.OverlaysOf(rs.Definition.BaseId).Select(o => o.Id).Except(rs.Definition.AppliedOverlays)) request.WithoutOverlays.Add(o);
                Assert.Equal(ContributiAutomatici.Protocol.ResponseMapper.Score(ContributiAutomatici.Protocol.RequestMapper.Map(request, here)),
                    ContributiAutomatici.Protocol.ResponseMapper.Score(ContributiAutomatici.Protocol.RequestMapper.Map(request, viaWorker)));
            }
        }
        finally
        {
            try { Directory.Delete(cache, recursive: true); }
            catch (IOException) { }
        }
    }

    private static async Task<BadRequest.Types.FieldViolation> Refused(ScoringService.ScoringServiceClient client, string yaml)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            client.ScoreWorkAsync(ReformRpcTests.KoreanWork(new Reform { Yaml = yaml }), deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        return Assert.Single(ex.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations);
    }

    /// <summary>The files a process has mapped (its assemblies among them).</summary>
    private static string Mapped(int pid) => File.ReadAllText($"/proc/{pid}/maps");

    /// <summary>The child processes of a process.</summary>
    private static List<int> Children(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task")
            .SelectMany(t => File.ReadAllText(Path.Combine(t, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(int.Parse).ToList();
}
