using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Engine.Loading;

/// <summary>How a reform's rule set was had for a request.</summary>
public enum ReformSource
{
    /// <summary>The law's compiled class with the reform's figure table: nothing compiled.</summary>
    Refigured,
    /// <summary>Compiled now (rows added or replaced), in a collectible load context.</summary>
    Compiled,
    /// <summary>Compiled or refigured by an earlier request of the same reform on the same rule set.</summary>
    Cached,
}

/// <summary>
/// The rule sets of what-if reforms (issue 28) a process has built, by the content hashes of the rule set and the reform:
/// the second identical request compiles nothing. A reform of figures and lists only is the law's compiled class with
/// another figure table (<see cref="RuleCompiler.Refigure"/>: no Roslyn); one that adds or replaces rows is compiled once,
/// into a collectible load context, never written to the compiled-rules cache. At most <see cref="Capacity"/> are kept,
/// the least recently used let go (its load context unloaded), so a stream of distinct reforms holds bounded memory.
/// </summary>
public sealed class ReformCache
{
    private readonly object _gate = new();
    private readonly Dictionary<string, LinkedListNode<(string Key, Lazy<CompiledRuleSet> Set)>> _byKey = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, Lazy<CompiledRuleSet> Set)> _recent = new(); // most recent first
    private int _capacity = DefaultCapacity;
    private long _compiled, _refigured, _hits, _evicted;

    /// <summary>Reforms kept by default (server option ReformCacheSize).</summary>
    public const int DefaultCapacity = RuleCompileOptions.DefaultReformCacheSize;

    /// <summary>The most reforms' rule sets kept at a time (at least 1).</summary>
    public int Capacity
    {
        get => _capacity;
        set
        {
            lock (_gate)
            {
                _capacity = Math.Max(1, value);
                Trim();
            }
        }
    }

    /// <summary>
    /// Where a structural reform is compiled (<see cref="RuleCompileOptions.Emit"/>): the server's worker processes
    /// (<see cref="ReformWorkers.Emit"/>), so that Roslyn is never loaded into the server; null (default): in this process.
    /// </summary>
    public Func<RuleSetDefinition, string, List<RuleError>, Func<byte[]?>, byte[]?>? Emit { get; set; }

    /// <summary>Reforms compiled by Roslyn (here or in a worker).</summary>
    public long Compiled => Interlocked.Read(ref _compiled);

    /// <summary>Figure-only reforms built on the law's compiled class.</summary>
    public long Refigured => Interlocked.Read(ref _refigured);

    /// <summary>Requests answered from a reform already built.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Reforms let go to stay within <see cref="Capacity"/>.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>Reforms kept now.</summary>
    public int Count
    {
        get { lock (_gate) return _byKey.Count; }
    }

    /// <summary>
    /// <paramref name="law"/> with <paramref name="reform"/> applied, built or taken from the cache. Throws
    /// <see cref="RuleLoadException"/> with the reform's lines when it is refused (nothing of it is kept).
    /// </summary>
    public CompiledRuleSet Apply(CompiledRuleSet law, ReformDefinition reform, Func<string, RuleSetDefinition?> others, out ReformSource source)
    {
        var key = law.ContentHash + ":" + reform.ContentHash;
        Lazy<CompiledRuleSet> entry;
        var built = false;
        lock (_gate)
        {
            if (_byKey.TryGetValue(key, out var node))
            {
                _recent.Remove(node);
                _recent.AddFirst(node);
                entry = node.Value.Set;
            }
            else
            {
                entry = new Lazy<CompiledRuleSet>(() => Build(law, reform, others));
                _byKey[key] = _recent.AddFirst((key, entry));
                built = true;
                Trim();
            }
        }
        try
        {
            var set = entry.Value;
            source = !built ? ReformSource.Cached : reform.FigureOnly ? ReformSource.Refigured : ReformSource.Compiled;
            if (!built) Interlocked.Increment(ref _hits);
            return set;
        }
        catch
        {
            // A refused reform is not kept: the next request is refused again, with the same errors.
            lock (_gate)
                if (_byKey.TryGetValue(key, out var node) && ReferenceEquals(node.Value.Set, entry))
                {
                    _byKey.Remove(key);
                    _recent.Remove(node);
                }
            throw;
        }
    }

    private CompiledRuleSet Build(CompiledRuleSet law, ReformDefinition reform, Func<string, RuleSetDefinition?> others)
    {
        var errors = new List<RuleError>();
        var def = ReformMerger.Apply(law.Definition, reform, others, errors);
        if (def is null || errors.Count > 0) throw new RuleLoadException(errors);
        if (reform.FigureOnly)
        {
            Interlocked.Increment(ref _refigured);
            return RuleCompiler.Refigure(law, def);
        }
        var compiled = RuleCompiler.Compile(def, new RuleCompileOptions { CacheDirectory = null, ShippedDirectory = null, Collectible = true, Emit = Emit }, errors);
        // The reform it evicted (Trim) waits for a collection to unload, and a compilation in this process leaves a hundred MB
        // or so of Roslyn's garbage: one full, compacting collection now, returning the memory to the system, keeps a stream of
        // distinct reforms within bounds. Tens of milliseconds against the seconds the compilation took, once per reform content.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (compiled is null || errors.Count > 0) throw new RuleLoadException(errors);
        Interlocked.Increment(ref _compiled);
        return compiled;
    }

    /// <summary>Lets every reform go (their load contexts unloaded once the requests still using them are done).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            var capacity = _capacity;
            _capacity = 0;
            Trim();
            _capacity = capacity;
        }
    }

    private void Trim()
    {
        while (_byKey.Count > _capacity && _recent.Last is { } oldest)
        {
            _recent.RemoveLast();
            _byKey.Remove(oldest.Value.Key);
            _evicted++;
            if (oldest.Value.Set.IsValueCreated) RuleCompiler.Unload(oldest.Value.Set.Value);
        }
    }
}
