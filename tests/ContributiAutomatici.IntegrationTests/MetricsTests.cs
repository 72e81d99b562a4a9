using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Server;
using Google.Protobuf;
using Grpc.Core;
using OpenTelemetry.Trace;
using StatusCode = Grpc.Core.StatusCode;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// Observability of a running server: the Prometheus scrape endpoint on the server's port, one span per call with the
/// rule set it resolved, and request logs as JSON lines.
/// </summary>
public sealed class MetricsTests
{
    private const int StreamedWorks = 4;
    private static readonly DateTime Deadline = DateTime.UtcNow.AddMinutes(5);

    [Fact]
    public async Task Scraped_metrics_count_calls_by_status_works_scored_and_allocations_with_latency_histograms()
    {
        await using var server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog);
        using var channel = server.Channel();
        var expected = await MakeCallsAsync(channel);
        Assert.Equal("dm-2021+covid-19", expected.ScoredRuleSet); // the version with the overlay on by default

        var samples = Parse(await ScrapeAsync(server.Port, "/metrics"));

        const string scoring = "contributi.v1.ScoringService";
        Assert.Equal(1, Sum(samples, "contributi_calls_total", ("rpc_service", scoring), ("rpc_method", "ScoreWork"), ("rpc_grpc_status_code", "0")));
        Assert.Equal(1, Sum(samples, "contributi_calls_total", ("rpc_method", "ScoreWork"), ("rpc_grpc_status_code", "3")));
        Assert.Equal(1, Sum(samples, "contributi_calls_total", ("rpc_method", "ScoreWorks"), ("rpc_grpc_status_code", "0")));
        Assert.Equal(1, Sum(samples, "contributi_calls_total", ("rpc_service", "contributi.v1.AllocationService"), ("rpc_method", "Allocate"), ("rpc_grpc_status_code", "0")));
        Assert.Equal(4, Sum(samples, "contributi_calls_total"));
        // Only the refused call is an error.
        Assert.Equal(1, Sum(samples, "contributi_call_errors_total"));
        Assert.Equal(1, Sum(samples, "contributi_call_errors_total", ("rpc_method", "ScoreWork"), ("rpc_grpc_status_code", "3")));
        // The ok ScoreWork and every work of the stream, under the rule set they were scored with.
        Assert.Equal(1 + StreamedWorks, Sum(samples, "contributi_works_scored_total", ("contributi_rule_set_id", expected.ScoredRuleSet)));
        Assert.Equal(1 + StreamedWorks, Sum(samples, "contributi_works_scored_total"));
        Assert.Equal(1, Sum(samples, "contributi_allocation_runs_total", ("contributi_rule_set_id", expected.AllocationRuleSet)));

        // A latency histogram per method and status: one observation each, in buckets.
        Assert.Equal(1, Sum(samples, "contributi_call_duration_seconds_count", ("rpc_method", "ScoreWorks"), ("rpc_grpc_status_code", "0")));
        Assert.Equal(1, Sum(samples, "contributi_call_duration_seconds_count", ("rpc_method", "Allocate")));
        Assert.Contains(samples, s => s.Name == "contributi_call_duration_seconds_bucket" && s.Labels["rpc_method"] == "ScoreWork" && s.Labels["le"] == "+Inf" && s.Value == 1);
        Assert.True(Sum(samples, "contributi_call_duration_seconds_sum", ("rpc_method", "ScoreWork")) > 0);
        // The rules' load at start, tagged by where they came from.
        Assert.True(Sum(samples, "contributi_rules_load_duration_seconds_count") >= 1);
        Assert.Contains(samples, s => s.Name == "contributi_rules_load_duration_seconds_bucket" && s.Labels.GetValueOrDefault("contributi_rules_source") is "compiled" or "cache");
        Assert.Contains(samples, s => s.Name == "contributi_streams_active");
        // The runtime's own (meter System.Runtime): the managed heap after the last collection, per generation, and the
        // working set, what shows whether a replica's memory grows with what it has seen.
        Assert.Contains(samples, s => s.Name == "dotnet_gc_last_collection_heap_size_bytes" && s.Labels.GetValueOrDefault("gc_heap_generation") == "gen2");
        Assert.True(Sum(samples, "dotnet_gc_last_collection_heap_size_bytes") > 0);
        Assert.True(Sum(samples, "dotnet_process_memory_working_set_bytes") > Sum(samples, "dotnet_gc_last_collection_heap_size_bytes"));
        Assert.True(Sum(samples, "dotnet_gc_collections_total") >= 1);
    }

    [Fact]
    public async Task The_scrape_endpoint_can_be_turned_off()
    {
        await using var server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog,
            settings: new Dictionary<string, string?> { ["Contributi:MetricsPath"] = "off" });

        using var http = H2cClient();
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{server.Port}/metrics"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Each_call_is_a_span_tagged_with_the_method_status_and_the_rule_set_it_resolved()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == Telemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog);
        using var channel = server.Channel();
        var client = new ScoringService.ScoringServiceClient(channel);

        var scored = await client.ScoreWorkAsync(Examples.FirstFeature(), deadline: Deadline);
        await Assert.ThrowsAsync<RpcException>(() => client.ScoreWorkAsync(new ScoreWorkRequest(), deadline: Deadline).ResponseAsync);
        var allocated = await AllocateAsync(channel);
        var diff = await new ComparisonService.ComparisonServiceClient(channel).DiffRuleSetsAsync(new DiffRuleSetsRequest
        {
            A = new RuleSetRef { RuleSetId = "dm-2017" },
            B = new RuleSetRef { RuleSetId = "dm-2021" },
        }, deadline: Deadline);

        Assert.True(await Eventually.TrueAsync(() => spans.Count(s => s.GetTagItem("rpc.grpc.status_code") is not null) >= 4));
        var ok = Assert.Single(spans, s => s.OperationName == "contributi.v1.ScoringService/ScoreWork" && s.Status == ActivityStatusCode.Unset);
        Assert.Equal("grpc", ok.GetTagItem("rpc.system"));
        Assert.Equal("contributi.v1.ScoringService", ok.GetTagItem("rpc.service"));
        Assert.Equal("ScoreWork", ok.GetTagItem("rpc.method"));
        Assert.Equal(0, ok.GetTagItem("rpc.grpc.status_code"));
        Assert.Equal(RuleSetOf(scored.ContentHash), ok.GetTagItem("contributi.rule_set.id"));
        Assert.Equal(scored.ContentHash, ok.GetTagItem("contributi.rule_set.content_hash"));
        Assert.Equal(64, scored.ContentHash.Length);

        var refused = Assert.Single(spans, s => s.OperationName == "contributi.v1.ScoringService/ScoreWork" && s.Status == ActivityStatusCode.Error);
        Assert.Equal((int)StatusCode.InvalidArgument, refused.GetTagItem("rpc.grpc.status_code"));
        Assert.Equal("INVALID_ARGUMENT", refused.StatusDescription);
        Assert.Null(refused.GetTagItem("contributi.rule_set.id")); // nothing was resolved

        var allocation = Assert.Single(spans, s => s.OperationName == "contributi.v1.AllocationService/Allocate");
        Assert.Equal(RuleSetOf(allocated.ContentHash), allocation.GetTagItem("contributi.rule_set.id"));
        Assert.Equal(allocated.ContentHash, allocation.GetTagItem("contributi.rule_set.content_hash"));

        // A comparison resolves two rule sets: both are listed, in order.
        var compared = Assert.Single(spans, s => s.OperationName == "contributi.v1.ComparisonService/DiffRuleSets");
        Assert.Equal("dm-2017,dm-2021+covid-19", compared.GetTagItem("contributi.rule_set.id"));
        Assert.Equal($"{diff.AContentHash},{diff.BContentHash}", compared.GetTagItem("contributi.rule_set.content_hash"));
    }

    [Fact]
    public async Task Traces_are_exported_only_when_an_OTLP_endpoint_is_configured()
    {
        await using (var plain = await LoopbackServer.StartAsync(catalog: TestRules.Catalog))
            Assert.Null(plain.App.Services.GetService(typeof(TracerProvider)));

        await using var exporting = await LoopbackServer.StartAsync(catalog: TestRules.Catalog,
            settings: new Dictionary<string, string?> { [Telemetry.OtlpEndpointVariable] = "http://127.0.0.1:1" });
        Assert.NotNull(exporting.App.Services.GetService(typeof(TracerProvider)));
    }

    [Fact]
    public async Task A_reload_of_the_rules_is_one_more_load_duration_sample()
    {
        await using var server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog);
        var before = Sum(Parse(await ScrapeAsync(server.Port, "/metrics")), "contributi_rules_load_duration_seconds_count");

        var reload = await server.App.Services.GetRequiredService<LiveRules>().ReloadAsync("test");
        await Task.Delay(400); // the exporter answers a scrape from a cache of 300 ms

        Assert.True(reload.Loaded, string.Join("; ", reload.Errors));
        Assert.Equal(1, before);
        Assert.Equal(2, Sum(Parse(await ScrapeAsync(server.Port, "/metrics")), "contributi_rules_load_duration_seconds_count"));
    }

    [Fact]
    public async Task With_the_json_console_formatter_each_call_is_one_parseable_json_line()
    {
        var console = new StringWriter();
        var original = Console.Out;
        Console.SetOut(console); // before the console logger is built: it keeps the writer it finds
        ScoreWorkResponse scored;
        try
        {
            var app = ContributiServer.Build([], builder =>
            {
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Contributi:Address"] = "127.0.0.1",
                    ["Contributi:Port"] = "0",
                    ["Contributi:Rules"] = TestRules.Folder,
                    ["Logging:Console:FormatterName"] = "json",
                    [$"Logging:LogLevel:{Telemetry.CallsCategory}"] = "Information",
                });
                builder.Logging.ClearProviders();
                builder.Logging.AddConsole();
            }, TestRules.Catalog);
            await using (app)
            {
                await app.StartAsync();
                using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{ContributiServer.Port(app)}");
                var client = new ScoringService.ScoringServiceClient(channel);
                scored = await client.ScoreWorkAsync(Examples.FirstFeature(), deadline: Deadline);
                await Assert.ThrowsAsync<RpcException>(() => client.ScoreWorkAsync(new ScoreWorkRequest(), deadline: Deadline).ResponseAsync);
                await app.StopAsync();
            } // disposing the logger flushes its queue
        }
        finally
        {
            Console.SetOut(original);
        }

        var lines = console.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEmpty(lines);
        var entries = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList(); // every line is one JSON object
        var calls = entries.Where(e => e.GetProperty("Category").GetString() == Telemetry.CallsCategory).ToList();
        Assert.Equal(2, calls.Count);
        Assert.All(calls, c => Assert.Equal("Information", c.GetProperty("LogLevel").GetString()));

        var ok = calls[0].GetProperty("State");
        Assert.Equal("/contributi.v1.ScoringService/ScoreWork", ok.GetProperty("Method").GetString());
        Assert.Equal("OK", ok.GetProperty("Status").GetString());
        Assert.Equal(RuleSetOf(scored.ContentHash), ok.GetProperty("RuleSetId").GetString());
        Assert.True(ok.GetProperty("DurationMs").GetDouble() > 0);
        var refused = calls[1].GetProperty("State");
        Assert.Equal("INVALID_ARGUMENT", refused.GetProperty("Status").GetString());
        Assert.Equal("-", refused.GetProperty("RuleSetId").GetString());
        Assert.Contains(entries, e => e.GetProperty("Category").GetString() == "ContributiAutomatici.Server" &&
                                      e.GetProperty("Message").GetString()!.StartsWith("rules loaded from", StringComparison.Ordinal));
    }

    private sealed record Resolved(string ScoredRuleSet, string AllocationRuleSet);

    /// <summary>One ok ScoreWork, one INVALID_ARGUMENT, one ScoreWorks stream of <see cref="StreamedWorks"/> works, one allocation.</summary>
    private static async Task<Resolved> MakeCallsAsync(Grpc.Net.Client.GrpcChannel channel)
    {
        var client = new ScoringService.ScoringServiceClient(channel);
        var scored = await client.ScoreWorkAsync(Examples.FirstFeature(), deadline: Deadline);
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.ScoreWorkAsync(new ScoreWorkRequest(), deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);

        using (var stream = client.ScoreWorks(deadline: Deadline))
        {
            for (var i = 0; i < StreamedWorks; i++)
                await stream.RequestStream.WriteAsync(new ScoreWorksRequest { RequestId = $"w{i}", Request = Examples.Variant($"w{i}", i * 1000) });
            await stream.RequestStream.CompleteAsync();
            var answers = await stream.ResponseStream.ReadAllAsync().ToListAsync();
            Assert.Equal(StreamedWorks, answers.Count(a => a.ResultCase == ScoreWorksResponse.ResultOneofCase.Response));
            Assert.All(answers, a => Assert.Equal(scored.RuleSetId, a.Response.RuleSetId));
        }

        var summary = await AllocateAsync(channel);
        return new Resolved(RuleSetOf(scored.ContentHash), RuleSetOf(summary.ContentHash));
    }

    /// <summary>The id of the rule set a response was computed with, from its content hash: the version with its overlays.</summary>
    private static string RuleSetOf(string contentHash) => TestRules.Catalog.RuleSets.Single(r => r.ContentHash == contentHash).Id;

    /// <summary>Allocates examples/year-2023.json; its summary.</summary>
    private static async Task<AllocationSummary> AllocateAsync(Grpc.Net.Client.GrpcChannel channel)
    {
        var year = JsonParser.Default.Parse<AllocationYear>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "year-2023.json")));
        using var call = new AllocationService.AllocationServiceClient(channel).Allocate(deadline: Deadline);
        foreach (var item in AllocationMapper.Items(year)) await call.RequestStream.WriteAsync(item);
        await call.RequestStream.CompleteAsync();
        var answers = await call.ResponseStream.ReadAllAsync().ToListAsync();
        Assert.Equal(AllocateResponse.ItemOneofCase.Summary, answers[0].ItemCase);
        return answers[0].Summary;
    }

    /// <summary>HTTP/2 with prior knowledge: works on an h2c-only port and on one that also speaks HTTP/1.1.</summary>
    private static HttpClient H2cClient() => new()
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    private static async Task<string> ScrapeAsync(int port, string path)
    {
        using var http = H2cClient();
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}{path}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType ?? "", StringComparison.Ordinal);
        return await response.Content.ReadAsStringAsync();
    }

    private static List<PrometheusText.Sample> Parse(string text) => PrometheusText.Parse(text);

    private static double Sum(List<PrometheusText.Sample> samples, string name, params (string Key, string Value)[] labels) =>
        PrometheusText.Sum(samples, name, labels);
}
