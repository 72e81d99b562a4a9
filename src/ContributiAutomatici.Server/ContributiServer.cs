using System.Net;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Contracts.V1;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Google.Protobuf.Reflection;
using Microsoft.OpenApi.Models;

namespace ContributiAutomatici.Server;

/// <summary>
/// Builds the server: loads and compiles the rule catalog first (a rules folder with one error refuses to
/// start: <see cref="RuleLoadException"/>), then configures Kestrel, the ScoringService, grpc.health.v1 and
/// server reflection, JSON transcoding of the unary calls and their OpenAPI description. Used by Program and,
/// in-process, by the integration tests and the load benchmark.
/// </summary>
public static class ContributiServer
{
    /// <summary>Where the OpenAPI description of the JSON/HTTP paths is served: /openapi/v1.json.</summary>
    public const string OpenApiRoute = "openapi/{documentName}.json";

    /// <summary>
    /// How the server starts its reform compiler (<see cref="ReformWorkers"/>): its own executable with
    /// <see cref="Program.ReformWorkerSwitch"/> when it runs as one (the apphost: <c>dotnet run</c>, a published folder), else
    /// <c>dotnet ContributiAutomatici.Server.dll --reform-worker</c> with the host running it (the Docker image's
    /// <c>dotnet /app/ContributiAutomatici.Server.dll</c>, or the server hosted in another program: the tests).
    /// </summary>
    public static (string File, string[] Arguments) ReformWorkerCommand()
    {
        var self = typeof(Program).Assembly.Location;
        var host = Environment.ProcessPath;
        if (host is not null && (self.Length == 0 || Path.GetFileNameWithoutExtension(host) == Path.GetFileNameWithoutExtension(self)))
            return (host, [Program.ReformWorkerSwitch]);
        var dotnet = host is not null && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        return (dotnet, [self, Program.ReformWorkerSwitch]);
    }

    /// <summary>
    /// Loads the rules and builds the application (not started). <paramref name="configure"/> runs before the
    /// configuration is read, so it can add settings (e.g. <c>Contributi:Port = 0</c>) or change logging.
    /// A ready <paramref name="catalog"/> skips loading (tests restarting a server).
    /// </summary>
    /// <exception cref="RuleLoadException">The rules folder has errors (each one file:line: reason).</exception>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null, RuleCatalog? catalog = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            // appsettings.json is beside the program, wherever it is started from.
            ContentRootPath = AppContext.BaseDirectory,
        });
        configure?.Invoke(builder);
        var options = builder.Configuration.GetSection(ContributiServerOptions.Section).Get<ContributiServerOptions>() ?? new();

        var rulesPath = RulesLocator.Find(options.Rules);
        var cacheWarnings = new List<string>();
        var compileOptions = new RuleCompileOptions
        {
            CacheDirectory = CacheDirectory(options.RulesCache),
            // RulesCache=off: compiled from the rule files, the shipped images not used either.
            ShippedDirectory = options.RulesCache is "off" or "none" ? null : RuleCompileOptions.DefaultShippedDirectory,
            Warn = cacheWarnings.Add,
            ReformCacheSize = options.ReformCacheSize,
        };
        catalog ??= RuleCatalog.Load(rulesPath, compileOptions);

        var ports = new ServerPorts();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            Listen(kestrel, options, ports);
        });
        builder.Services.AddSingleton(ports);

        var compileReformsHere = options.ReformCompiler.Trim().ToLowerInvariant() switch
        {
            ReformCompilerModes.Worker or "" => false,
            ReformCompilerModes.InProcess => true,
            var m => throw new InvalidOperationException($"Contributi:ReformCompiler must be '{ReformCompilerModes.Worker}' or '{ReformCompilerModes.InProcess}', got '{m}'"),
        };
        if (!compileReformsHere)
            builder.Services.AddSingleton(sp =>
            {
                var reformLog = sp.GetRequiredService<ILoggerFactory>().CreateLogger("ContributiAutomatici.Server.Reforms");
                var (file, arguments) = ReformWorkerCommand();
                return new ReformWorkers(file, arguments, options.ReformWorkers, TimeSpan.FromSeconds(options.ReformWorkerIdleSeconds),
                    TimeSpan.FromSeconds(options.ReformCompileTimeoutSeconds), w => reformLog.LogWarning("{Warning}", w));
            });
        builder.Services.AddSingleton(sp =>
        {
            var rulesLog = sp.GetRequiredService<ILoggerFactory>().CreateLogger("ContributiAutomatici.Server.Rules");
            // After start-up, cache warnings of a reload go to the log as they come.
            return new LiveRules(catalog, rulesPath, compileOptions with { Warn = w => rulesLog.LogWarning("{Warning}", w) },
                options.WatchRules, rulesLog, sp.GetService<ReformWorkers>() is { } workers ? workers.Emit : null,
                sp.GetService<ReformWorkers>() is { } w ? w.Prepare : null);
        });
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<ScoringStats>();
        builder.Services.AddSingleton<MalformedMessages>();
        if (options.IdleTrimSeconds < 0 || options.IdleTrimAfterMiB < 0)
            throw new InvalidOperationException($"Contributi:IdleTrimSeconds and Contributi:IdleTrimAfterMiB must be 0 or more, got {options.IdleTrimSeconds} and {options.IdleTrimAfterMiB}");
        builder.Services.AddHostedService<IdleMemoryTrim>();
        builder.Services.AddSingleton(new LedgerHolder(options.Ledger));
        Telemetry.AddContributiTelemetry(builder, options);
        builder.Services.AddHttpContextAccessor(); // MalformedMessages is reached from the request marshaller
        // The framework logs every status a handler raised with its exception (a stack trace at Information); a bad
        // caller would flood the log. What deserves a line is logged by this server: rule failures, internal errors,
        // malformed messages (rate-limited).
        builder.Logging.AddFilter("Grpc.AspNetCore.Server", LogLevel.Warning);
        // The framework's call handler logs as an error, with a stack trace, an exception it meets before or after the
        // service's own code: a request stream the client reset, a deadline that passed while the request was read, a
        // response the caller is no longer there to take. Those are the caller's doing, not faults of the server. Every
        // fault of the service itself is logged by ErrorInterceptor (with its correlation id), and malformed messages by
        // MalformedMessages; so the handler's own log is left out.
        builder.Logging.AddFilter("Grpc.AspNetCore.Server.ServerCallHandler", LogLevel.None);
        builder.Services.AddGrpc(grpc =>
        {
            grpc.EnableDetailedErrors = false; // never an exception message or stack trace to the caller
            grpc.MaxReceiveMessageSize = ContributiServerOptions.MaxReceiveMessageSize;
            grpc.MaxSendMessageSize = ContributiServerOptions.MaxSendMessageSize;
            grpc.Interceptors.Add<ErrorInterceptor>();
            grpc.CompressionProviders.Clear();
            foreach (var provider in TolerantDecompression.Defaults()) grpc.CompressionProviders.Add(provider);
        }).AddJsonTranscoding(json => // the google.api.http paths of the protos: JSON over HTTP on the same port,
            // an error as a JSON google.rpc.Status whose details (a BadRequest) are printed with their type
            json.TypeRegistry = TypeRegistry.FromFiles(Google.Rpc.ErrorDetailsReflection.Descriptor));
        builder.Services.AddGrpcSwagger().AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "contributi.v1 (JSON over HTTP)",
                Version = "v1",
                Description = "Scores works against the decree's rule files (gRPC JSON transcoding of protos/contributi/v1). " +
                              "A request with an unknown field, a value of the wrong JSON type or an unknown enum name is 400 with a " +
                              "google.rpc.Status whose BadRequest names the field. " + OpenApiComments.DecimalNote,
            });
            // The proto comments, carried into the generated code's XML docs, describe the paths, messages and fields.
            var docs = Path.Combine(AppContext.BaseDirectory, "ContributiAutomatici.Contracts.xml");
            if (File.Exists(docs)) swagger.IncludeGrpcXmlComments(docs, includeControllerXmlComments: true);
            swagger.SchemaFilter<OpenApiComments>(docs);
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddGrpcHealthChecks(health =>
            {
                // "" is the whole server; the service's own name answers for the scoring service.
                health.Services.Map("", _ => true);
                health.Services.Map(ScoringService.Descriptor.FullName, _ => true);
            })
            .AddCheck<RulesHealthCheck>("rules");

        var app = builder.Build();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ContributiAutomatici.Server");
        foreach (var w in cacheWarnings) log.LogWarning("{Warning}", w);
        app.Services.GetRequiredService<LiveRules>(); // watching the rules folder and SIGHUP from now on
        // The reform compiler's workers end with the server (a compilation under way fails; the process's exit ends them anyway).
        if (app.Services.GetService<ReformWorkers>() is { } reformWorkers) app.Lifetime.ApplicationStopping.Register(reformWorkers.Stop);
        log.LogInformation("rules loaded from {RulesPath} in {LoadMs:0} ms: {Count} rule set(s)",
            Path.GetFullPath(rulesPath), catalog.LoadTime.TotalMilliseconds, catalog.RuleSets.Count);
        foreach (var rs in catalog.RuleSets)
            log.LogInformation("rule set {RuleSetId} sha256 {ContentHash} ({Source})",
                rs.Id, rs.ContentHash, rs.Source switch
                {
                    CompileSource.Cache => "from cache",
                    CompileSource.Shipped => "shipped precompiled",
                    _ => "compiled",
                });

        app.Use(MalformedFraming.Middleware);
        app.UseRouting(); // the JSON paths are checked knowing their endpoint (RestCalls)
        app.UseMiddleware<RestCalls>();
        app.MapGrpcService<ScoringGrpcService>();
        app.MapGrpcService<AllocationGrpcService>();
        app.MapGrpcService<ComparisonGrpcService>();
        app.MapGrpcService<LedgerGrpcService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.UseSwagger(swagger => swagger.RouteTemplate = OpenApiRoute); // the REST paths' OpenAPI description
        Telemetry.MapContributiTelemetry(app, options);
        Probes.Map(app);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            log.LogInformation("serving contributi.v1.ScoringService on {Address} ({Protocol})", ports.Grpc?.ToString(),
                options.Tls.Enabled ? "TLS: HTTP/2 for gRPC, HTTP/1.1 too for REST, /metrics, /readyz" : "h2c, plaintext HTTP/2");
            if (ports.Http is { } http)
                log.LogInformation("serving REST, /openapi/v1.json, /metrics, /healthz, /readyz over HTTP/1.1 on {Address}", http.ToString());
        });
        return app;
    }

    /// <summary>The HTTP/1.1 port of the started server (<see cref="ContributiServerOptions.HttpPort"/>), or null when it has none.</summary>
    public static int? HttpPort(WebApplication app) => app.Services.GetRequiredService<ServerPorts>().Http?.IPEndPoint?.Port;

    /// <summary>The addresses the started server listens on (with the real port when 0 was asked).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>The gRPC port the started server listens on.</summary>
    public static int Port(WebApplication app) =>
        app.Services.GetRequiredService<ServerPorts>().Grpc?.IPEndPoint?.Port ?? new Uri(Addresses(app)[0]).Port;

    private static string? CacheDirectory(string? configured) => configured switch
    {
        null or "" => RuleCompileOptions.DefaultCacheDirectory,
        "off" or "none" => null,
        _ => configured,
    };

    private static void Listen(KestrelServerOptions kestrel, ContributiServerOptions options, ServerPorts ports)
    {
        void Grpc(ListenOptions listen)
        {
            if (options.Tls.Enabled)
            {
                // With TLS, ALPN tells each connection's protocol: gRPC gets HTTP/2, curl and browsers HTTP/1.1 if they ask it.
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(options.Tls.CertificatePath!, string.IsNullOrEmpty(options.Tls.CertificatePassword) ? null : options.Tls.CertificatePassword);
            }
            else
            {
                // gRPC needs HTTP/2. Without TLS there is no ALPN, so HTTP/2 must be the sole protocol (h2c): Kestrel serves an
                // Http1AndHttp2 cleartext endpoint as HTTP/1.1 only. HTTP/1.1 clients have the HTTP port.
                listen.Protocols = HttpProtocols.Http2;
            }
            ports.Grpc = listen;
        }

        void Http(ListenOptions listen)
        {
            listen.Protocols = HttpProtocols.Http1;
            ports.Http = listen;
        }

        Bind(kestrel, options.Address, options.Port, Grpc);
        if (options.HttpPortNumber is { } httpPort) Bind(kestrel, options.Address, httpPort, Http);
    }

    private static void Bind(KestrelServerOptions kestrel, string address, int port, Action<ListenOptions> configure)
    {
        switch (address.Trim())
        {
            case "localhost":
                kestrel.ListenLocalhost(port, configure);
                break;
            case "*" or "0.0.0.0" or "":
                kestrel.Listen(IPAddress.Any, port, configure);
                break;
            case var a:
                kestrel.Listen(IPAddress.Parse(a), port, configure);
                break;
        }
    }
}

/// <summary>The server's endpoints: the gRPC one and the HTTP/1.1 one (null when off); their ports are the bound ones once started.</summary>
public sealed class ServerPorts
{
    public ListenOptions? Grpc { get; internal set; }
    public ListenOptions? Http { get; internal set; }
}

/// <summary>
/// SERVING once the rules are loaded (they are before the server accepts a call), NOT_SERVING from the
/// moment the server starts shutting down, so a balancer drains it first.
/// </summary>
public sealed class RulesHealthCheck(LiveRules rules, IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
            return Task.FromResult(HealthCheckResult.Unhealthy("shutting down"));
        var catalog = rules.Current;
        if (catalog.RuleSets.Count == 0) return Task.FromResult(HealthCheckResult.Unhealthy("no rule set loaded"));
        var serving = $"{catalog.RuleSets.Count} rule set(s): {LiveRules.Describe(catalog)}";
        // A refused reload still serves the last good rules (SERVING), degraded, saying why it was refused.
        return Task.FromResult(rules.LastRefusal is { } refused
            ? HealthCheckResult.Degraded($"{serving}; the reload of {refused.At:u} ({refused.Reason}) was refused: {string.Join("; ", refused.Errors.Take(10))}" +
                                         (refused.Errors.Count > 10 ? $"; and {refused.Errors.Count - 10} more" : ""))
            : HealthCheckResult.Healthy(serving));
    }
}
