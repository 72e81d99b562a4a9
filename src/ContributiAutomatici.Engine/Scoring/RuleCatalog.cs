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

    private RuleCatalog(IReadOnlyList<CompiledRuleSet> sets, TimeSpan loadTime)
    {
        RuleSets = sets;
        LoadTime = loadTime;
        _byId = sets.ToDictionary(s => s.Id, StringComparer.Ordinal);
    }

    public IReadOnlyList<CompiledRuleSet> RuleSets { get; }

    /// <summary>How long parsing, validating and compiling (or loading from cache) took.</summary>
    public TimeSpan LoadTime { get; }

    public CompiledRuleSet? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>The decree version (not an overlay) in force for the results of that year.</summary>
    public CompiledRuleSet? ForApplicationYear(int year) =>
        RuleSets.Where(s => s.Definition.Kind == "version" && s.Definition.ApplicationYearFrom <= year &&
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
        var sets = new List<CompiledRuleSet>();
        foreach (var dir in dirs)
        {
            var before = errors.Count;
            if (RuleFileParser.Parse(dir, errors) is not { } def) continue;
            if (sets.Any(s => s.Id == def.Id))
            {
                errors.Add(new RuleError(Path.Combine(dir, RuleFileParser.ManifestName), 1, $"duplicate rule set id '{def.Id}'"));
                continue;
            }
            if (RuleCompiler.Compile(def, options, errors) is { } compiled && errors.Count == before) sets.Add(compiled);
        }
        if (errors.Count > 0) throw new RuleLoadException(errors);
        return new RuleCatalog(sets, sw.Elapsed);
    }
}
