using System.Diagnostics;
using ContributiAutomatici.Client;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Server;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>Servers on rules copied to a temp folder with a planted fault, and the real executable as a child process.</summary>
public sealed class PlantedRulesTests : IDisposable
{
    private readonly List<string> _temp = [];

    public void Dispose()
    {
        foreach (var dir in _temp)
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
    }

    /// <summary>A copy of the rules with one line of tabella-1.yaml changed; returns the folder and the 1-based line.</summary>
    private (string Folder, string File, int Line) Plant(string rowId, string from, string to)
    {
        var folder = TestRules.CopyToTemp();
        _temp.Add(folder);
        var file = Path.Combine(folder, "dm-2021", "tabella-1.yaml");
        var lines = File.ReadAllLines(file);
        var row = Array.FindIndex(lines, l => l.Trim() == $"- id: {rowId}");
        Assert.True(row >= 0, $"{rowId} not found in tabella-1.yaml");
        var index = Array.FindIndex(lines, row, l => l.Contains(from, StringComparison.Ordinal));
        Assert.True(index >= 0, $"'{from}' not found after {rowId} in tabella-1.yaml");
        lines[index] = lines[index].Replace(from, to, StringComparison.Ordinal);
        File.WriteAllLines(file, lines);
        return (folder, file, index + 1);
    }

    private (string Folder, string File, int Line) PlantCompileError() =>
        Plant("T1.B.4", "producer: \"producer_points\"", "producer: \"producer_points + Work.NoSuchField\"");

    [Fact]
    public async Task A_rules_folder_with_a_planted_error_refuses_to_start_with_file_and_line()
    {
        var (folder, file, line) = PlantCompileError();
        var stderr = new StringWriter();

        var exit = await Program.RunAsync([$"--Contributi:Rules={folder}", "--Contributi:Port=0"], stderr,
            b => b.Logging.ClearProviders());

        Assert.Equal(1, exit);
        var output = stderr.ToString();
        Assert.Contains($"{file}:{line}:", output);
        Assert.DoesNotContain("   at ", output); // no stack trace
    }

    [Fact]
    public void Precompiling_for_publish_writes_one_checked_image_per_rule_set_and_refuses_broken_rules_with_their_line()
    {
        // What src/ShipCompiledRules.targets runs after publish: --precompile-rules RULES, into $CONTRIBUTI_RULES_CACHE.
        var good = TestRules.CopyToTemp();
        _temp.Add(good);
        var into = Path.Combine(good + "-shipped", "rules-cache");
        _temp.Add(good + "-shipped");
        var stdout = new StringWriter();
        Assert.Equal(0, Program.Precompile(good, into, stdout, new StringWriter()));
        var sets = ContributiAutomatici.Engine.Loading.RuleCatalog.Load(good, new() { CacheDirectory = into, ShippedDirectory = null }).RuleSets;
        Assert.All(sets, rs => Assert.Equal(ContributiAutomatici.Engine.Rules.CompileSource.Cache, rs.Source));
        Assert.Equal(sets.Count, Directory.GetFiles(into, "*.dll").Length);
        Assert.Equal(sets.Count, stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        var (broken, file, line) = PlantCompileError();
        var stderr = new StringWriter();
        var brokenInto = Path.Combine(broken + "-shipped", "rules-cache");
        _temp.Add(broken + "-shipped");
        Assert.Equal(1, Program.Precompile(broken, brokenInto, new StringWriter(), stderr));
        Assert.Contains($"{file}:{line}:", stderr.ToString());
        Assert.Contains("refused: 1 error(s) in the rules", stderr.ToString());
    }

    [Fact]
    public async Task The_server_executable_exits_1_on_broken_rules_and_serves_health_on_good_ones()
    {
        var (folder, file, line) = PlantCompileError();
        var port = LoopbackServer.FreePort();

        var broken = await RunToEnd(ServerProcess($"--Contributi:Rules={folder}", $"--Contributi:Port={port}", "--Contributi:HttpPort=0"));
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains($"{file}:{line}:", broken.Stderr);
        Assert.DoesNotContain("   at ", broken.Stderr);

        using var server = ServerProcess($"--Contributi:Rules={TestRules.Folder}", $"--Contributi:Port={port}", "--Contributi:HttpPort=0");
        var serving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.OutputDataReceived += (_, e) => { if (e.Data?.Contains("serving contributi.v1.ScoringService") == true) serving.TrySetResult(); };
        server.ErrorDataReceived += (_, _) => { };
        server.Start();
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            var started = await Task.WhenAny(serving.Task, server.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(90)));
            Assert.True(started == serving.Task, "the server did not start");

            var healthy = await RunToEnd(ServerProcess("--health-check", $"--Contributi:Port={port}"));
            Assert.Equal(0, healthy.ExitCode);
            Assert.Contains("Serving", healthy.Stdout);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }

        var down = await RunToEnd(ServerProcess("--health-check", $"--Contributi:Port={port}"));
        Assert.Equal(1, down.ExitCode);
    }

    [Fact]
    public async Task A_rule_failing_at_run_time_is_INTERNAL_naming_row_role_and_line_with_a_correlation_id_that_is_in_the_log()
    {
        // T1.B.1 divides by zero for an essai film without selective contributions.
        var (folder, _, line) = Plant("T1.B.1", "producer: \"(Work.Essai ? producer_essai_points : 0) + (Work.SelectiveContributions ? producer_selective_points : 0)\"",
            "producer: \"Work.Essai ? 1m / (Work.SelectiveContributions ? 1m : 0m) : 0m\"");
        await using var server = await LoopbackServer.StartAsync(rules: folder);
        using var client = new ContributiClient(new ContributiClientOptions { Address = server.Address, RetryCount = 0 });
        var request = Examples.FirstFeature();
        request.Work.Essai = true;

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.ScoreWorkAsync(request));

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        var match = System.Text.RegularExpressions.Regex.Match(ex.Status.Detail,
            $"^rule evaluation failed: rule set dm-2021(\\+covid-19)?, row T1.B.1 \\(producer\\) points at dm-2021/tabella-1.yaml:{line}: division by zero; correlation id ([0-9a-f]+)$");
        Assert.True(match.Success, ex.Status.Detail);
        var id = match.Groups[1].Value;
        Assert.Contains(server.Logs.Entries, e => e.Level == LogLevel.Error && e.Message.Contains(id) && e.Message.Contains($"tabella-1.yaml:{line}"));
        Assert.DoesNotContain("DivideByZero", ex.Status.Detail + ex.Trailers.ToString());
        Assert.DoesNotContain(ex.Trailers, t => t.Key == "grpc-status-details-bin" && t.ValueBytes.Length > 200);

        // In a stream the failing work is an INTERNAL item and the stream goes on.
        var items = new List<ScoreWorksResponse>();
        await foreach (var item in client.ScoreWorksAsync(new[]
                       {
                           new ScoreWorksRequest { RequestId = "bad", Request = request },
                           new ScoreWorksRequest { RequestId = "good", Request = Examples.FirstFeature() },
                       }))
            items.Add(item);
        Assert.Equal((int)StatusCode.Internal, items[0].Error.Code);
        Assert.Matches(@"^rule evaluation failed: rule set dm-2021(\+covid-19)?, row T1.B.1 \(producer\)", items[0].Error.Message);
        Examples.AssertMatches(Examples.ExpectedFor(2_400_000m), items[1].Response, "good");
    }

    private static Process ServerProcess(params string[] args) => ServerProcesses.Create(args);

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunToEnd(Process process)
    {
        using (process)
        {
            process.Start();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            return (process.ExitCode, await stdout, await stderr);
        }
    }
}
