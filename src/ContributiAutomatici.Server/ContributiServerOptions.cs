namespace ContributiAutomatici.Server;

/// <summary>
/// The server's configuration, section <c>Contributi</c> of appsettings.json, overridable by environment
/// variables (<c>Contributi__Port=50052</c>) or command-line arguments (<c>--Contributi:Port=50052</c>).
/// </summary>
public sealed class ContributiServerOptions
{
    public const string Section = "Contributi";

    /// <summary>IP address to bind: 127.0.0.1 by default (loopback only); 0.0.0.0 in a container.
    /// Config <c>Contributi:Address</c>, env <c>Contributi__Address</c>.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free port (tests). Config <c>Contributi:Port</c>, env <c>Contributi__Port</c>.</summary>
    public int Port { get; set; } = 50051;

    /// <summary>
    /// The cleartext HTTP/1.1 port beside the gRPC one, for people, browsers, Prometheus and probes: the JSON paths,
    /// /openapi/v1.json, /metrics, /healthz, /readyz. A number; "off" (or "none") opens none. Empty: 50052, or a free port
    /// when <see cref="Port"/> is 0; with TLS, none (the TLS port then speaks HTTP/1.1 too, by ALPN) unless a number is set.
    /// Config <c>Contributi:HttpPort</c>, env <c>Contributi__HttpPort</c>.</summary>
    public string? HttpPort { get; set; }

    /// <summary>The default <see cref="HttpPort"/>.</summary>
    public const int DefaultHttpPort = 50052;

    /// <summary>The HTTP/1.1 port to open, or null for none.</summary>
    public int? HttpPortNumber => HttpPort?.Trim() switch
    {
        "off" or "none" => null,
        null or "" => Tls.Enabled ? null : Port == 0 ? 0 : DefaultHttpPort,
        var p when int.TryParse(p, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n <= 65535 => n,
        var p => throw new InvalidOperationException($"Contributi:HttpPort must be a port number or 'off', got '{p}'"),
    };

    /// <summary>The rules folder. Empty: $CONTRIBUTI_RULES_DIR, else the nearest ./rules upward from the
    /// current directory, else the copy beside the program. Config <c>Contributi:Rules</c>, env <c>Contributi__Rules</c>.</summary>
    public string? Rules { get; set; }

    /// <summary>Folder of compiled rule assemblies; empty: $CONTRIBUTI_RULES_CACHE or the user's cache folder
    /// (~/.cache/contributi-automatici/rules-cache); "off" disables the cache. It must be private to the user (a folder
    /// others can write is not used) and every assembly in it is checked before loading. Config <c>Contributi:RulesCache</c>.</summary>
    public string? RulesCache { get; set; }

    /// <summary>Reload the rules when a file of the rules folder changes (default); SIGHUP reloads them either way.
    /// Config <c>Contributi:WatchRules</c>.</summary>
    public bool WatchRules { get; set; } = true;

    /// <summary>
    /// What-if reforms (issue 28) kept built at a time, compiled ones in collectible load contexts: beyond, the least recently
    /// used is let go (unloaded). Default 2. Config <c>Contributi:ReformCacheSize</c>, env <c>Contributi__ReformCacheSize</c>.
    /// </summary>
    public int ReformCacheSize { get; set; } = Engine.Loading.ReformCache.DefaultCapacity;

    /// <summary>
    /// Where structural reforms (rows added or replaced) are compiled: "worker" (default), in a worker process, the server's own
    /// executable started with --reform-worker, so that Roslyn is never loaded into the server; "inprocess", in the server
    /// (Roslyn and its garbage then stay in it: about +110 MiB at the first reform, +200 MiB after a stream of them).
    /// Config <c>Contributi:ReformCompiler</c>, env <c>Contributi__ReformCompiler</c>.
    /// </summary>
    public string ReformCompiler { get; set; } = Engine.Loading.ReformCompilerModes.Worker;

    /// <summary>Most reform compiler workers at a time (each compiles up to one rule set per processor side by side; other requests wait). Default 1.
    /// Config <c>Contributi:ReformWorkers</c>.</summary>
    public int ReformWorkers { get; set; } = 1;

    /// <summary>Seconds a reform compiler worker waits for the next reform before it exits (its memory returned). Default 30.
    /// Config <c>Contributi:ReformWorkerIdleSeconds</c>.</summary>
    public double ReformWorkerIdleSeconds { get; set; } = 30;

    /// <summary>Longest compilation of one reform, in seconds, and longest wait for a free worker: beyond, the worker is killed
    /// and that request is UNAVAILABLE (its neighbours are served). Default 120. Config <c>Contributi:ReformCompileTimeoutSeconds</c>.</summary>
    public double ReformCompileTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// Seconds of quiet (less than 1 MiB allocated a second) after which the server runs one full, compacting collection that
    /// gives the memory a burst took back to the system (<see cref="IdleMemoryTrim"/>); 0 turns it off. Default 5.
    /// Config <c>Contributi:IdleTrimSeconds</c>, env <c>Contributi__IdleTrimSeconds</c>.
    /// </summary>
    public int IdleTrimSeconds { get; set; } = 5;

    /// <summary>MiB the process must have allocated since the last trim for a quiet spell to trim again. Default 64.
    /// Config <c>Contributi:IdleTrimAfterMiB</c>.</summary>
    public int IdleTrimAfterMiB { get; set; } = 64;

    /// <summary>Path of the Prometheus scrape endpoint on the server's port: /metrics by default; "" or "off" turns it off.
    /// Config <c>Contributi:MetricsPath</c>, env <c>Contributi__MetricsPath</c>.</summary>
    public string? MetricsPath { get; set; } = "/metrics";

    /// <summary>The scrape path to map, or null when turned off.</summary>
    public string? MetricsEndpoint => MetricsPath?.Trim() switch
    {
        null or "" or "off" or "none" => null,
        var p => p.StartsWith('/') ? p : "/" + p,
    };

    /// <summary>The fund ledger's database (LedgerService): a SQLite file path, or a PostgreSQL connection string
    /// ("Host=...;Database=..."). Empty: the SQLite file contributi-automatici/ledger.db in the user's data folder
    /// (~/.local/share on Linux), created at the first ledger call. Config <c>Contributi:Ledger</c>, env <c>Contributi__Ledger</c>.</summary>
    public string? Ledger { get; set; }

    /// <summary>TLS; without a certificate the server speaks plaintext HTTP/2 (h2c).</summary>
    public TlsOptions Tls { get; set; } = new();

    public sealed class TlsOptions
    {
        /// <summary>A PKCS#12 (.pfx) file. Config <c>Contributi:Tls:CertificatePath</c>, env <c>Contributi__Tls__CertificatePath</c>.</summary>
        public string? CertificatePath { get; set; }

        /// <summary>Its password. Config <c>Contributi:Tls:CertificatePassword</c>, env <c>Contributi__Tls__CertificatePassword</c>.</summary>
        public string? CertificatePassword { get; set; }

        public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
    }

    /// <summary>Largest request message accepted: 4 MiB (gRPC's default). A ScoreWorkRequest is a few KiB even
    /// with hundreds of dated results; anything near 4 MiB is a mistake or an abuse, and each stream item is
    /// buffered whole before it is parsed, so this also bounds a stream's memory per item.</summary>
    public const int MaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>Largest response message sent: 16 MiB. GetRuleSet returns every table, row and rule text of a
    /// decree version (about 40 KiB for dm-2021 today, growing with each table and overlay), and a ScoreWork
    /// response with include_not_applied lists every row with its reason (about 26 KiB); 16 MiB is far above
    /// both, so growth of the rules never breaks a call, yet one answer stays bounded. Clients should accept as much
    /// (the typed client does).</summary>
    public const int MaxSendMessageSize = 16 * 1024 * 1024;
}
