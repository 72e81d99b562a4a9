using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Tooling;

namespace ContributiAutomatici.Tests;

/// <summary>Every golden case of every rule set under rules/, one xunit case each.</summary>
public class GoldenCaseTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in AllCases().Keys) data.Add(c);
        return data;
    }

    private static readonly Lazy<Dictionary<string, GoldenCase>> Loaded = new(() =>
    {
        var errors = new List<RuleError>();
        var cases = Repo.Catalog.Versions.Select(v => v.Definition).Concat(Repo.Catalog.Overlays)
            .SelectMany(d => GoldenTests.Load(d, errors).Select(c => (Set: d.Id, Case: c)))
            .ToDictionary(c => $"{c.Set}/{Path.GetFileName(c.Case.File)}:{c.Case.Line} {c.Case.Name}", c => c.Case);
        if (errors.Count > 0) throw new InvalidOperationException(string.Join("\n", errors));
        return cases;
    });

    private static Dictionary<string, GoldenCase> AllCases() => Loaded.Value;


    [Theory]
    [MemberData(nameof(Cases))]
    public void Golden_case_scores_the_decree_figures(string name)
    {
        var result = GoldenTests.Run(AllCases()[name], Repo.Catalog);
        Assert.True(result.Passed, string.Join("\n", result.Failures));
    }

    /// <summary>The rules compiled with their figures as constants (the benchmark's side-by-side), not read from the table.</summary>
    private static readonly Lazy<Engine.Loading.RuleCatalog> Baked = new(() =>
        Engine.Loading.RuleCatalog.Load(Repo.Rules, new RuleCompileOptions { CacheDirectory = null, BakeFigures = true }));

    [Fact]
    public void Every_golden_case_scores_the_same_with_the_figures_baked_as_constants()
    {
        var failures = AllCases().Where(c => !GoldenTests.Run(c.Value, Baked.Value).Passed).Select(c => c.Key).ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Every_row_of_every_table_has_a_golden_case()
    {
        foreach (var rs in Repo.Catalog.Versions)
        {
            var cases = AllCases().Values.Where(c => c.RuleSetId == rs.Id && c.Request.WithOverlays.Count == 0).ToList();
            // A row with no known figure (provenance missing) cannot score: it is covered by a case that pins it as missing.
            var covered = cases.SelectMany(c => c.Expect.Values.SelectMany(e => e.Rows).Where(r => r.Value != 0).Select(r => r.Key))
                .Concat(cases.SelectMany(c => c.Missing ?? []))
                .ToHashSet();
            var missing = rs.Definition.Tables.SelectMany(t => t.Rows).Select(r => r.Id).Where(id => !covered.Contains(id)).ToList();
            Assert.True(missing.Count == 0, $"{rs.Id}: rows without a golden case that scores them: {string.Join(", ", missing)}");
        }
        foreach (var o in Repo.Catalog.Overlays)
        {
            var covered = AllCases().Values.Where(c => c.Request.WithOverlays.Contains(o.Id))
                .SelectMany(c => c.Expect.Values.SelectMany(e => e.Rows).Where(r => r.Value != 0).Select(r => r.Key)).ToHashSet();
            var missing = o.Overlay!.Rows.Where(p => p.Action != PatchAction.Disable).Select(p => p.RowId).Where(id => !covered.Contains(id)).ToList();
            Assert.True(missing.Count == 0, $"overlay {o.Id}: patched or added rows without a golden case that scores them: {string.Join(", ", missing)}");
        }
    }
}

/// <summary>Every golden allocation (rules/*/tests/allocation/*.yaml), one xunit case each.</summary>
public class AllocationGoldenCaseTests
{
    private static readonly Lazy<Dictionary<string, AllocationGoldenCase>> Loaded = new(() =>
    {
        var errors = new List<RuleError>();
        var cases = Repo.Catalog.Versions
            .SelectMany(rs => AllocationGoldenTests.Load(rs.Definition.Directory, rs.Id, errors))
            .ToDictionary(c => $"{c.RuleSetId}/{Path.GetFileName(c.File)}:{c.Line} {c.Name}");
        if (errors.Count > 0) throw new InvalidOperationException(string.Join("\n", errors));
        return cases;
    });

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Loaded.Value.Keys) data.Add(c);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Golden_allocation_pays_the_decree_amounts(string name)
    {
        var result = AllocationGoldenTests.Run(Loaded.Value[name], Repo.Catalog);
        Assert.True(result.Passed, string.Join("\n", result.Failures));
    }

    [Fact]
    public void Every_rule_set_that_allocates_has_golden_allocations()
    {
        foreach (var rs in Repo.Catalog.Versions.Where(r => r.Definition.Allocation is not null))
            Assert.True(Loaded.Value.Values.Any(c => c.RuleSetId == rs.Id), $"{rs.Id} allocates but has no golden allocation");
    }
}
