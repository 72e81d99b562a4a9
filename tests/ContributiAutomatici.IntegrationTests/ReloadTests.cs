using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Server;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>Rules reloaded while the server runs: on a file change or SIGHUP; a broken edit keeps the last good rules.</summary>
public sealed class ReloadTests : IDisposable
{
    private readonly string _folder = TestRules.CopyToTemp();

    private string Table1 => Path.Combine(_folder, "dm-2021", "tabella-1.yaml");

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>Rewrites the T1.B.10 points line (producer 15 for a first work); returns its 1-based line.</summary>
    private int EditFirstWorkPoints(string producer)
    {
        var lines = File.ReadAllLines(Table1);
        var at = WithFirstWorkPoints(lines, producer);
        File.WriteAllLines(Table1, lines);
        return at + 1;
    }

    /// <summary>Rewrites the T1.B.10 points line of Tabella 1's lines; returns its 0-based index.</summary>
    private static int WithFirstWorkPoints(string[] lines, string producer)
    {
        var row = Array.FindIndex(lines, l => l.Trim() == "- id: T1.B.10");
        var at = Array.FindIndex(lines, row, l => l.TrimStart().StartsWith("points:", StringComparison.Ordinal));
        lines[at] = $"        points: {{ producer: \"{producer}\", theatrical_distributor: \"10\" }}";
        return at;
    }

    private static decimal Producer(ScoreWorkResponse r) => decimal.Parse(r.Roles.Single(x => x.Role == Role.Producer).TotalPoints, System.Globalization.CultureInfo.InvariantCulture);

    private static CallOptions Options => new(deadline: DateTime.UtcNow.AddSeconds(60));

    [Fact]
    public async Task A_changed_rule_file_is_reloaded_and_responses_carry_the_new_content_hash()
    {
        await using var server = await LoopbackServer.StartAsync(rules: _folder);
        using var channel = server.Channel();
        var client = new ScoringService.ScoringServiceClient(channel);
        var before = await client.ScoreWorkAsync(Examples.FirstFeature(), Options);

        EditFirstWorkPoints("16");
        Assert.True(await Eventually.TrueAsync(() => server.Catalog.Find("dm-2021+covid-19")!.ContentHash != before.ContentHash, TimeSpan.FromSeconds(90)));

        var after = await client.ScoreWorkAsync(Examples.FirstFeature(), Options);
        Assert.Equal(server.Catalog.Find("dm-2021+covid-19")!.ContentHash, after.ContentHash);
        Assert.NotEqual(before.ContentHash, after.ContentHash);
        Assert.Equal(Producer(before) + 1, Producer(after));
        Assert.Contains(server.Logs.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("rules reloaded"));
    }

    [Fact]
    public async Task A_broken_edit_is_refused_with_file_and_line_in_the_log_and_the_health_detail_and_the_last_good_rules_serve()
    {
        await using var server = await LoopbackServer.StartAsync(rules: _folder);
        using var channel = server.Channel();
        var client = new ScoringService.ScoringServiceClient(channel);
        var good = await client.ScoreWorkAsync(Examples.FirstFeature(), Options);
        var live = server.App.Services.GetRequiredService<LiveRules>();
        var goodVersion = server.Catalog.Find("dm-2021")!.ContentHash;

        var line = EditFirstWorkPoints("15 + Work.NoSuchField");
        Assert.True(await Eventually.TrueAsync(() => live.LastRefusal is not null, TimeSpan.FromSeconds(90)));

        var where = $"dm-2021/tabella-1.yaml:{line}:"; // relative to the rules folder; a column follows the line
        Assert.Contains(live.LastRefusal!.Errors, e => e.StartsWith(where, StringComparison.Ordinal) && e.Contains("NoSuchField"));
        Assert.Contains(server.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("refused") && e.Message.Contains(where));
        var health = await server.App.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Degraded, health.Entries["rules"].Status);
        Assert.Contains(where, health.Entries["rules"].Description);
        var grpcHealth = await new Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new Grpc.Health.V1.HealthCheckRequest(), Options);
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, grpcHealth.Status);

        // Still the last good rules.
        var still = await client.ScoreWorkAsync(Examples.FirstFeature(), Options);
        Assert.Equal(good.ContentHash, still.ContentHash);
        Assert.Equal(Producer(good), Producer(still));

        // Seen from outside: ListRuleSets, /readyz over HTTP/1.1 and the metrics name the refused file:line.
        var listed = await client.ListRuleSetsAsync(new ListRuleSetsRequest(), Options);
        Assert.Equal(1, listed.RulesLoad.ReloadFailures);
        var problem = Assert.Single(listed.RulesLoad.Refused.Problems, p => p.Reason.Contains("NoSuchField", StringComparison.Ordinal));
        Assert.Equal(("dm-2021/tabella-1.yaml", line), (problem.File, problem.Line));
        Assert.Equal("a file of the rules folder changed", listed.RulesLoad.Refused.Trigger);
        Assert.Contains(listed.RuleSets, r => r.Id == "dm-2021" && r.ContentHash == goodVersion); // the live version's hash
        var loadedAt = listed.RulesLoad.LoadedAt.ToDateTimeOffset();
        Assert.True(listed.RulesLoad.Refused.At.ToDateTimeOffset() > loadedAt);
        using var http = server.Http11();
        using (var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode); // the last good rules serve
            using var readyz = System.Text.Json.JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
            Assert.Equal("refused", readyz.RootElement.GetProperty("lastReload").GetProperty("outcome").GetString());
            var refused = readyz.RootElement.GetProperty("rulesLoad").GetProperty("refused");
            Assert.Contains(refused.GetProperty("problems").EnumerateArray(), p =>
                p.GetProperty("file").GetString() == "dm-2021/tabella-1.yaml" && p.GetProperty("line").GetInt32() == line);
        }
        async Task<List<PrometheusText.Sample>> Metrics() => PrometheusText.Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        var samples = await Metrics();
        Assert.Equal(1, PrometheusText.Sum(samples, "contributi_rules_reload_failures_total"));
        Assert.Equal(loadedAt.ToUnixTimeMilliseconds() / 1000.0, PrometheusText.Sum(samples, "contributi_rules_last_good_load_time_seconds"), 3);

        // The same broken file saved again: refused again, but neither counted nor logged a second time.
        int Warnings() => server.Logs.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.StartsWith("rules reload", StringComparison.Ordinal));
        Assert.True(Warnings() == 1, string.Join("\n", server.Logs.Entries.Where(e => e.Level == LogLevel.Warning).Select(e => $"{e.Category}: {e.Message}")));
        var again = await live.ReloadAsync("SIGHUP");
        Assert.False(again.Loaded);
        Assert.Equal(1, Warnings());
        Assert.Equal(1, live.ReloadFailures);
        Assert.Equal(1, PrometheusText.Sum(await Metrics(), "contributi_rules_reload_failures_total"));

        // Fixed: loaded, healthy again.
        EditFirstWorkPoints("17");
        Assert.True(await Eventually.TrueAsync(() => live.LastRefusal is null && live.Current.Find("dm-2021")!.ContentHash != good.ContentHash, TimeSpan.FromSeconds(90)));
        Assert.Equal(Producer(good) + 2, Producer(await client.ScoreWorkAsync(Examples.FirstFeature(), Options)));
        Assert.Equal(HealthStatus.Healthy, (await server.App.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["rules"].Status);
        var fixedList = await client.ListRuleSetsAsync(new ListRuleSetsRequest(), Options);
        Assert.Null(fixedList.RulesLoad.Refused);
        Assert.Equal(1, fixedList.RulesLoad.ReloadFailures);
        Assert.True(fixedList.RulesLoad.LoadedAt.ToDateTimeOffset() > loadedAt);
    }

    /// <summary>
    /// Rules laid out as Kubernetes mounts a ConfigMap per rule-set folder (deploy/components/rules-configmap): the files in
    /// a hidden timestamped folder, <c>..data</c> a link to it, each file name a link through <c>..data</c>. An update
    /// writes a new timestamped folder and swaps <c>..data</c> atomically (a link renamed over it), then removes the old.
    /// </summary>
    private static string MountAsConfigMaps(string rules)
    {
        var mounted = Path.Combine(Path.GetTempPath(), "contributi-it-cm-" + Guid.NewGuid().ToString("N")[..8]);
        foreach (var set in Directory.GetDirectories(rules))
        {
            var folder = Path.Combine(mounted, Path.GetFileName(set));
            var version = Path.Combine(folder, "..2026_12_07_06_00_00.000000001");
            Directory.CreateDirectory(version);
            foreach (var file in Directory.GetFiles(set)) File.Copy(file, Path.Combine(version, Path.GetFileName(file)));
            File.CreateSymbolicLink(Path.Combine(folder, "..data"), Path.GetFileName(version));
            foreach (var file in Directory.GetFiles(version))
                File.CreateSymbolicLink(Path.Combine(folder, Path.GetFileName(file)), Path.Combine("..data", Path.GetFileName(file)));
        }
        return mounted;
    }

    /// <summary>What the kubelet does when a ConfigMap changes: its files in a new folder, then <c>..data</c> swapped to it.</summary>
    private static void UpdateConfigMap(string folder, Func<string, string, string> edit)
    {
        var old = Path.Combine(folder, new FileInfo(Path.Combine(folder, "..data")).LinkTarget!);
        var version = Path.Combine(folder, "..2026_12_07_06_05_00.000000002");
        Directory.CreateDirectory(version);
        foreach (var file in Directory.GetFiles(old))
            File.WriteAllText(Path.Combine(version, Path.GetFileName(file)), edit(Path.GetFileName(file), File.ReadAllText(file)));
        File.CreateSymbolicLink(Path.Combine(folder, "..data_tmp"), Path.GetFileName(version));
        // rename(2) of the link over ..data, as the kubelet does (File.Move follows a link to a folder and refuses it).
        using (var mv = System.Diagnostics.Process.Start("mv", ["-Tf", Path.Combine(folder, "..data_tmp"), Path.Combine(folder, "..data")]))
        {
            mv.WaitForExit();
            Assert.Equal(0, mv.ExitCode);
        }
        Directory.Delete(old, recursive: true);
    }

    [Fact]
    public async Task Rules_mounted_as_ConfigMaps_are_reloaded_when_Kubernetes_swaps_them()
    {
        if (OperatingSystem.IsWindows()) return;
        var mounted = MountAsConfigMaps(_folder);
        try
        {
            await using var server = await LoopbackServer.StartAsync(rules: mounted);
            using var channel = server.Channel();
            var client = new ScoringService.ScoringServiceClient(channel);
            var before = await client.ScoreWorkAsync(Examples.FirstFeature(), Options);

            UpdateConfigMap(Path.Combine(mounted, "dm-2021"), (name, text) =>
            {
                if (name != "tabella-1.yaml") return text;
                var lines = text.Split('\n');
                WithFirstWorkPoints(lines, "16");
                return string.Join('\n', lines);
            });

            Assert.True(await Eventually.TrueAsync(() => server.Catalog.Find("dm-2021+covid-19")!.ContentHash != before.ContentHash, TimeSpan.FromSeconds(90)));
            var after = await client.ScoreWorkAsync(Examples.FirstFeature(), Options);
            Assert.Equal(Producer(before) + 1, Producer(after));
        }
        finally
        {
            Directory.Delete(mounted, recursive: true);
        }
    }

    [Fact]
    public async Task A_stream_in_flight_finishes_on_the_rules_it_started_with()
    {
        await using var server = await LoopbackServer.StartAsync(rules: _folder);
        using var channel = server.Channel();
        var client = new ScoringService.ScoringServiceClient(channel);
        using var stream = client.ScoreWorks(Options);
        await stream.RequestStream.WriteAsync(new ScoreWorksRequest { RequestId = "1", Request = Examples.FirstFeature() });
        Assert.True(await stream.ResponseStream.MoveNext());
        var first = stream.ResponseStream.Current.Response;

        EditFirstWorkPoints("16");
        Assert.True(await Eventually.TrueAsync(() => server.Catalog.Find("dm-2021+covid-19")!.ContentHash != first.ContentHash, TimeSpan.FromSeconds(90)));

        await stream.RequestStream.WriteAsync(new ScoreWorksRequest { RequestId = "2", Request = Examples.FirstFeature() });
        Assert.True(await stream.ResponseStream.MoveNext());
        var second = stream.ResponseStream.Current.Response;
        await stream.RequestStream.CompleteAsync();
        Assert.False(await stream.ResponseStream.MoveNext());
        Assert.Equal(first.ContentHash, second.ContentHash);
        Assert.Equal(Producer(first), Producer(second));

        var fresh = await client.ScoreWorkAsync(Examples.FirstFeature(), Options);
        Assert.NotEqual(first.ContentHash, fresh.ContentHash);
        Assert.Equal(Producer(first) + 1, Producer(fresh));
    }

    [Fact]
    public async Task SIGHUP_reloads_the_rules_when_file_watching_is_off()
    {
        if (OperatingSystem.IsWindows()) return;
        await using var server = await LoopbackServer.StartAsync(rules: _folder, settings: new Dictionary<string, string?> { ["Contributi:WatchRules"] = "false" });
        var live = server.App.Services.GetRequiredService<LiveRules>();
        var before = live.Current.Find("dm-2021")!.ContentHash;

        EditFirstWorkPoints("16");
        await Task.Delay(LiveRules.Debounce * 3);
        Assert.Equal(before, live.Current.Find("dm-2021")!.ContentHash); // not watching

        using (var kill = System.Diagnostics.Process.Start("kill", ["-HUP", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        Assert.True(await Eventually.TrueAsync(() => live.Current.Find("dm-2021")!.ContentHash != before, TimeSpan.FromSeconds(90)));
        Assert.Contains(server.Logs.Entries, e => e.Message.Contains("rules reloaded (SIGHUP)"));
    }
}
