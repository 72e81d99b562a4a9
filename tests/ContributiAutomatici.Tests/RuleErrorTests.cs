using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Tests;

/// <summary>
/// Errors an official can read (issue 24, item 7): an expression's error speaks the rule language (rule set, table, row,
/// role, file:line:column, the name at fault and the nearest names), without the compiler's jargon; a folder refused
/// brings no follow-on errors.
/// </summary>
public class RuleErrorTests
{
    private const string T1 = "dm-2021/tabella-1.yaml";
    private const string A1Producer = "producer: \"Tiers(producer_box_office, producer_scale)";
    private const string A2Producer = "points: \"Per(producer_media_sales, eur_per_point)\"";

    /// <summary>The one error at file:line, with no compiler jargon in it.</summary>
    private static RuleError Single(RuleLoadException ex, string file, int line)
    {
        var hits = ex.Errors.Where(e => e.File.EndsWith(file, StringComparison.Ordinal) && e.Line == line).ToList();
        Assert.True(hits.Count == 1, $"expected one error at {file}:{line}, got:\n{ex.Message}");
        foreach (var jargon in new[] { "CS0", "CS1", "using directive", "assembly reference", "current context", "extension method" })
            Assert.DoesNotContain(jargon, hits[0].Message, StringComparison.Ordinal);
        return hits[0];
    }

    /// <summary>1-based column of a text on a line of a file.</summary>
    private static int ColumnOf(TempRules t, string file, int line, string text) =>
        File.ReadAllLines(t.File_(file))[line - 1].IndexOf(text, StringComparison.Ordinal) + 1;

    [Fact]
    public void A_misspelt_member_names_the_rule_set_table_row_role_column_and_the_member_meant()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, A1Producer, A1Producer.Replace("producer_box_office", "Work.BoxOfficeTotl"));
        var ex = t.LoadFails();
        var line = t.LineOf(T1, "Work.BoxOfficeTotl");
        var e = Single(ex, T1, line);
        Assert.Equal(ColumnOf(t, T1, line, "BoxOfficeTotl"), e.Column);
        Assert.Equal("rule set dm-2021, table T1, row T1.A.1 (producer) points: Work has no member 'BoxOfficeTotl'; did you mean Work.BoxOfficeTotal?",
            e.Message);
        Assert.EndsWith($"{T1}:{line}:{e.Column}: {e.Message}", e.ToString(), StringComparison.Ordinal);
        // Nothing else: the overlay of the refused version is not refused for it again.
        Assert.Single(ex.Errors);
    }

    [Fact]
    public void A_misspelt_figure_suggests_the_row_s_figure_even_one_the_expression_no_longer_names()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, A1Producer, A1Producer.Replace("producer_scale", "(tier_1_up_to, tier_1_eur_per_pont)"));
        var ex = t.LoadFails();
        var line = t.LineOf(T1, "tier_1_eur_per_pont");
        var e = Single(ex, T1, line);
        Assert.Equal(ColumnOf(t, T1, line, "tier_1_eur_per_pont"), e.Column);
        Assert.Equal("rule set dm-2021, table T1, row T1.A.1 (producer) points: unknown name 'tier_1_eur_per_pont'; did you mean tier_1_eur_per_point?",
            e.Message);
    }

    [Fact]
    public void A_model_member_written_without_its_receiver_suggests_it_with_the_receiver()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, A2Producer, "points: \"Per(MediaSalesTotal, eur_per_point)\"");
        var ex = t.LoadFails();
        var e = Single(ex, T1, t.LineOf(T1, "Per(MediaSalesTotal"));
        Assert.Equal("rule set dm-2021, table T1, row T1.A.2 (producer) points: unknown name 'MediaSalesTotal'; did you mean Work.MediaSalesTotal?", e.Message);
    }

    [Fact]
    public void A_misspelt_enum_value_and_a_member_of_a_list_entry_suggest_theirs()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, A2Producer,
            "points: \"Work.Kind == WorkKind.Cinma && Work.MediaSales.Any(s => s.Amunt > 0) ? eur_per_point : 0\"");
        var ex = t.LoadFails();
        var line = t.LineOf(T1, "WorkKind.Cinma");
        Assert.Equal(2, ex.Errors.Count(e => e.Line == line));
        Assert.Contains(ex.Errors, e => e.Line == line && e.Column == ColumnOf(t, T1, line, "Cinma") &&
                                        e.Message.EndsWith("WorkKind has no member 'Cinma'; did you mean WorkKind.Cinema?", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Line == line && e.Column == ColumnOf(t, T1, line, "Amunt") &&
                                        e.Message.EndsWith("s (MediaSale) has no member 'Amunt'; did you mean s.Amount?", StringComparison.Ordinal));
    }

    [Fact]
    public void A_helper_given_the_wrong_values_names_the_helper_and_what_it_takes()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, A2Producer, "points: \"Per(Work.MediaSalesTotal, eur_per_point, 2)\"");
        t.Replace(T1, "points: \"Per(Work.ForeignSalesTotal, eur_per_point)\"", "points: \"Per(Work.ForeignSalesTotal, \\\"5000\\\")\"");
        var ex = t.LoadFails();
        Assert.EndsWith("row T1.A.2 (producer) points: Per does not take 3 value(s): Per(amount, unit)",
            Single(ex, T1, t.LineOf(T1, "eur_per_point, 2)")).Message, StringComparison.Ordinal);
        Assert.EndsWith("row T1.A.3 (producer) points: value 2 of Per must be a number (decimal), not text (string)",
            Single(ex, T1, t.LineOf(T1, "\\\"5000\\\"")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_condition_that_gives_a_number_and_points_that_give_true_or_false_are_said_so()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "when: \"Within(Work.FirstReleaseDate, summer_from, summer_to)\"", "when: 'Work.BoxOfficeTotal'");
        t.Replace(T1, A2Producer, "points: \"Work.MediaSalesTotal > eur_per_point\"");
        var ex = t.LoadFails();
        var when = t.LineOf(T1, "when: 'Work.BoxOfficeTotal'");
        var e = Single(ex, T1, when);
        Assert.Equal(ColumnOf(t, T1, when, "Work.BoxOfficeTotal"), e.Column);
        Assert.Equal("rule set dm-2021, table T1, row T1.A.1.estivo 'when': a condition must be true or false; this expression gives a number (decimal)", e.Message);
        Assert.EndsWith("row T1.A.2 (producer) points: points must be a number; this expression gives true or false (bool)",
            Single(ex, T1, t.LineOf(T1, "Work.MediaSalesTotal > eur_per_point")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_error_on_a_later_line_of_a_block_expression_has_that_line_and_its_column()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "points: \"Per(Work.ForeignSalesTotal, eur_per_point)\"",
            "points: |\n          Per(Work.ForeignSalesTotal,\n              eur_per_piont)");
        var ex = t.LoadFails();
        var line = t.LineOf(T1, "eur_per_piont)");
        var e = Single(ex, T1, line);
        Assert.Equal(15, e.Column);
        Assert.EndsWith("row T1.A.3 (producer) points: unknown name 'eur_per_piont'; did you mean eur_per_point?", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_field_typo_in_a_version_brings_no_error_about_its_overlay()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "        label: \"Fondi bilaterali\"", "        lable: \"Fondi bilaterali\"");
        var ex = t.LoadFails();
        Assert.All(ex.Errors, e => Assert.EndsWith(T1, e.File, StringComparison.Ordinal));
        Assert.DoesNotContain(ex.Errors, e => e.Message.Contains("not loaded", StringComparison.Ordinal));
    }

    [Fact]
    public void An_overlay_refused_alone_is_reported_once_not_again_for_each_combination_with_another_overlay()
    {
        using var t = TempRules.CopyOfRepo();
        Directory.CreateDirectory(t.File_("zz-extra"));
        File.WriteAllText(t.File_("zz-extra/ruleset.yaml"), """
            id: zz-extra
            title: "another overlay"
            kind: overlay
            patches: dm-2021
            on_by_default: false
            in_force: { from: 2021-07-15 }
            window: { from: 2020-02-23, to: 2022-03-31 }
            rows:
              - disable: T1.B.7
                cite: "art. 17"
            """);
        const string Covid = "covid-19/ruleset.yaml";
        t.Replace(Covid, "producer: \"increment * TiersInWindow(Work.BoxOffice,", "producer: \"increment * TiersInWindow(Work.BoxOfice,");
        var ex = t.LoadFails();
        var e = Assert.Single(ex.Errors);
        Assert.EndsWith(Covid, e.File, StringComparison.Ordinal);
        Assert.Equal(t.LineOf(Covid, "Work.BoxOfice"), e.Line);
        Assert.StartsWith("rule set dm-2021+covid-19, table T1, row T1.A.1.covid (producer) points: Work has no member 'BoxOfice'; did you mean Work.BoxOffice?",
            e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_overlay_of_a_version_that_does_not_exist_is_still_refused_when_another_folder_fails()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "        label: \"Fondi bilaterali\"", "        lable: \"Fondi bilaterali\"");
        t.Replace("covid-19/ruleset.yaml", "patches: dm-2021", "patches: dm-2099");
        var ex = t.LoadFails();
        Assert.Contains(ex.Errors, e => e.File.EndsWith("covid-19/ruleset.yaml", StringComparison.Ordinal) &&
                                        e.Message.Contains("patches 'dm-2099', which is not loaded", StringComparison.Ordinal));
    }
}
