using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Tests;

/// <summary>A broken rule file is refused with its file and line, and nothing is loaded.</summary>
public class RuleLoadingTests
{
    private const string T1 = "dm-2021/tabella-1.yaml";

    private static void AssertError(RuleLoadException ex, string file, int line, string contains)
    {
        var hit = ex.Errors.FirstOrDefault(e => e.File.EndsWith(file, StringComparison.Ordinal) && e.Line == line);
        Assert.True(hit is not null, $"expected an error at {file}:{line}, got:\n{ex.Message}");
        Assert.Contains(contains, hit!.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Repository_rules_load_and_every_table_of_DM_2021_is_there()
    {
        var rs = Repo.Catalog.Find("dm-2021");
        Assert.NotNull(rs);
        Assert.Equal(["T1", "T2", "T3", "T4", "T5"], rs!.Definition.Tables.Select(t => t.Id));
        Assert.Equal(["festivals", "prizes", "markets", "coproduction_agreements", "coproduction_conventions", "oda_recipients"],
            rs.Definition.Lists.Select(l => l.Kind));
        Assert.Equal(64, rs.ContentHash.Length);
        Assert.Same(rs, Repo.Catalog.ForApplicationYear(2022));
        Assert.Equal("dm-2017", Repo.Catalog.ForApplicationYear(2019)?.Id);
        Assert.Null(Repo.Catalog.ForApplicationYear(2016));
    }

    [Fact]
    public void Unknown_field_is_refused_with_its_line()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "        label: \"Fondi bilaterali\"", "        lable: \"Fondi bilaterali\"");
        var ex = t.LoadFails();
        AssertError(ex, T1, t.LineOf(T1, "lable:"), "unknown field 'lable'");
    }

    [Fact]
    public void Duplicate_row_id_is_refused()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "id: T1.B.4", "id: T1.B.3");
        var ex = t.LoadFails();
        var line = File.ReadAllLines(t.File_(T1)).Select((l, i) => (l, i)).Where(x => x.l.Contains("id: T1.B.3")).Skip(1).First().i + 1;
        AssertError(ex, T1, line, "duplicate row id 'T1.B.3'");
    }

    [Fact]
    public void Expression_that_does_not_compile_is_refused_with_the_rule_line()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "points: \"Per(Work.ForeignSalesTotal, eur_per_point)\"", "points: \"Per(Work.ForeignSalesTotl, eur_per_point)\"");
        var ex = t.LoadFails();
        AssertError(ex, T1, t.LineOf(T1, "ForeignSalesTotl"), "ForeignSalesTotl");
    }

    [Fact]
    public void Double_literal_where_a_decimal_is_needed_is_refused()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "producer: \"Base * increment\"", "producer: \"Base * 0.50\"");
        var ex = t.LoadFails();
        AssertError(ex, T1, t.LineOf(T1, "Base * 0.50\""), "decimal");
    }

    [Fact]
    public void Reference_to_a_list_entry_that_does_not_exist_is_refused()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "prizes: \"academy-award\")'", "prizes: \"academy-awards\")'");
        var ex = t.LoadFails();
        AssertError(ex, T1, t.LineOf(T1, "academy-awards"), "'academy-awards' is not an id nor a group of the prizes list");
    }

    [Fact]
    public void Reference_to_a_festival_list_that_does_not_exist_is_refused()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "\"tutte_le_opere, documentari\", Participation, producer_points", "\"tutte_le_opere, documentary\", Participation, producer_points");
        var ex = t.LoadFails();
        AssertError(ex, T1, t.LineOf(T1, "documentary\""), "'documentary' is not a category of the festivals list");
    }

    [Fact]
    public void A_day_of_the_year_that_does_not_exist_is_refused()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "\"08-31\"", "\"08-32\"");
        var ex = t.LoadFails();
        AssertError(ex, T1, t.LineOf(T1, "08-32"), "a month-day figure is a day of the year \"MM-dd\"");
    }

    [Fact]
    public void A_day_of_the_year_written_in_an_expression_must_be_a_constant_that_exists()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "when: \"Within(Work.FirstReleaseDate, summer_from, summer_to)\"", "when: 'Within(Work.FirstReleaseDate, \"06-01\", \"08-32\")'");
        var ex = t.LoadFails();
        AssertError(ex, T1, t.LineOf(T1, "08-32"), "must be a constant day of the year");
    }

    [Fact]
    public void Quota_that_does_not_exist_is_refused()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "quota: cinema.cultural", "quota: cinema.culture");
        var ex = t.LoadFails();
        Assert.Contains(ex.Errors, e => e.File.EndsWith(T1, StringComparison.Ordinal) && e.Message.Contains("quota 'cinema.culture' does not exist"));
    }

    [Fact]
    public void Base_must_name_an_earlier_row()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "base: T1.A.1\n        figures:\n          summer_from:", "base: T1.A.9\n        figures:\n          summer_from:");
        var ex = t.LoadFails();
        Assert.Contains(ex.Errors, e => e.Message.Contains("base 'T1.A.9' matches no earlier row"));
    }

    [Fact]
    public void Yaml_syntax_error_names_the_line()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "  - id: T1.B.12", "  - id: [T1.B.12");
        var ex = t.LoadFails();
        Assert.Contains(ex.Errors, e => e.File.EndsWith(T1, StringComparison.Ordinal) && e.Message.Contains("YAML syntax error"));
    }

    [Fact]
    public void One_broken_file_loads_nothing_and_every_error_is_reported()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "Work.FemaleDirector\"", "Work.FemaleDirectr\"");
        t.Replace(T1, "Work.ItalianComposers\"", "Work.ItalianComposer\"");
        var ex = t.LoadFails();
        Assert.Equal(2, ex.Errors.Count);
        Assert.All(ex.Errors, e => Assert.Matches(@"tabella-1\.yaml:\d+:\d+: rule set dm-2021, table T1, row T1\.\S+ 'when': Work has no member", e.ToString()));
    }

    [Fact]
    public void Warm_start_takes_the_compiled_rules_from_the_cache_keyed_by_content()
    {
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var cache = Path.Combine(t.Root, "cache");
        var cold = RuleCatalog.Load(t.Root, new RuleCompileOptions { CacheDirectory = cache }).RuleSets[0];
        var warm = RuleCatalog.Load(t.Root, new RuleCompileOptions { CacheDirectory = cache }).RuleSets[0];
        Assert.Equal(CompileSource.Compiled, cold.Source);
        Assert.Equal(CompileSource.Cache, warm.Source);
        Assert.Equal(cold.ContentHash, warm.ContentHash);

        t.Replace("test-set/t.yaml", "1_000", "2_000");
        var changed = RuleCatalog.Load(t.Root, new RuleCompileOptions { CacheDirectory = cache }).RuleSets[0];
        Assert.Equal(CompileSource.Compiled, changed.Source);
        Assert.NotEqual(cold.ContentHash, changed.ContentHash);
        var work = new Engine.Model.Work { BoxOffice = [new(new DateOnly(2022, 1, 1), 10_000m)] };
        Assert.Equal(10m, warm.Score(work, [new(Engine.Model.Role.Producer)]).Roles[0].TotalPoints);
        Assert.Equal(5m, changed.Score(work, [new(Engine.Model.Role.Producer)]).Roles[0].TotalPoints);
    }

    [Fact]
    public void YAML_nested_200000_levels_deep_is_refused_with_its_line_not_a_stack_overflow()
    {
        using var t = TempRules.WithRow("1");
        File.WriteAllText(Path.Combine(t.Set, "t.yaml"), "table: T\ntitle: \"t\"\nsections: " + new string('[', 200_000) + new string(']', 200_000) + "\n");
        var e = Assert.Single(t.LoadFails().Errors);
        Assert.Equal(3, e.Line);
        Assert.Contains("YAML nested more than 64 levels deep", e.Message);
    }

    [Theory]
    [InlineData("id: test-set", "id: ../../../tmp/evil", "id must be lowercase letters")]
    [InlineData("tables: [t.yaml]", "tables: [../../../../etc/passwd]", "is not a file name of this rule set's folder")]
    public void A_rule_set_id_or_file_name_that_is_a_path_is_refused(string from, string to, string expected)
    {
        using var t = TempRules.WithRow("1");
        t.Replace("test-set/ruleset.yaml", from, to);
        var e = Assert.Single(t.LoadFails().Errors);
        Assert.EndsWith("ruleset.yaml", e.File);
        Assert.Contains(expected, e.Message);
    }
}
