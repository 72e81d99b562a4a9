using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Protocol;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>Decree versions and overlays as data: resolution by year, and what is refused at load with its file and line.</summary>
public class VersionTests
{
    private const string Covid = "covid-19/ruleset.yaml";

    // The repository's rule sets compile once into this cache; each planted error below is a parse or check error.
    private static readonly string Cache = Path.Combine(Path.GetTempPath(), "contributi-tests-cache-" + Environment.ProcessId);

    private static void AssertError(RuleLoadException ex, string file, int line, string contains)
    {
        var hit = ex.Errors.FirstOrDefault(e => e.File.EndsWith(file, StringComparison.Ordinal) && e.Line == line);
        Assert.True(hit is not null, $"expected an error at {file}:{line}, got:\n{ex.Message}");
        Assert.Contains(contains, hit!.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(2017, "dm-2017")]
    [InlineData(2018, "dm-2017")]
    [InlineData(2019, "dm-2017")]
    [InlineData(2020, "dm-2021")]
    [InlineData(2024, "dm-2021")]
    public void An_application_year_resolves_to_the_version_in_force(int year, string version)
    {
        var rs = RequestMapper.Resolve(new V1.ScoreWorkRequest { ApplicationYear = year, WithoutOverlays = { "*" } }, Repo.Catalog);
        Assert.Equal(version, rs.Id);
    }

    [Fact]
    public void A_year_no_version_governs_is_not_found_naming_the_governed_years()
    {
        var ex = Assert.Throws<RuleSetNotFoundException>(() => RequestMapper.Resolve(new V1.ScoreWorkRequest { ApplicationYear = 2016 }, Repo.Catalog));
        Assert.Contains("2016", ex.Message);
        Assert.Contains("2017-2019 by dm-2017", ex.Message);
        Assert.Contains("2020- by dm-2021", ex.Message);
    }

    [Fact]
    public void An_application_year_given_as_0_is_a_wrong_year_not_an_absent_one()
    {
        var ex = Assert.Throws<InvalidRequestException>(() => RequestMapper.Resolve(new V1.ScoreWorkRequest { ApplicationYear = 0 }, Repo.Catalog));
        Assert.Equal("application_year", Assert.Single(ex.Errors).Field);
        var absent = Assert.Throws<InvalidRequestException>(() => RequestMapper.Resolve(new V1.ScoreWorkRequest(), Repo.Catalog));
        Assert.Equal("rule_set_id", Assert.Single(absent.Errors).Field);
    }

    [Fact]
    public void The_Covid_overlay_is_on_by_default_and_can_be_left_off_or_named_wrong()
    {
        Assert.Equal("dm-2021+covid-19", RequestMapper.Resolve(new V1.ScoreWorkRequest { RuleSetId = "dm-2021" }, Repo.Catalog).Id);
        Assert.Equal("dm-2021", RequestMapper.Resolve(new V1.ScoreWorkRequest { RuleSetId = "dm-2021", WithoutOverlays = { "covid-19" } }, Repo.Catalog).Id);
        var bad = Assert.Throws<InvalidRequestException>(() =>
            RequestMapper.Resolve(new V1.ScoreWorkRequest { RuleSetId = "dm-2021", WithOverlays = { "covid-20" } }, Repo.Catalog));
        Assert.Equal("with_overlays", Assert.Single(bad.Errors).Field);
    }

    [Fact]
    public void The_same_film_scores_differently_under_DM_2017_and_DM_2021_and_DM_2017_lists_its_provisional_rows()
    {
        var request = Google.Protobuf.JsonParser.Default.Parse<V1.ScoreWorkRequest>(File.ReadAllText(Path.Combine(Repo.Root, "examples", "first-feature.json")));
        var c = Comparisons.CompareWork(new V1.CompareWorksRequest
        {
            A = new V1.RuleSetRef { RuleSetId = "dm-2017" }, B = new V1.RuleSetRef { RuleSetId = "dm-2021", WithoutOverlays = { "*" } },
            Work = request.Work, Roles = { request.Roles },
        }, Repo.Catalog);

        var producer = c.Roles.Single(r => r.Role == V1.Role.Producer);
        Assert.NotEqual(producer.ATotal, producer.BTotal);
        Assert.NotEmpty(producer.Rows);
        Assert.Contains("T1.A.1", c.AProvisionalRows);
        Assert.Empty(c.BProvisionalRows);
        // DM 2021 scores 847.3333 for the producer (README); DM 2017, without the increments, less.
        Assert.Equal(847.3333m, Math.Round(decimal.Parse(producer.BTotal, System.Globalization.CultureInfo.InvariantCulture), 4));
    }

    [Fact]
    public void ListRuleSets_counts_each_versions_rows_by_provenance()
    {
        var dm2017 = ResponseMapper.Summary(Repo.Catalog.Find("dm-2017")!, Repo.Catalog);
        Assert.Equal(0, dm2017.SourcedRows);
        Assert.Equal(44, dm2017.ProvisionalRows);
        Assert.Equal(2, dm2017.MissingRows);
        var dm2021 = ResponseMapper.Summary(Repo.Catalog.Find("dm-2021")!, Repo.Catalog);
        Assert.Equal(126, dm2021.SourcedRows);
        Assert.Equal("dm-2017", dm2021.Supersedes);
        Assert.Equal(["covid-19"], dm2021.Overlays);
    }

    [Fact]
    public void Two_versions_governing_the_same_year_are_refused_at_the_later_ones_application_years()
    {
        using var t = TempRules.CopyOfRepo();
        Directory.CreateDirectory(t.File_("dm-2021-bis"));
        foreach (var f in Directory.GetFiles(t.File_("dm-2021"))) File.Copy(f, Path.Combine(t.File_("dm-2021-bis"), Path.GetFileName(f)));
        t.Replace("dm-2021-bis/ruleset.yaml", "id: dm-2021", "id: dm-2021-bis");
        t.Replace("dm-2021-bis/ruleset.yaml", "  from: 2020 ", "  from: 2023 ");
        var ex = t.LoadFails(Cache);
        AssertError(ex, "dm-2021-bis/ruleset.yaml", t.LineOf("dm-2021-bis/ruleset.yaml", "application_years:") + 1,
            "overlap dm-2021's 2020-");
    }

    [Fact]
    public void An_overlay_of_a_version_that_is_not_loaded_is_refused_at_its_patches_line()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(Covid, "patches: dm-2021", "patches: dm-2099");
        var ex = t.LoadFails(Cache);
        AssertError(ex, Covid, t.LineOf(Covid, "patches: dm-2099"), "patches 'dm-2099', which is not loaded");
    }

    [Fact]
    public void A_patch_of_a_row_that_does_not_exist_is_refused_at_the_patch()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(Covid, "- patch: T4.A.1", "- patch: T4.A.99");
        var ex = t.LoadFails(Cache);
        AssertError(ex, Covid, t.LineOf(Covid, "- patch: T4.A.99"), "patches row T4.A.99, which dm-2021 does not have");
    }

    [Fact]
    public void A_patch_of_a_figure_the_row_does_not_have_is_refused_at_the_patch()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(Covid, "      eur_per_point: { value: 1000, unit: EUR, cite: \"1 punto ogni 1.000 euro\" }", "      eur_per_punto: { value: 1000, unit: EUR, cite: \"1 punto ogni 1.000 euro\" }");
        var ex = t.LoadFails(Cache);
        AssertError(ex, Covid, t.LineOf(Covid, "- patch: T4.A.1"), "figure eur_per_punto of row T4.A.1");
    }

    [Theory]
    [InlineData("  to: 2022-03-31", "  to: 2022-02-30", "must be a date")]
    [InlineData("  to: 2022-03-31", "  to: 2019-03-31", "before 'from'")]
    public void A_broken_window_is_refused_at_its_line(string from, string to, string message)
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(Covid, from, to);
        var ex = t.LoadFails(Cache);
        var line = message == "must be a date" ? t.LineOf(Covid, to.Trim()) : t.LineOf(Covid, "  from: 2020-02-23");
        AssertError(ex, Covid, line, message);
    }
}
