using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Server;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

namespace ContributiAutomatici.IntegrationTests;

/// <summary>The rules the tests run on: the repository's rules/, copied beside the test assembly by the build.</summary>
public static class TestRules
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "rules");

    private static readonly Lazy<RuleCatalog> Loaded = new(() => RuleCatalog.Load(Folder));

    /// <summary>Loaded once for the servers that restart or start several times in this assembly.</summary>
    public static RuleCatalog Catalog => Loaded.Value;

    /// <summary>A copy of the rules in a fresh temp folder, to plant errors in.</summary>
    public static string CopyToTemp()
    {
        var target = Path.Combine(Path.GetTempPath(), "contributi-it-" + Guid.NewGuid().ToString("N")[..8]);
        foreach (var file in Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(target, Path.GetRelativePath(Folder, file));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }
        return target;
    }
}

/// <summary>
/// The real server (ContributiServer.Build, Kestrel) started in-process on a loopback port: real sockets,
/// real HTTP/2, no TestServer.
/// </summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    private LoopbackServer(WebApplication app, int port, ListLoggerProvider logs)
    {
        App = app;
        Port = port;
        Logs = logs;
        HttpPort = ContributiServer.HttpPort(app);
    }

    /// <summary>The HTTP/1.1 port (REST, /metrics, /healthz, /readyz), or null when turned off.</summary>
    public int? HttpPort { get; }

    /// <summary>http://127.0.0.1:HTTPPORT, the HTTP/1.1 port's address.</summary>
    public Uri HttpAddress => new($"http://127.0.0.1:{HttpPort ?? throw new InvalidOperationException("no HTTP port")}");

    /// <summary>A plain HTTP/1.1 client of the HTTP port, as curl or a browser is.</summary>
    public HttpClient Http11() => new()
    {
        BaseAddress = HttpAddress,
        DefaultRequestVersion = System.Net.HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    public WebApplication App { get; }
    public int Port { get; }
    public ListLoggerProvider Logs { get; }
    public Uri Address => new($"{(App.Services.GetRequiredService<ContributiServerOptions>().Tls.Enabled ? "https" : "http")}://127.0.0.1:{Port}");
    public ScoringStats Stats => App.Services.GetRequiredService<ScoringStats>();
    public RuleCatalog Catalog => App.Services.GetRequiredService<LiveRules>().Current;

    /// <summary>Starts a server; port 0 picks a free one. A fixed port that is still held (a restart) is retried for a while.</summary>
    public static async Task<LoopbackServer> StartAsync(int port = 0, string? rules = null, RuleCatalog? catalog = null,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var logs = new ListLoggerProvider();
            var app = ContributiServer.Build([], builder =>
            {
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Contributi:Address"] = "127.0.0.1",
                    ["Contributi:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["Contributi:Rules"] = rules ?? TestRules.Folder,
                    ["Contributi:HttpPort"] = "0", // a free one, also when a fixed gRPC port is asked (a restart)
                });
                if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
                builder.Logging.ClearProviders();
                builder.Logging.AddProvider(logs);
                builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
            }, catalog);
            try
            {
                await app.StartAsync();
                return new LoopbackServer(app, ContributiServer.Port(app), logs);
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException && port != 0 && DateTime.UtcNow < deadline)
            {
                await app.DisposeAsync();
                await Task.Delay(100);
            }
        }
    }

    public GrpcChannel Channel() => GrpcChannel.ForAddress(Address);

    public async Task StopAsync() => await App.StopAsync();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await App.StopAsync();
        }
        catch (ObjectDisposedException)
        {
        }
        await App.DisposeAsync();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The built server as a child process (not started), as an operator or a container runs it.</summary>
public static class ServerProcesses
{
    public static System.Diagnostics.Process Create(params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ContributiAutomatici.Server.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment.Remove("CONTRIBUTI_RULES_DIR");
        return new System.Diagnostics.Process { StartInfo = info };
    }

    /// <summary>
    /// Starts a server process and waits until it serves (its log says so; 120 s at most). A process that ends first, or does
    /// not serve in time, is a <see cref="ServerStartException"/> with its exit code and what it wrote to stderr (its first
    /// lines and its last).
    /// </summary>
    public static async Task<System.Diagnostics.Process> StartServingAsync(params string[] args)
    {
        var process = Create(args);
        var serving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // What it wrote to stderr: its first lines (an unhandled exception's message) and its last ones.
        var firstErrors = new ConcurrentQueue<string>();
        var errors = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data?.Contains("serving contributi.v1.ScoringService", StringComparison.Ordinal) == true) serving.TrySetResult(); };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not { } line) return;
            if (firstErrors.Count < 5)
            {
                firstErrors.Enqueue(line);
                return;
            }
            errors.Enqueue(line);
            while (errors.Count > 20) errors.TryDequeue(out string? _);
        };
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => exited.TrySetResult();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var first = await Task.WhenAny(serving.Task, exited.Task, Task.Delay(TimeSpan.FromSeconds(120)));
        if (first == serving.Task) return process;
        var ended = first == exited.Task;
        if (!ended)
        {
            try { process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
        }
        process.WaitForExit();
        var said = string.Join(" | ", firstErrors) + (errors.IsEmpty ? "" : " | ... | " + string.Join(" | ", errors));
        int? code = ended ? process.ExitCode : null;
        var message = ended ? $"the server exited with code {code} before serving; stderr: {said}" : $"the server did not serve within 120 s; stderr: {said}";
        process.Dispose();
        throw new ServerStartException(message, code);
    }
}

/// <summary>A server process that ended (<see cref="Exited"/>), or did not serve in time, before it served.</summary>
public sealed class ServerStartException(string message, int? exitCode) : Exception(message)
{
    /// <summary>The process ended on its own before serving (a port taken, a configuration refused), not killed for time.</summary>
    public bool Exited => ExitCode is not null;

    /// <summary>The code the process ended with (<see cref="Server.Program.CannotListen"/>: a port taken), null when it was killed for time.</summary>
    public int? ExitCode { get; } = exitCode;
}

/// <summary>Keeps every log line of a server, to check what it logged.</summary>
public sealed class ListLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message, Exception? Exception)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(ListLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner.Entries.Enqueue((logLevel, category, formatter(state, exception), exception));
        }
    }
}

/// <summary>One server for the tests of the "server" collection.</summary>
public sealed class ServerFixture : Xunit.IAsyncLifetime
{
    public LoopbackServer Server { get; private set; } = null!;
    public GrpcChannel Channel { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog);
        Channel = Server.Channel();
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        await Server.DisposeAsync();
    }
}

[Xunit.CollectionDefinition("server")]
public sealed class ServerCollection : Xunit.ICollectionFixture<ServerFixture>;

/// <summary>Polls a condition (for what the server does after the client has moved on).</summary>
public static class Eventually
{
    public static async Task<bool> TrueAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > until) return false;
            await Task.Delay(20);
        }
        return true;
    }
}
