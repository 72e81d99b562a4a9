using System.Diagnostics;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Engine.Scoring;

/// <summary>
/// Every rule set under a rules folder, validated and compiled. All or nothing: one broken file and
/// <see cref="Load"/> throws <see cref="RuleLoadException"/> listing every error as file:line: reason.
/// </summary>
public sealed class RuleCatalog
{
    private readonly Dictionary<string, CompiledRuleSet> _byId;

    private RuleCatalog(IReadOnlyList<CompiledRuleSet> sets, IReadOnlyList<RuleSetDefinition> overlays, TimeSpan loadTime, int foldersFromCache, int folders)
    {
        FoldersFromCache = foldersFromCache;
        Folders = folders;
        RuleSets = sets;
        Overlays = overlays;
        LoadTime = loadTime;
        _byId = sets.ToDictionary(s => s.Id, StringComparer.Ordinal);
        _versions = sets.Where(s => s.Definition.AppliedOverlays.Count == 0).ToArray();
        _versionsById = _versions.ToDictionary(s => s.Id, StringComparer.Ordinal);
    }

    private readonly CompiledRuleSet[] _versions;
    private readonly Dictionary<string, CompiledRuleSet> _versionsById;
    // A version with its default overlays, for the requests that name none (most): resolved once.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<CompiledRuleSet, CompiledRuleSet?> _defaults = new();

    /// <summary>The decree version with that id (not an overlay combination), or null.</summary>
    public CompiledRuleSet? FindVersion(string id) => _versionsById.GetValueOrDefault(id);

    /// <summary>Every compiled rule set: the versions, and each version with its overlays applied ("dm-2021+covid-19").</summary>
    public IReadOnlyList<CompiledRuleSet> RuleSets { get; }

    /// <summary>The decree versions, without overlays.</summary>
    public IEnumerable<CompiledRuleSet> Versions => _versions;

    /// <summary>The overlays (temporary measures) and what they patch.</summary>
    public IReadOnlyList<RuleSetDefinition> Overlays { get; }

    /// <summary>The rule-set folders loaded (versions and overlays).</summary>
    public int Folders { get; }

    /// <summary>
    /// How many of <see cref="Folders"/> were taken from the compiled-rules cache as already parsed and checked (their files
    /// unchanged since), not parsed from their YAML.
    /// </summary>
    public int FoldersFromCache { get; }

    /// <summary>How long parsing, validating and compiling (or loading from cache) took.</summary>
    public TimeSpan LoadTime { get; }

    public CompiledRuleSet? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>The overlays of a version.</summary>
    public IEnumerable<RuleSetDefinition> OverlaysOf(string versionId) => Overlays.Where(o => o.Overlay!.Patches == versionId);

    /// <summary>
    /// A version with the overlays a request asks for: those on by default, plus <paramref name="with"/>, less
    /// <paramref name="without"/> ("*": every default). Null when an overlay named is not one of the version's.
    /// </summary>
    public CompiledRuleSet? WithOverlays(CompiledRuleSet version, IEnumerable<string> with, IEnumerable<string> without, out string? unknown)
    {
        if (with is ICollection<string> { Count: 0 } && without is ICollection<string> { Count: 0 })
        {
            unknown = null;
            return _defaults.TryGetValue(version, out var known) ? known : _defaults.GetOrAdd(version, v => Combine(v, [], [], out _));
        }
        return Combine(version, with, without, out unknown);
    }

    private CompiledRuleSet? Combine(CompiledRuleSet version, IEnumerable<string> with, IEnumerable<string> without, out string? unknown)
    {
        var known = OverlaysOf(version.Id).ToDictionary(o => o.Id, StringComparer.Ordinal);
        var off = without.ToHashSet(StringComparer.Ordinal);
        var on = known.Values.Where(o => o.Overlay!.OnByDefault && !off.Contains("*") && !off.Contains(o.Id)).Select(o => o.Id).ToHashSet(StringComparer.Ordinal);
        unknown = with.Concat(off.Where(x => x != "*")).FirstOrDefault(x => !known.ContainsKey(x));
        if (unknown is not null) return null;
        on.UnionWith(with);
        return on.Count == 0 ? version : Find(version.Id + "+" + string.Join("+", on.Order(StringComparer.Ordinal)));
    }

    /// <summary>The decree version (not an overlay) in force for the results of that year.</summary>
    public CompiledRuleSet? ForApplicationYear(int year) =>
        Versions.Where(s => s.Definition.ApplicationYearFrom <= year &&
                            (s.Definition.ApplicationYearTo is null || year <= s.Definition.ApplicationYearTo))
            .OrderByDescending(s => s.Definition.ApplicationYearFrom).FirstOrDefault();

    /// <summary>Loads every folder of <paramref name="rulesRoot"/> that has a ruleset.yaml.</summary>
    public static RuleCatalog Load(string rulesRoot, RuleCompileOptions? options = null)
    {
        options ??= new RuleCompileOptions();
        var sw = Stopwatch.StartNew();
        var errors = new List<RuleError>();
        if (!Directory.Exists(rulesRoot))
            throw new RuleLoadException([new RuleError(rulesRoot, 0, "rules folder does not exist")]);
        var dirs = Directory.GetDirectories(rulesRoot).Where(d => File.Exists(Path.Combine(d, RuleFileParser.ManifestName)))
            .Order(StringComparer.Ordinal).ToList();
        if (dirs.Count == 0) errors.Add(new RuleError(rulesRoot, 0, "no rule set (a folder with ruleset.yaml) under the rules folder"));
        var defs = new List<RuleSetDefinition>();
        // The caches opened once: the folders' parsed definitions and the compiled assemblies are both kept there.
        var cache = options.CacheDirectory is { } cacheDir ? RuleCache.Open(cacheDir, options.Warn) : null;
        var shipped = options.ShippedDirectory is { } shippedDir ? RuleCache.OpenShipped(shippedDir, options.Warn) : null;
        var fromCache = 0;
        foreach (var dir in dirs)
        {
            if (DefinitionCache.Load(dir, errors, cache, shipped, out var cached) is not { } def) continue;
            if (cached) fromCache++;
            if (defs.Any(s => s.Id == def.Id))
                errors.Add(new RuleError(Path.Combine(dir, RuleFileParser.ManifestName), 1, $"duplicate rule set id '{def.Id}'"));
            else defs.Add(def);
        }
        // The decree's text beside each version, re-read at every load (it is not part of the cached definitions).
        defs = Law.RuleSetLaw.Attach(defs, errors);
        var versions = defs.Where(d => d.Kind == "version").ToList();
        var overlays = defs.Where(d => d.Kind == "overlay").ToList();
        CheckVersions(versions, overlays, errors);

        var sets = new List<CompiledRuleSet>();
        foreach (var def in versions)
        {
            var before = errors.Count;
            if (RuleCompiler.Compile(def, options, errors, cache, shipped) is { } compiled && errors.Count == before) sets.Add(compiled);
            else continue; // its errors are reported once, not again for each combination with its overlays
            // Each combination of the version's overlays (few: each is a temporary measure), compiled like a version.
            var mine = overlays.Where(o => o.Overlay!.Patches == def.Id).OrderBy(o => o.Id, StringComparer.Ordinal).ToList();
            for (var mask = 1; mask < 1 << Math.Min(mine.Count, 3); mask++)
            {
                var chosen = mine.Where((_, i) => (mask & (1 << i)) != 0).ToList();
                before = errors.Count;
                if (OverlayMerger.Apply(def, chosen, errors) is { } merged && RuleCompiler.Compile(merged, options, errors, cache, shipped) is { } c && errors.Count == before)
                    sets.Add(c);
            }
        }
        if (errors.Count > 0) throw new RuleLoadException(errors);
        return new RuleCatalog(sets, overlays, sw.Elapsed, fromCache, defs.Count);
    }

    /// <summary>Versions govern disjoint application years; an overlay patches a loaded version.</summary>
    private static void CheckVersions(List<RuleSetDefinition> versions, List<RuleSetDefinition> overlays, List<RuleError> errors)
    {
        for (var i = 0; i < versions.Count; i++)
            for (var j = i + 1; j < versions.Count; j++)
            {
                var (a, b) = (versions[i], versions[j]);
                var overlap = a.ApplicationYearFrom <= (b.ApplicationYearTo ?? int.MaxValue) && b.ApplicationYearFrom <= (a.ApplicationYearTo ?? int.MaxValue);
                if (overlap)
                {
                    var at = b.YearsLocation ?? new SourceLocation(Path.Combine(b.Directory, RuleFileParser.ManifestName), 1);
                    errors.Add(new RuleError(at.File, at.Line,
                        $"{b.Id} governs application years {Years(b)}, which overlap {a.Id}'s {Years(a)}: one version per year"));
                }
            }
        foreach (var o in overlays)
            if (versions.All(v => v.Id != o.Overlay!.Patches))
            {
                var at = o.PatchesLocation ?? new SourceLocation(Path.Combine(o.Directory, RuleFileParser.ManifestName), 1);
                errors.Add(new RuleError(at.File, at.Line,
                    $"overlay {o.Id} patches '{o.Overlay!.Patches}', which is not loaded (versions: {string.Join(", ", versions.Select(v => v.Id))})"));
            }

        static string Years(RuleSetDefinition d) => $"{d.ApplicationYearFrom}-{d.ApplicationYearTo?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""}";
    }
}
