using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using Grpc.Core;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using StatusCode = Grpc.Core.StatusCode;

namespace ContributiAutomatici.Server;

/// <summary>
/// Metrics, traces and request logs. Instruments of the meter <see cref="Name"/> (System.Diagnostics.Metrics) are
/// exported by OpenTelemetry as a Prometheus scrape endpoint on the server's own port
/// (<see cref="ContributiServerOptions.MetricsPath"/>) and, when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, over OTLP
/// with the traces of the activity source <see cref="Name"/> (one span per call). One log line per call goes to the
/// category <see cref="CallsCategory"/> at Information (off in appsettings.json).
/// </summary>
public static class Telemetry
{
    /// <summary>The meter and the activity source.</summary>
    public const string Name = "ContributiAutomatici";

    /// <summary>The log category of the one line per call.</summary>
    public const string CallsCategory = "ContributiAutomatici.Server.Calls";

    /// <summary>Starts one span per call (an Activity only when someone listens).</summary>
    public static readonly ActivitySource Source = new(Name, typeof(Telemetry).Assembly.GetName().Version?.ToString());

    /// <summary>The standard variable that turns on the OTLP exporter (traces and metrics); nothing is exported otherwise.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static void AddContributiTelemetry(WebApplicationBuilder builder, ContributiServerOptions options)
    {
        builder.Services.AddSingleton<ContributiMetrics>();
        var scrape = options.MetricsEndpoint is not null;
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]);
        if (!scrape && !otlp) return;
        var otel = builder.Services.AddOpenTelemetry()
            // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, read again after the default name, win over it.
            .ConfigureResource(r => r.AddService("contributi-automatici", serviceVersion: Source.Version).AddEnvironmentVariableDetector())
            .WithMetrics(metrics =>
            {
                // Ours, the framework's own HTTP server and Kestrel connection metrics, and the runtime's (System.Runtime: the
                // managed heap after the last collection per generation, collections, working set, CPU), what a memory limit
                // is sized from and what shows whether a replica's memory grows with what it has seen.
                metrics.AddMeter(Name, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime");
                if (scrape) metrics.AddPrometheusExporter();
                if (otlp) metrics.AddOtlpExporter();
            });
        // The framework's HTTP server span is the parent of each call's span (it carries the caller's traceparent).
        if (otlp) otel.WithTracing(tracing => tracing.AddSource(Name, "Microsoft.AspNetCore").AddOtlpExporter());
    }

    public static void MapContributiTelemetry(WebApplication app, ContributiServerOptions options)
    {
        // The meter provider listens from now on, so the first load below is exported.
        app.Services.GetService<MeterProvider>();
        var metrics = app.Services.GetRequiredService<ContributiMetrics>();
        var rules = app.Services.GetRequiredService<LiveRules>();
        metrics.RulesLoaded(rules.Current);
        rules.Loaded += metrics.RulesLoaded;
        metrics.ObserveReloads(rules);
        if (options.MetricsEndpoint is { } path) app.MapPrometheusScrapingEndpoint(path);
    }

    /// <summary>
    /// Says which rule set a call resolved: a tag of its span and a field of its log line. A stream that resolves several
    /// lists each once.
    /// </summary>
    public static void ResolvedRuleSet(this ServerCallContext context, string id, string contentHash)
    {
        if (context.UserState.TryGetValue(typeof(CallObservation), out var o)) ((CallObservation)o).RuleSet(id, contentHash);
    }

    public static void ResolvedRuleSet(this ServerCallContext context, CompiledRuleSet ruleSet) =>
        context.ResolvedRuleSet(ruleSet.Id, ruleSet.ContentHash);

    /// <summary>
    /// The rule set of <paramref name="catalog"/> with that content hash: an allocation names the version
    /// (<paramref name="versionId"/>), the rule set used is the version with its overlays ("dm-2021+covid-19").
    /// </summary>
    public static string ResolvedRuleSet(this ServerCallContext context, RuleCatalog catalog, string contentHash, string versionId)
    {
        var id = catalog.RuleSets.FirstOrDefault(r => r.ContentHash == contentHash)?.Id ?? versionId;
        context.ResolvedRuleSet(id, contentHash);
        return id;
    }
}

/// <summary>The instruments of the meter <see cref="Telemetry.Name"/>, and the call log (a singleton).</summary>
public sealed class ContributiMetrics
{
    private static readonly InstrumentAdvice<double> CallBuckets = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    };
    private static readonly InstrumentAdvice<double> LoadBuckets = new()
    {
        HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80],
    };

    private readonly Counter<long> _calls;
    private readonly Counter<long> _errors;
    private readonly Histogram<double> _callDuration;
    private readonly Counter<long> _worksScored;
    private readonly Counter<long> _allocationRuns;
    private readonly Histogram<double> _rulesLoad;
    private readonly Meter _meter;
    private readonly Counter<long> _restCalls;
    private readonly Histogram<double> _restDuration;
    private readonly Counter<long> _memoryTrims;

    public ContributiMetrics(IMeterFactory meters, ScoringStats stats, MalformedMessages malformed, ILoggerFactory loggers)
    {
        CallLog = loggers.CreateLogger(Telemetry.CallsCategory);
        var meter = _meter = meters.Create(Telemetry.Name, Telemetry.Source.Version);
        _calls = meter.CreateCounter<long>("contributi.calls", "{call}", "gRPC calls ended, by method and status code");
        _errors = meter.CreateCounter<long>("contributi.call.errors", "{call}", "gRPC calls ended with a status other than OK");
        _callDuration = meter.CreateHistogram("contributi.call.duration", "s", "Duration of a gRPC call, streams included", advice: CallBuckets);
        _worksScored = meter.CreateCounter<long>("contributi.works.scored", "{work}", "Works scored by ScoreWork, ScoreWorks and ScoreWorkBatches, by rule set");
        _allocationRuns = meter.CreateCounter<long>("contributi.allocation.runs", "{run}", "Allocations run, by rule set");
        _rulesLoad = meter.CreateHistogram("contributi.rules.load.duration", "s",
            "Time to load the rules folder (at start and at each reload), compiled (Roslyn ran) or from the cache", advice: LoadBuckets);
        _restCalls = meter.CreateCounter<long>("contributi.rest.calls", "{call}",
            "Calls on the JSON paths (REST), refused before the service or answered by it, by route and HTTP status");
        _restDuration = meter.CreateHistogram("contributi.rest.call.duration", "s", "Duration of a call on a JSON path", advice: CallBuckets);
        _memoryTrims = meter.CreateCounter<long>("contributi.memory.trims", "{trim}",
            "Full collections run once the server was quiet, giving back the memory a burst took (Contributi:IdleTrimSeconds)");
        meter.CreateObservableUpDownCounter("contributi.streams.active", () => stats.ActiveStreams, "{stream}", "ScoreWorks and ScoreWorkBatches calls running now");
        meter.CreateObservableCounter("contributi.malformed.messages", () => malformed.Total, "{message}",
            "Requests refused as malformed before reaching a service (not in contributi.calls)");
    }

    /// <summary>The log of one line per call (<see cref="Telemetry.CallsCategory"/>).</summary>
    internal ILogger CallLog { get; }

    internal void CallEnded(in TagList tags, StatusCode status, double seconds)
    {
        _calls.Add(1, tags);
        if (status != StatusCode.OK) _errors.Add(1, tags);
        _callDuration.Record(seconds, tags);
    }

    /// <summary>A call on a JSON path ended with <paramref name="httpStatus"/> (refused by <see cref="RestCalls"/> or answered).</summary>
    internal void RestCallEnded(string httpMethod, string route, Google.Protobuf.Reflection.MethodDescriptor method, int httpStatus, double seconds)
    {
        var tags = new TagList
        {
            { Tags.HttpMethod, httpMethod },
            { Tags.HttpRoute, route },
            { Tags.RpcMethod, method.Name },
            { Tags.HttpStatusCode, httpStatus },
        };
        _restCalls.Add(1, tags);
        _restDuration.Record(seconds, tags);
    }

    /// <summary>The rules' reloads as seen from outside: refused ones counted, and when the serving rules were loaded.</summary>
    internal void ObserveReloads(LiveRules rules)
    {
        _meter.CreateObservableCounter("contributi.rules.reload.failures", () => rules.ReloadFailures, "{reload}",
            "Reloads of the rules folder refused (each broken candidate once); the last good rules keep serving");
        _meter.CreateObservableGauge("contributi.rules.last_good_load.time", () => rules.LastGoodLoad.ToUnixTimeMilliseconds() / 1000.0, "s",
            "When the rules serving now were loaded (at start or by the last successful reload), Unix time");
    }

    public void WorkScored(CompiledRuleSet ruleSet) => _worksScored.Add(1, new KeyValuePair<string, object?>(Tags.RuleSetId, MetricId(ruleSet.Id)));

    /// <summary>
    /// A rule set's id as a metric's tag: a reform's rule set ("dm-2021+covid-19@my-reform") as "dm-2021+covid-19@reform", so
    /// that reforms, whose ids callers choose, do not make a series each.
    /// </summary>
    public static string MetricId(string ruleSetId) => ruleSetId.IndexOf('@') is var at and >= 0 ? ruleSetId[..at] + "@reform" : ruleSetId;

    public void MemoryTrimmed() => _memoryTrims.Add(1);

    public void AllocationRun(string ruleSetId) => _allocationRuns.Add(1, new KeyValuePair<string, object?>(Tags.RuleSetId, MetricId(ruleSetId)));

    /// <summary>A catalog loaded: "compiled" if Roslyn compiled any of its rule sets, "cache" if all came from the cache or the shipped images.</summary>
    public void RulesLoaded(RuleCatalog catalog) =>
        _rulesLoad.Record(catalog.LoadTime.TotalSeconds, new KeyValuePair<string, object?>(Tags.RulesSource,
            catalog.RuleSets.Any(r => r.Source == CompileSource.Compiled) ? "compiled" : "cache"));

    /// <summary>Tag names (OpenTelemetry RPC conventions, ours under contributi.).</summary>
    public static class Tags
    {
        public const string RpcSystem = "rpc.system";
        public const string RpcService = "rpc.service";
        public const string RpcMethod = "rpc.method";
        public const string GrpcStatusCode = "rpc.grpc.status_code";
        public const string RuleSetId = "contributi.rule_set.id";
        public const string RuleSetHash = "contributi.rule_set.content_hash";
        public const string RulesSource = "contributi.rules.source";
        public const string HttpMethod = "http.request.method";
        public const string HttpRoute = "http.route";
        public const string HttpStatusCode = "http.response.status_code";
    }
}

/// <summary>
/// One call, from its start in <see cref="ErrorInterceptor"/> to its status: its span, its duration, its metrics and its
/// log line. Kept in the call's UserState so the service can say which rule set it resolved.
/// </summary>
internal sealed partial class CallObservation
{
    // "/contributi.v1.ScoringService/ScoreWork": ("contributi.v1.ScoringService", "ScoreWork", "contributi.v1.ScoringService/ScoreWork")
    private static readonly ConcurrentDictionary<string, (string Service, string Method, string SpanName)> Names = new(StringComparer.Ordinal);

    private readonly ServerCallContext _context;
    private readonly ContributiMetrics _metrics;
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly Activity? _activity;
    private readonly (string Service, string Method, string SpanName) _name;
    private List<(string Id, string Hash)>? _ruleSets;

    public CallObservation(ServerCallContext context, ContributiMetrics metrics)
    {
        _context = context;
        _metrics = metrics;
        _name = Names.GetOrAdd(context.Method, static path =>
        {
            var name = path.TrimStart('/');
            var slash = name.LastIndexOf('/');
            return (slash < 0 ? "" : name[..slash], name[(slash + 1)..], name);
        });
        _activity = Telemetry.Source.StartActivity(_name.SpanName);
        if (_activity is not null)
        {
            _activity.SetTag(ContributiMetrics.Tags.RpcSystem, "grpc");
            _activity.SetTag(ContributiMetrics.Tags.RpcService, _name.Service);
            _activity.SetTag(ContributiMetrics.Tags.RpcMethod, _name.Method);
        }
        context.UserState[typeof(CallObservation)] = this;
    }

    public void RuleSet(string id, string hash)
    {
        _ruleSets ??= new(1);
        if (_ruleSets.Exists(r => r.Id == id && r.Hash == hash)) return;
        _ruleSets.Add((id, hash));
        _activity?.SetTag(ContributiMetrics.Tags.RuleSetId, string.Join(",", _ruleSets.Select(r => r.Id)));
        _activity?.SetTag(ContributiMetrics.Tags.RuleSetHash, string.Join(",", _ruleSets.Select(r => r.Hash)));
    }

    /// <summary>The call ended with <paramref name="status"/> (OK, the status thrown, or what cancellation gives).</summary>
    public void Ended(StatusCode status)
    {
        var elapsed = Stopwatch.GetElapsedTime(_started);
        var tags = new TagList
        {
            { ContributiMetrics.Tags.RpcService, _name.Service },
            { ContributiMetrics.Tags.RpcMethod, _name.Method },
            { ContributiMetrics.Tags.GrpcStatusCode, (int)status },
        };
        _metrics.CallEnded(tags, status, elapsed.TotalSeconds);
        var ruleSet = _ruleSets is null ? null : string.Join(",", _ruleSets.Select(r => r.Id));
        if (_activity is not null)
        {
            _activity.SetTag(ContributiMetrics.Tags.GrpcStatusCode, (int)status);
            if (status != StatusCode.OK) _activity.SetStatus(ActivityStatusCode.Error, StatusName(status));
            _activity.Dispose();
        }
        CallEnded(_metrics.CallLog, _context.Method, StatusName(status), elapsed.TotalMilliseconds, ruleSet ?? "-");
    }

    /// <summary>The canonical name of a status code: OK, INVALID_ARGUMENT, ...</summary>
    public static string StatusName(StatusCode status) => status switch
    {
        StatusCode.OK => "OK",
        StatusCode.Cancelled => "CANCELLED",
        StatusCode.Unknown => "UNKNOWN",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.Aborted => "ABORTED",
        StatusCode.OutOfRange => "OUT_OF_RANGE",
        StatusCode.Unimplemented => "UNIMPLEMENTED",
        StatusCode.Internal => "INTERNAL",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.DataLoss => "DATA_LOSS",
        StatusCode.Unauthenticated => "UNAUTHENTICATED",
        _ => ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} {Status} in {DurationMs:0.0} ms, rule set {RuleSetId}")]
    private static partial void CallEnded(ILogger logger, string method, string status, double durationMs, string ruleSetId);
}
