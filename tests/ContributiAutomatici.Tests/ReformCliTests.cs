using System.Globalization;
using ContributiAutomatici.Cli;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>
/// What-if reforms from the command line (issue 28): <c>compare --year Y --reform R.yaml</c> puts the law against the law
/// with the reform, in text, JSON and the Italian HTML report (checked in headless Chromium); <c>score --reform</c> of a
/// figure-only reform loads no Roslyn assembly (a fresh process with a warm cache); a bad reform is refused at its line.
/// </summary>
public class ReformCliTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args) => ComparisonCliTests.Run(args);

    private static string Example(string name) => ComparisonCliTests.Example(name);

    private static decimal D(string s) => decimal.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void Tier_1_at_4000_moves_only_T1_A_1_and_its_increments_and_cinema_economic_point_value_falls_in_JSON_and_the_HTML_report()
    {
        var html = Path.Combine(Path.GetTempPath(), $"reform-{Guid.NewGuid():N}.html");
        try
        {
            var (exit, output, err) = Run("compare", "--year", Example("year-2023.json"), "--reform", ReformTests.Example("tier-1-4000.yaml"),
                "--rules", Repo.Rules, "--json", "--html", html);
            Assert.True(exit == 0, err);
            var r = JsonParser.Default.Parse<V1.CompareAllocationsResponse>(output);

            Assert.Null(r.A.Reform);
            Assert.Equal("tier-1-4000", r.B.Reform.Id);
            Assert.True(r.B.Reform.FigureOnly);
            Assert.Equal(r.A.RuleSetId, r.B.RuleSetId);
            Assert.NotEmpty(r.Rows);
            Assert.All(r.Rows, row => Assert.StartsWith("T1.A.1", row.RowId, StringComparison.Ordinal));
            Assert.Contains(r.Rows, row => row.RowId == "T1.A.1");
            var economic = r.Quotas.Single(q => q.QuotaId == "cinema.economic");
            Assert.True(D(economic.BPointValue) < D(economic.APointValue), $"{economic.APointValue} -> {economic.BPointValue}");
            // The other quotas' point values do not move.
            Assert.All(r.Quotas.Where(q => q.QuotaId != "cinema.economic"), q => Assert.Equal(q.APointValue, q.BPointValue));
            // Each changed row's euro: its points at its quota's point value on each side, to the cent.
            Assert.All(r.Rows, row =>
            {
                Assert.Equal("cinema.economic", row.QuotaId);
                Assert.Equal(Math.Round(D(row.BPoints) * D(economic.BPointValue), 2), D(row.BEur), 2);
                Assert.Equal(D(row.BEur) - D(row.AEur), D(row.EurDifference));
            });

            var dom = ComparisonCliTests.Chromium(html);
            Assert.Contains("impatto della riforma", dom);
            Assert.Contains(System.Net.WebUtility.HtmlEncode(r.B.Reform.Title), dom);
            Assert.Contains(r.B.Reform.ContentHash, dom);
            Assert.Contains(AllocationReport.Num(economic.APointValue), dom);
            Assert.Contains(AllocationReport.Num(economic.BPointValue), dom);
            foreach (var row in r.Rows) Assert.Contains(AllocationReport.Eur(row.EurDifference), dom);
            foreach (var g in r.Gainers) Assert.Contains(AllocationReport.Eur(g.Difference), dom);
            foreach (var l in r.Losers) Assert.Contains(AllocationReport.Eur(l.Difference), dom);
            var gaining = r.Companies.Count(c => D(c.Difference) > 0);
            Assert.Contains($"{gaining} imprese guadagnano", dom);
            Assert.Contains("<svg", dom);
        }
        finally { File.Delete(html); }
    }

    [Fact]
    public void Keep_point_values_allocates_the_reform_with_the_budget_at_which_no_point_value_falls()
    {
        var (exit, output, err) = Run("compare", "--year", Example("year-2023.json"), "--reform", ReformTests.Example("tier-1-4000.yaml"),
            "--keep-point-values", "--rules", Repo.Rules, "--json");
        Assert.True(exit == 0, err);
        var r = JsonParser.Default.Parse<V1.CompareAllocationsResponse>(output);
        Assert.True(D(r.B.Budget) > D(r.A.Budget), $"{r.A.Budget} -> {r.B.Budget}");
        Assert.All(r.Quotas.Where(q => q.APointValue.Length > 0 && D(q.APointValue) > 0), q =>
            Assert.True(D(q.BPointValue) >= D(q.APointValue), $"{q.QuotaId}: {q.APointValue} -> {q.BPointValue}"));
        // The binding quota keeps its point value to within the euro the budget was rounded up by.
        var economic = r.Quotas.Single(q => q.QuotaId == "cinema.economic");
        Assert.True(D(economic.BPointValue) - D(economic.APointValue) < 1m, $"{economic.APointValue} -> {economic.BPointValue}");
    }

    [Fact]
    public void Allocate_with_a_reform_of_the_quotas_names_it_and_gives_cinema_its_new_share()
    {
        var file = Path.Combine(Path.GetTempPath(), $"reform-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, "id: cinema-60\ntitle: t\nchanges:\n  - quota: cinema\n    share: 60\n  - quota: tv_web\n    share: 21\n");
        try
        {
            var (exit, output, err) = Run("allocate", Example("year-2023.json"), "--reform", file, "--rules", Repo.Rules, "--json");
            Assert.True(exit == 0, err);
            var r = JsonParser.Default.Parse<V1.AllocationResult>(output);
            Assert.Equal("cinema-60", r.Summary.Reform.Id);
            Assert.Equal("3000000", r.Summary.Quotas.Single(q => q.QuotaId == "cinema.economic").Resources);
            var (_, text, _) = Run("allocate", Example("year-2023.json"), "--reform", file, "--rules", Repo.Rules);
            Assert.Contains("reform cinema-60 applied", text);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Score_with_a_reform_as_json_names_it_by_id_and_content_hash_as_the_server_does()
    {
        var (exit, output, err) = Run("score", Example("first-feature.json"), "--reform", ReformTests.Example("tier-1-4000.yaml"), "--rules", Repo.Rules, "--json");
        Assert.True(exit == 0, err);
        var answer = JsonParser.Default.Parse<V1.ScoreWorkResponse>(output);
        Assert.Equal("tier-1-4000", answer.Reform.Id);
        Assert.Matches("^[0-9a-f]{64}$", answer.Reform.ContentHash);
        Assert.True(answer.Reform.FigureOnly);
        // T1.A.1's first band at EUR 4,000 a point: 1,000,000 / 4,000 = 250 points instead of 200, and what reads them as its base.
        Assert.Equal("932.3333333333", answer.Roles.Single(r => r.Role == V1.Role.Producer).TotalPoints);
        var (_, law, _) = Run("score", Example("first-feature.json"), "--rules", Repo.Rules, "--json");
        var lawAnswer = JsonParser.Default.Parse<V1.ScoreWorkResponse>(law);
        Assert.Null(lawAnswer.Reform);
        Assert.Equal("847.3333333333", lawAnswer.Roles.Single(r => r.Role == V1.Role.Producer).TotalPoints);
    }

    [Fact]
    public void A_reform_naming_an_unknown_figure_is_refused_at_its_own_line()
    {
        var file = Path.Combine(Path.GetTempPath(), $"reform-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, "id: r\ntitle: t\nchanges:\n  - figure: T1.A.1.tier_1_eur_per_pont\n    value: 4000\n");
        try
        {
            var (exit, _, err) = Run("score", Example("first-feature.json"), "--reform", file, "--rules", Repo.Rules);
            Assert.Equal(1, exit);
            Assert.Contains($"{file}:4:", err);
            Assert.Contains("did you mean 'tier_1_eur_per_point'", err);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Score_with_a_figure_only_reform_loads_no_Roslyn_assembly_and_a_structural_one_does()
    {
        using var rules = TempRules.CopyOfRepo();
        var cache = Path.Combine(rules.Root + "-cache", "rules-cache");
        try
        {
            CliProcess.Run(cache, "validate", "--rules", rules.Root); // the law compiled into the cache

            var figures = CliProcess.Run(cache, "score", Example("first-feature.json"), "--reform", ReformTests.Example("tier-1-4000.yaml"), "--rules", rules.Root);
            Assert.Contains("reform tier-1-4000 applied", figures);
            Assert.Contains("figures only: nothing compiled", figures);
            Assert.Contains("tier_1_eur_per_point = 4000 EUR", figures);
            var loaded = Assemblies(figures);
            Assert.Contains("ContributiAutomatici.Engine", loaded);
            Assert.DoesNotContain(loaded, a => a.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal));

            // The check sees Roslyn when it is loaded: a reform that adds a row is compiled.
            var structural = CliProcess.Run(cache, "score", Example("first-feature.json"), "--reform", ReformTests.Example("korea-markets.yaml"), "--rules", rules.Root);
            Assert.Contains(Assemblies(structural), a => a.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal));
        }
        finally
        {
            if (Directory.Exists(rules.Root + "-cache")) Directory.Delete(rules.Root + "-cache", recursive: true);
        }
    }

    private static List<string> Assemblies(string output)
    {
        var names = output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("assembly ", StringComparison.Ordinal))
            .Select(l => l["assembly ".Length..]).ToList();
        Assert.NotEmpty(names);
        return names;
    }
}

/// <summary>The money of a reform's impact report reconciles, whatever the figure (FsCheck).</summary>
public class ReformReportPropertyTests
{
    private static decimal D(string s) => s.Length == 0 ? 0m : decimal.Parse(s, CultureInfo.InvariantCulture);

    [FsCheck.Xunit.Property(MaxTest = 8)]
    public void ReformProperty_QuotaMoneyCompanyChangesAndRowEuroAddUpToWhatTheReportShows(FsCheck.PositiveInt tier)
    {
        var value = 1000 + tier.Get % 30_000;
        var file = Path.Combine(Path.GetTempPath(), $"reform-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, $"id: p\ntitle: t\nchanges:\n  - figure: T1.A.1.tier_1_eur_per_point\n    value: {value}\n");
        try
        {
            var (exit, output, err) = ComparisonCliTests.Run("compare", "--year", ComparisonCliTests.Example("year-2023.json"), "--reform", file,
                "--rules", Repo.Rules, "--json", "--top", "100");
            Assert.True(exit == 0, err);
            var r = JsonParser.Default.Parse<V1.CompareAllocationsResponse>(output);
            // The money each quota gains or loses adds up to the change of what is allocated.
            Assert.Equal(D(r.BAllocated) - D(r.AAllocated), r.Quotas.Sum(q => D(q.BAllocated) - D(q.AAllocated)));
            // Gainers and losers (all of them with --top 100) add up to the net change of the companies' money.
            var net = r.Companies.Sum(c => D(c.Difference));
            Assert.Equal(net, r.Gainers.Sum(c => D(c.Difference)) + r.Losers.Sum(c => D(c.Difference)));
            Assert.All(r.Companies, c => Assert.Equal(D(c.BAmount) - D(c.AAmount), D(c.Difference)));
            // Each row's euro: its points at its quota's point value on each side; the difference is the two as shown.
            var values = r.Quotas.ToDictionary(q => q.QuotaId);
            Assert.All(r.Rows, row =>
            {
                Assert.Equal(Math.Round(D(row.APoints) * D(values[row.QuotaId].APointValue), 2), D(row.AEur), 2);
                Assert.Equal(Math.Round(D(row.BPoints) * D(values[row.QuotaId].BPointValue), 2), D(row.BEur), 2);
                Assert.Equal(D(row.BEur) - D(row.AEur), D(row.EurDifference));
            });
        }
        finally { File.Delete(file); }
    }
}
