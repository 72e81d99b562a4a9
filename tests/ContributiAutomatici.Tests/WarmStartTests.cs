using System.Diagnostics;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Tests;

/// <summary>
/// A warm start without Roslyn (issue 10, item 4): an unchanged rule set (same content hash, same engine build) is
/// loaded from the compiled-rules cache without loading any Microsoft.CodeAnalysis assembly. Checked in fresh
/// processes (the test host has Roslyn loaded already): the CLI's <c>validate</c>, run twice on a copy of the rules
/// with a private cache, prints its loaded assemblies (CONTRIBUTI_REPORT_ASSEMBLIES=1).
/// </summary>
public class WarmStartTests
{
    private const string Roslyn = "Microsoft.CodeAnalysis";

    [Fact]
    public void Warm_validate_loads_every_rule_set_from_the_cache_without_any_Roslyn_assembly()
    {
        using var rules = TempRules.CopyOfRepo();
        var cache = Path.Combine(rules.Root + "-cache", "rules-cache");
        try
        {
            var cold = Validate(rules.Root, cache);
            var warm = Validate(rules.Root, cache);

            // The cold run compiled every rule set (the versions and the version+overlay sets) with Roslyn: so this
            // test sees Roslyn when it is loaded, and fails if a warm start loads it.
            var coldSets = RuleSetLines(cold);
            Assert.True(coldSets.Count >= 3, "expected the versions and an overlay combination:\n" + cold);
            Assert.Contains(coldSets, l => l.StartsWith("ok dm-2021+", StringComparison.Ordinal));
            Assert.All(coldSets, l => Assert.Contains("; compiled (", l));
            Assert.Contains(LoadedAssemblies(cold), a => a.StartsWith(Roslyn, StringComparison.Ordinal));

            // The warm run took every one of them, overlays included, from the cache, and loaded nothing of Roslyn.
            var warmSets = RuleSetLines(warm);
            Assert.Equal(coldSets.Select(Id), warmSets.Select(Id));
            Assert.All(warmSets, l => Assert.Contains("; cache (", l));
            // ... and read every folder's definitions as already checked, not parsing any YAML (the cold run parsed them all).
            Assert.Contains("; 0 of 3 folder(s) read as already checked from the cache", cold);
            Assert.Contains("; 3 of 3 folder(s) read as already checked from the cache", warm);
            var loaded = LoadedAssemblies(warm);
            Assert.Contains("ContributiAutomatici.Engine", loaded);
            Assert.DoesNotContain(loaded, a => a.StartsWith(Roslyn, StringComparison.Ordinal));
        }
        finally
        {
            if (Directory.Exists(rules.Root + "-cache")) Directory.Delete(rules.Root + "-cache", recursive: true);
        }
    }

    [Fact]
    public void An_edited_figure_starts_from_the_cached_image_without_Roslyn_and_scores_with_the_new_figure()
    {
        using var rules = TempRules.CopyOfRepo();
        var cache = Path.Combine(rules.Root + "-cache", "rules-cache");
        try
        {
            Validate(rules.Root, cache);
            // A figure's value only (issue 24, item 4): the compiled class reads its figures from the table it is created
            // with, so the cached image (keyed by the rule set's shape) serves; the YAML of the edited folder is parsed again.
            rules.Replace("dm-2021/tabella-1.yaml", "tier_1_eur_per_point: { value: 5000,", "tier_1_eur_per_point: { value: 4000,");
            var watch = Stopwatch.StartNew();
            var edited = Validate(rules.Root, cache);
            watch.Stop();
            Assert.All(RuleSetLines(edited), l => Assert.Contains("; cache (", l));
            Assert.DoesNotContain(LoadedAssemblies(edited), a => a.StartsWith(Roslyn, StringComparison.Ordinal));
            Assert.Contains("; 2 of 3 folder(s) read as already checked from the cache", edited);

            var catalog = RuleCatalog.Load(rules.Root, new RuleCompileOptions { CacheDirectory = cache });
            var rs = catalog.Find("dm-2021")!;
            Assert.Equal(CompileSource.Cache, rs.Source);
            var work = new Engine.Model.Work { Id = "w", Kind = Engine.Model.WorkKind.Cinema, BoxOffice = [new(new DateOnly(2023, 3, 1), 1_000_000m)] };
            var result = rs.Score(work, [new Engine.Model.RoleInput(Engine.Model.Role.Producer)]);
            // 1,000,000 / 4,000: the edited figure, not the 200 of the image's first build.
            Assert.Equal(250m, result.For(Engine.Model.Role.Producer)!.Quotas.SelectMany(q => q.Lines).Single(l => l.RowId == "T1.A.1").Points);
        }
        finally
        {
            if (Directory.Exists(rules.Root + "-cache")) Directory.Delete(rules.Root + "-cache", recursive: true);
        }
    }

    [Fact]
    public void A_warm_start_reads_the_decree_text_only_when_asked_and_a_bad_cite_is_never_cached()
    {
        using var rules = TempRules.CopyOfRepo();
        var cache = Path.Combine(rules.Root + "-cache", "rules-cache");
        try
        {
            var options = new RuleCompileOptions { CacheDirectory = cache };
            RuleCatalog.Load(rules.Root, options);
            var warm = RuleCatalog.Load(rules.Root, options);
            Assert.Equal(3, warm.FoldersFromCache);
            var law = warm.FindVersion("dm-2021")!.Definition.LawSource!;
            Assert.False(law.IsValueCreated); // not parsed by the warm start
            Assert.NotEmpty(law.Value!.Resolve("Tabella 1, A.1; art. 7.1.a", out var problems));
            Assert.Empty(problems);

            // A cite that resolves to nothing: refused, and refused again on the next start (its folder is not cached as checked).
            rules.Replace("dm-2021/tabella-1.yaml", "cite: \"Tabella 1, A.1; art. 7.1.a\"", "cite: \"Tabella 1, A.1; art. 7.9.a\"");
            Assert.Throws<RuleLoadException>(() => RuleCatalog.Load(rules.Root, options));
            var again = Assert.Throws<RuleLoadException>(() => RuleCatalog.Load(rules.Root, options));
            Assert.Contains(again.Errors, e => e.Message.Contains("art. 7.9.a is no paragraph", StringComparison.Ordinal));
        }
        finally
        {
            if (Directory.Exists(rules.Root + "-cache")) Directory.Delete(rules.Root + "-cache", recursive: true);
        }
    }

    [Fact]
    public void A_changed_rule_after_a_warm_start_is_checked_again_and_refused_with_its_line()
    {
        using var rules = TempRules.WithRow("Work.ProductionCost > 1000000m ? 10m : 5m");
        var cache = Path.Combine(rules.Root + "-cache", "rules-cache");
        try
        {
            var options = new RuleCompileOptions { CacheDirectory = cache };
            Assert.Equal(CompileSource.Compiled, RuleCatalog.Load(rules.Root, options).RuleSets[0].Source);
            var warm = RuleCatalog.Load(rules.Root, options).RuleSets[0];
            Assert.Equal(CompileSource.Cache, warm.Source);
            Assert.Equal(TimeSpan.Zero, warm.Timings.Emitted);
            Assert.Equal(TimeSpan.Zero, warm.Timings.Sandboxed);

            // Another content hash: the cache has nothing for it, so the syntax and symbol checks run again.
            rules.Replace("test-set/t.yaml", "Work.ProductionCost > 1000000m ? 10m : 5m", "System.IO.File.Exists(\"/etc/passwd\") ? 10m : 5m");
            var ex = Assert.Throws<RuleLoadException>(() => RuleCatalog.Load(rules.Root, options));
            var error = Assert.Single(ex.Errors);
            Assert.EndsWith("t.yaml", error.File);
            Assert.Equal(rules.LineOf("test-set/t.yaml", "System.IO.File.Exists"), error.Line);

            // And the old rule, unchanged again, is back from the cache.
            rules.Replace("test-set/t.yaml", "System.IO.File.Exists(\"/etc/passwd\") ? 10m : 5m", "Work.ProductionCost > 1000000m ? 10m : 5m");
            Assert.Equal(CompileSource.Cache, RuleCatalog.Load(rules.Root, options).RuleSets[0].Source);
        }
        finally
        {
            if (Directory.Exists(rules.Root + "-cache")) Directory.Delete(rules.Root + "-cache", recursive: true);
        }
    }

    /// <summary>Runs the built CLI's validate in a fresh process with the given cache; its standard output.</summary>
    private static string Validate(string rulesRoot, string cache) => CliProcess.Run(cache, "validate", "--rules", rulesRoot);

    private static List<string> RuleSetLines(string output) =>
        output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("ok ", StringComparison.Ordinal)).ToList();

    private static string Id(string okLine) => okLine[3..okLine.IndexOf(':', StringComparison.Ordinal)];

    private static List<string> LoadedAssemblies(string output)
    {
        var names = output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("assembly ", StringComparison.Ordinal))
            .Select(l => l["assembly ".Length..]).ToList();
        Assert.NotEmpty(names); // the CLI printed them: an empty list would pass the check for Roslyn vacuously
        return names;
    }
}
