using System.Runtime.InteropServices;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Server;

/// <summary>
/// The rule catalog being served, reloaded without a restart on SIGHUP or when a file of the rules folder changes.
/// A reload loads and compiles the whole folder aside (unchanged rule sets come from the cache, without Roslyn); only
/// a catalog with no error replaces the current one. A broken edit is refused: every <c>file:line: reason</c> goes
/// to the log and to the health check's detail, and the last good rule sets keep serving. A call takes
/// <see cref="Current"/> once, when it starts, and finishes on that catalog whatever happens meanwhile; every response
/// carries the content hash it was scored with.
/// </summary>
public sealed class LiveRules : IDisposable
{
    /// <summary>Quiet time after the last file change before reloading (an editor writes a file in several steps).</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(300);

    private readonly string _rulesPath;
    private readonly RuleCompileOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _reloading = new(1, 1);
    private readonly FileSystemWatcher? _watcher;
    private readonly PosixSignalRegistration? _sighup;
    private readonly Timer _debounce;
    private volatile RuleCatalog _current;
    private volatile ReloadOutcome? _lastRefusal;
    private volatile ReloadOutcome? _lastReload;
    private long _reloads;
    private long _failures;
    private long _lastGoodLoad = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private readonly Func<RuleSetDefinition, string, List<RuleError>, Func<byte[]?>, byte[]?>? _reformEmit;
    private readonly Action? _prepareCompiler;

    /// <summary>
    /// Serves <paramref name="initial"/>; every catalog served compiles its structural reforms with <paramref name="reformEmit"/>
    /// (<see cref="ReformCache.Emit"/>): the server's reform workers, or null to compile them in this process. A reload that
    /// must compile a rule set (an expression edited) compiles it there too: with the workers, Roslyn never enters the server,
    /// which a reload used to load for good (about 130 MiB more after the first such reload, RESULTS.md (f) item 5).
    /// <paramref name="prepareCompiler"/> is called at each change of a file of the rules folder, before the reload waits out
    /// <see cref="Debounce"/>: it starts the compiler worker (<see cref="ReformWorkers.Prepare"/>) while the reload is still to come.
    /// </summary>
    public LiveRules(RuleCatalog initial, string rulesPath, RuleCompileOptions options, bool watch, ILogger logger,
        Func<RuleSetDefinition, string, List<RuleError>, Func<byte[]?>, byte[]?>? reformEmit = null, Action? prepareCompiler = null)
    {
        _reformEmit = reformEmit;
        _prepareCompiler = prepareCompiler;
        initial.Reforms.Emit = reformEmit;
        _current = initial;
        _rulesPath = rulesPath;
        _options = reformEmit is null ? options : options with { Emit = reformEmit };
        _logger = logger;
        _debounce = new Timer(_ => _ = ReloadAsync("a file of the rules folder changed"));
        if (watch && Directory.Exists(rulesPath))
        {
            _watcher = new FileSystemWatcher(rulesPath) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.DirectoryName | NotifyFilters.Size };
            _watcher.Changed += Changed;
            _watcher.Created += Changed;
            _watcher.Deleted += Changed;
            _watcher.Renamed += Changed;
            _watcher.EnableRaisingEvents = true;
        }
        if (!OperatingSystem.IsWindows())
            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true; // SIGHUP reloads; it does not stop the server
                _ = ReloadAsync("SIGHUP");
            });
    }

    /// <summary>The catalog new calls are scored with.</summary>
    public RuleCatalog Current => _current;

    /// <summary>The last reload that was refused, while no later reload succeeded; null otherwise.</summary>
    public ReloadOutcome? LastRefusal => _lastRefusal;

    /// <summary>The last reload, loaded or refused; null before the first.</summary>
    public ReloadOutcome? LastReload => _lastReload;

    /// <summary>When the rules now serving were loaded (at start or by the last reload that succeeded).</summary>
    public DateTimeOffset LastGoodLoad => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _lastGoodLoad));

    /// <summary>Reloads refused since start, each distinct candidate once (the same broken files seen again do not count).</summary>
    public long ReloadFailures => Interlocked.Read(ref _failures);

    /// <summary>Raised after a reload replaced the catalog, with the new one.</summary>
    public event Action<RuleCatalog>? Loaded;

    /// <summary>Successful reloads since start.</summary>
    public long Reloads => Interlocked.Read(ref _reloads);

    private void Changed(object sender, FileSystemEventArgs e)
    {
        _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);
        _prepareCompiler?.Invoke();
    }

    /// <summary>Loads the rules folder again; replaces the current catalog only if it loads without error.</summary>
    public async Task<ReloadOutcome> ReloadAsync(string reason)
    {
        await _reloading.WaitAsync();
        try
        {
            RuleCatalog next;
            try
            {
                next = await LoadAside();
            }
            catch (RuleLoadException ex)
            {
                return Refused(reason, ex.Errors.Select(e => new ReloadProblem(Relative(e.File), e.Line, e.Message)).ToList());
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The folder is being rewritten (a file moved away for a moment): the next change event tries again.
                return Refused(reason, [new ReloadProblem(".", 0, ex.Message)]);
            }
            catch (ReformCompilerException ex)
            {
                // The compiler worker crashed, timed out or stayed busy: not the rules' fault, but nothing was loaded; the
                // next change event or SIGHUP tries again with a fresh worker.
                return Refused(reason, [new ReloadProblem(".", 0, "the rules could not be compiled: " + ex.Message)]);
            }
            var previous = _current;
            next.Reforms.Emit = _reformEmit;
            _current = next;
            // The previous rules' reforms are not asked for again (a request resolves against the current rules): let them go.
            previous.Reforms.Clear();
            _lastRefusal = null;
            Interlocked.Exchange(ref _lastGoodLoad, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            Interlocked.Increment(ref _reloads);
            Loaded?.Invoke(next);
            _logger.LogInformation("rules reloaded ({Reason}) in {LoadMs:0} ms: {Serving} (was {Previous})", reason,
                next.LoadTime.TotalMilliseconds, Describe(next), Describe(previous));
            return _lastReload = new ReloadOutcome(true, DateTimeOffset.UtcNow, reason, []);
        }
        finally
        {
            _reloading.Release();
        }
    }

    /// <summary>
    /// A reload refused: the last good rules keep serving. A candidate refused for the same problems as the last refused one
    /// (an editor saving the same broken file again, a watcher event twice) is neither counted nor logged again: one warning
    /// and one count per broken candidate, not a loop of them.
    /// </summary>
    private ReloadOutcome Refused(string reason, IReadOnlyList<ReloadProblem> problems)
    {
        var again = _lastRefusal is { } last && last.Problems.SequenceEqual(problems);
        var refused = new ReloadOutcome(false, DateTimeOffset.UtcNow, reason, problems);
        _lastRefusal = refused;
        _lastReload = refused;
        if (again)
        {
            _logger.LogDebug("rules reload ({Reason}) refused again for the same {Count} error(s)", reason, problems.Count);
            return refused;
        }
        Interlocked.Increment(ref _failures);
        Refusals?.Invoke(refused);
        _logger.LogWarning("rules reload ({Reason}) refused, still serving {Serving}: {Count} error(s)\n{Errors}", reason,
            Describe(_current), problems.Count, string.Join("\n", refused.Errors.Take(50)));
        return refused;
    }

    /// <summary>Raised once per refused candidate (not again for the same problems).</summary>
    public event Action<ReloadOutcome>? Refusals;

    /// <summary>A rule file's path relative to the rules folder ("dm-2021/tabella-1.yaml"), as operators and callers see it.</summary>
    private string Relative(string file)
    {
        if (string.IsNullOrEmpty(file)) return file;
        var relative = Path.GetRelativePath(Path.GetFullPath(_rulesPath), Path.GetFullPath(file));
        return relative.StartsWith("..", StringComparison.Ordinal) ? file : relative.Replace('\\', '/');
    }

    /// <summary>On a thread of its own with the stack of a main thread: parsing and compiling recurse on the rules' nesting.</summary>
    private Task<RuleCatalog> LoadAside()
    {
        var done = new TaskCompletionSource<RuleCatalog>(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            try { done.SetResult(RuleCatalog.Load(_rulesPath, _options)); }
            catch (Exception ex) { done.SetException(ex); }
        }, 8 * 1024 * 1024) { IsBackground = true, Name = "rules reload" }.Start();
        return done.Task;
    }

    public static string Describe(RuleCatalog c) => string.Join(", ", c.RuleSets.Select(r => $"{r.Id} sha256 {r.ContentHash[..16]}"));

    public void Dispose()
    {
        _watcher?.Dispose();
        _sighup?.Dispose();
        _debounce.Dispose();
    }
}

/// <summary>What a reload did: replaced the rules, or was refused with every problem (<c>file:line: reason</c>).</summary>
public sealed record ReloadOutcome(bool Loaded, DateTimeOffset At, string Reason, IReadOnlyList<ReloadProblem> Problems)
{
    /// <summary>Each problem as <c>file:line: reason</c>, the file relative to the rules folder.</summary>
    public IReadOnlyList<string> Errors { get; } = Problems.Select(p => p.ToString()).ToList();
}

/// <summary>One reason a candidate was refused: the rule file (relative to the rules folder), its line (0: the file as a whole) and why.</summary>
public sealed record ReloadProblem(string File, int Line, string Reason)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Reason}" : $"{File}: {Reason}";
}
