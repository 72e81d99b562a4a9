using System.Diagnostics;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Engine.Loading;

/// <summary>
/// The rule sets of a rules folder as definitions, not compiled: each version (its figure references resolved) with every
/// combination of its overlays applied, and the overlays.
/// </summary>
public sealed record RuleDefinitions(IReadOnlyList<(RuleSetDefinition Version, IReadOnlyList<RuleSetDefinition> Combinations)> Versions,
    IReadOnlyList<RuleSetDefinition> Overlays)
{
    /// <summary>The definition a selector names (<see cref="RuleSetSelector"/>), or an overlay by its id; null with why not.</summary>
    public RuleSetDefinition? Select(string selector, out string? error)
    {
        if (Overlays.FirstOrDefault(o => o.Id == selector) is { } overlay) { error = null; return overlay; }
        if (RuleSetSelector.TryParse(selector, out error) is not { } s) return null;
        var version = s.Version is { } v
            ? Versions.FirstOrDefault(x => x.Version.Id == v)
            : Versions.Where(x => x.Version.ApplicationYearFrom <= s.Year && (x.Version.ApplicationYearTo is null || s.Year <= x.Version.ApplicationYearTo))
                .OrderByDescending(x => x.Version.ApplicationYearFrom).FirstOrDefault();
        if (version.Version is null)
        {
            error = s.Version is { } id ? $"unknown rule set '{id}' (versions: {string.Join(", ", Versions.Select(x => x.Version.Id))})"
                : $"no decree version in force for application year {s.Year}";
            return null;
        }
        var known = Overlays.Where(o => o.Overlay!.Patches == version.Version.Id).Select(o => (o.Id, o.Overlay!.OnByDefault)).ToList();
        if (s.Overlays(version.Version.Id, known, [], [], out var unknown) is not { } applied)
        {
            error = $"'{unknown}' is not an overlay of {version.Version.Id} (its overlays: {string.Join(", ", known.Select(o => o.Id).DefaultIfEmpty("none"))})";
            return null;
        }
        return applied.Count == 0 ? version.Version
            : version.Combinations.FirstOrDefault(c => c.AppliedOverlays.SequenceEqual(applied, StringComparer.Ordinal));
    }
}

/// <summary>
/// Every rule set under a rules folder, validated and compiled. All or nothing: one broken file and
/// <see cref="Load"/> throws <see cref="RuleLoadException"/> listing every error as file:line: reason.
/// </summary>
public sealed class RuleCatalog
{
    private readonly Dictionary<string, CompiledRuleSet> _byId;

    private RuleCatalog(IReadOnlyList<CompiledRuleSet> sets, IReadOnlyList<RuleSetDefinition> overlays, TimeSpan loadTime, int foldersFromCache, int folders,
        int reformCacheSize)
    {
        Reforms.Capacity = reformCacheSize;
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

    /// <summary>The what-if reforms built on this catalog's rule sets, kept for the requests that send them again.</summary>
    public ReformCache Reforms { get; } = new();

    /// <summary>
    /// <paramref name="law"/> with a what-if reform applied (built once per content, then kept: <see cref="Reforms"/>). Throws
    /// <see cref="RuleLoadException"/> naming the reform's lines when it is refused.
    /// </summary>
    public CompiledRuleSet WithReform(CompiledRuleSet law, ReformDefinition reform, out ReformSource source) =>
        Reforms.Apply(law, reform, id => FindVersion(id)?.Definition, out source);

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

    /// <summary>A version with exactly these overlays applied (none: the version alone), or null when not loaded.</summary>
    public CompiledRuleSet? WithApplied(CompiledRuleSet version, IReadOnlyList<string> overlays) =>
        overlays.Count == 0 ? version : Find(version.Id + "+" + string.Join("+", overlays.Order(StringComparer.Ordinal)));

    /// <summary>
    /// The rule set's name in the selector grammar (<see cref="RuleSetSelector"/>): its version, '+' each overlay applied and
    /// '~' each overlay the version applies by default that is off (dm-2021+covid-19, dm-2021~covid-19, dm-2017).
    /// </summary>
    public string CanonicalName(CompiledRuleSet rs) =>
        RuleSetSelector.Canonical(rs.Definition.BaseId, rs.Definition.AppliedOverlays,
            OverlaysOf(rs.Definition.BaseId).Select(o => (o.Id, o.Overlay!.OnByDefault)));

    /// <summary>
    /// The rule set a selector names (<see cref="RuleSetSelector"/>: "dm-2021", "dm-2021+covid-19", "dm-2021~covid-19",
    /// "2021"), or null with why not.
    /// </summary>
    public CompiledRuleSet? Select(string selector, out string? error)
    {
        if (RuleSetSelector.TryParse(selector, out error) is not { } s) return null;
        var version = s.Version is { } v ? FindVersion(v) : ForApplicationYear(s.Year!.Value);
        if (version is null)
        {
            error = s.Version is { } id
                ? $"unknown rule set '{id}' (versions: {string.Join(", ", Versions.Select(x => x.Id))})"
                : $"no decree version in force for application year {s.Year}";
            return null;
        }
        var known = OverlaysOf(version.Id).Select(o => (o.Id, o.Overlay!.OnByDefault)).ToList();
        if (s.Overlays(version.Id, known, [], [], out var unknown) is not { } applied)
        {
            error = $"'{unknown}' is not an overlay of {version.Id} (its overlays: {string.Join(", ", known.Select(o => o.Id).DefaultIfEmpty("none"))})";
            return null;
        }
        return WithApplied(version, applied);
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

    /// <summary>The most overlays of one version the engine combines (every subset is compiled: 2^N - 1 rule sets).</summary>
    public const int MaxOverlays = 3;

    /// <summary>Loads every folder of <paramref name="rulesRoot"/> that has a ruleset.yaml.</summary>
    public static RuleCatalog Load(string rulesRoot, RuleCompileOptions? options = null)
    {
        options ??= new RuleCompileOptions();
        var sw = Stopwatch.StartNew();
        var errors = new List<RuleError>();
        // The caches opened once: the folders' parsed definitions and the compiled assemblies are both kept there.
        var cache = options.CacheDirectory is { } cacheDir ? RuleCache.Open(cacheDir, options.Warn) : null;
        var shipped = options.ShippedDirectory is { } shippedDir ? RuleCache.OpenShipped(shippedDir, options.Warn) : null;
        var defs = Definitions(rulesRoot, errors, cache, shipped, out var fromCache, out var folders);

        // Every rule set compiles at once, side by side (each is its own compilation, independent of the others): after an
        // expression edit the version and each combination of its overlays compile together, not one after the other.
        // What is kept, and which errors are said, is as if they had compiled in order: a version's errors once, not again
        // for each combination with its overlays, and an overlay whose combination alone does not compile is not reported
        // again in a combination with others.
        var jobs = defs.Versions.SelectMany(v => v.Combinations.Prepend(v.Version)).ToArray();
        var results = new (CompiledRuleSet? Set, List<RuleError> Errors)[jobs.Length];
        Parallel.For(0, jobs.Length, i =>
        {
            var own = new List<RuleError>();
            results[i] = (RuleCompiler.Compile(jobs[i], options, own, cache, shipped), own);
        });
        var sets = new List<CompiledRuleSet>();
        var next = 0;
        foreach (var (_, combinations) in defs.Versions)
        {
            var (version, versionErrors) = results[next++];
            var done = results.AsSpan(next, combinations.Count).ToArray();
            next += combinations.Count;
            errors.AddRange(versionErrors);
            if (version is null || versionErrors.Count > 0) continue; // its errors are reported once, not again for each combination
            sets.Add(version);
            var failed = new HashSet<string>(StringComparer.Ordinal);
            for (var k = 0; k < combinations.Count; k++)
            {
                var merged = combinations[k];
                if (merged.AppliedOverlays.Any(failed.Contains)) continue;
                var (c, own) = done[k];
                errors.AddRange(own);
                if (c is not null && own.Count == 0) sets.Add(c);
                else if (merged.AppliedOverlays.Count == 1) failed.Add(merged.AppliedOverlays[0]);
            }
        }
        if (errors.Count > 0) throw new RuleLoadException(errors);
        return new RuleCatalog(sets, defs.Overlays, sw.Elapsed, fromCache, folders, options.ReformCacheSize);
    }

    /// <summary>
    /// What <see cref="Load"/> compiles, parsed, checked and resolved but not compiled (for what needs the rules as written,
    /// not their scoring: a diff): each version with its figure references resolved and every combination of its overlays
    /// applied, and the overlays. Throws <see cref="RuleLoadException"/> with every error.
    /// </summary>
    public static RuleDefinitions LoadDefinitions(string rulesRoot, RuleCompileOptions? options = null)
    {
        options ??= new RuleCompileOptions();
        var errors = new List<RuleError>();
        var cache = options.CacheDirectory is { } cacheDir ? RuleCache.Open(cacheDir, options.Warn) : null;
        var shipped = options.ShippedDirectory is { } shippedDir ? RuleCache.OpenShipped(shippedDir, options.Warn) : null;
        var defs = Definitions(rulesRoot, errors, cache, shipped, out _, out _);
        if (errors.Count > 0) throw new RuleLoadException(errors);
        return defs;
    }

    private static RuleDefinitions Definitions(string rulesRoot, List<RuleError> errors, RuleCache? cache, RuleCache? shipped, out int fromCache, out int folders)
    {
        fromCache = 0;
        folders = 0;
        if (!Directory.Exists(rulesRoot))
        {
            errors.Add(new RuleError(rulesRoot, 0, "rules folder does not exist"));
            return new RuleDefinitions([], []);
        }
        var dirs = Directory.GetDirectories(rulesRoot).Where(d => File.Exists(Path.Combine(d, RuleFileParser.ManifestName)))
            .Order(StringComparer.Ordinal).ToList();
        if (dirs.Count == 0) errors.Add(new RuleError(rulesRoot, 0, "no rule set (a folder with ruleset.yaml) under the rules folder"));
        var defs = new List<RuleSetDefinition>();
        var fromCacheCount = 0;
        // The ids of the folders refused: an overlay of one is not refused again for patching a version "not loaded".
        var refused = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dir in dirs)
        {
            if (DefinitionCache.Load(dir, errors, cache, shipped, out var cached) is not { } def)
            {
                refused.Add(ManifestId(dir));
                continue;
            }
            if (cached) fromCacheCount++;
            if (defs.Any(s => s.Id == def.Id))
                errors.Add(new RuleError(Path.Combine(dir, RuleFileParser.ManifestName), 1, $"duplicate rule set id '{def.Id}'"));
            else defs.Add(def);
        }
        folders = defs.Count;
        fromCache = fromCacheCount;
        // The decree's text beside each version, re-read at every load (it is not part of the cached definitions); a rule set
        // with a cite that resolves to no paragraph is refused, and counts as refused below (no follow-on errors).
        // Checked whenever a folder was parsed now. A warm start (every folder from the cache, which holds only folders whose
        // cites resolved, their texts' bytes in their content hashes) attaches each text to be read when first asked for.
        var withLaw = Law.RuleSetLaw.Attach(defs, errors, check: fromCacheCount < defs.Count);
        foreach (var d in defs)
            if (withLaw.All(x => x.Id != d.Id))
            {
                refused.Add(d.Id);
                DefinitionCache.Forget(d.Directory, cache); // parsed, but its cites do not resolve: not a checked folder
            }
        defs = withLaw;
        var parsed = defs.Where(d => d.Kind == RuleSetKind.Version).ToDictionary(d => d.Id, StringComparer.Ordinal);
        // Figures referred to by path, and rows borrowed from another version, resolved against the versions as parsed.
        var versions = parsed.Values.Select(d => FigureReferences.Resolve(d, id => parsed.GetValueOrDefault(id), errors, refused.Count > 0))
            .OfType<RuleSetDefinition>().ToList();
        var overlays = defs.Where(d => d.Kind == RuleSetKind.Overlay).ToList();
        CheckVersions(versions, overlays, refused, errors);

        var result = new List<(RuleSetDefinition, IReadOnlyList<RuleSetDefinition>)>();
        foreach (var def in versions)
        {
            var mine = overlays.Where(o => o.Overlay!.Patches == def.Id).OrderBy(o => o.Id, StringComparer.Ordinal).ToList();
            // Every combination is compiled: beyond MaxOverlays they would be too many, and one is never silently left out.
            foreach (var extra in mine.Skip(MaxOverlays))
                errors.Add(new RuleError(Path.Combine(extra.Directory, RuleFileParser.ManifestName), extra.PatchesLocation?.Line ?? 1,
                    $"overlay {extra.Id} is the {mine.Count}th overlay of {def.Id}: the engine combines at most {MaxOverlays} overlays of a version " +
                    $"({string.Join(", ", mine.Take(MaxOverlays).Select(o => o.Id))}); merge two measures into one overlay or retire one"));
            var combinations = new List<RuleSetDefinition>();
            // An overlay refused alone is not applied again with the others (its errors would be reported once per combination):
            // every combination comes after the combinations of the overlay alone (a lower mask).
            var refusedAlone = 0;
            if (mine.Count <= MaxOverlays)
                for (var mask = 1; mask < 1 << mine.Count; mask++)
                {
                    if ((mask & refusedAlone) != 0) continue;
                    var chosen = mine.Where((_, i) => (mask & (1 << i)) != 0).ToList();
                    var before = errors.Count;
                    if (OverlayMerger.Apply(def, chosen, errors) is { } merged &&
                        FigureReferences.Resolve(merged, id => parsed.GetValueOrDefault(id), errors) is { } resolved && errors.Count == before)
                        combinations.Add(resolved);
                    else if (chosen.Count == 1) refusedAlone |= mask;
                }
            result.Add((def, combinations));
        }
        return new RuleDefinitions(result, overlays);
    }

    /// <summary>Versions govern disjoint application years; an overlay patches a loaded version.</summary>
    private static void CheckVersions(List<RuleSetDefinition> versions, List<RuleSetDefinition> overlays, HashSet<string> refused, List<RuleError> errors)
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
            // A version refused has its own errors already; its overlays are simply not compiled.
            if (versions.All(v => v.Id != o.Overlay!.Patches) && !refused.Contains(o.Overlay!.Patches))
            {
                var at = o.PatchesLocation ?? new SourceLocation(Path.Combine(o.Directory, RuleFileParser.ManifestName), 1);
                errors.Add(new RuleError(at.File, at.Line,
                    $"overlay {o.Id} patches '{o.Overlay!.Patches}', which is not loaded (versions: {string.Join(", ", versions.Select(v => v.Id))})"));
            }

        static string Years(RuleSetDefinition d) => $"{d.ApplicationYearFrom}-{d.ApplicationYearTo?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""}";
    }

    /// <summary>
    /// The id a refused folder's manifest gives (read on its own, however broken the rest of the folder), else the folder's name.
    /// </summary>
    private static string ManifestId(string dir)
    {
        try
        {
            var path = Path.Combine(dir, RuleFileParser.ManifestName);
            var info = new FileInfo(path);
            if (info.Exists && info.Length <= YamlFile.MaxFileLength &&
                YamlFile.Load(path, File.ReadAllText(path), []) is YamlDotNet.RepresentationModel.YamlMappingNode root &&
                root.Children.TryGetValue(new YamlDotNet.RepresentationModel.YamlScalarNode("id"), out var id) &&
                id is YamlDotNet.RepresentationModel.YamlScalarNode { Value: { Length: > 0 } value })
                return value;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return Path.GetFileName(dir);
    }
}
