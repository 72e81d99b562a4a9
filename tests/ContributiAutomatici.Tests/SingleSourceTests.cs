using System.Globalization;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Cli;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>
/// Rules as the single source of truth (issue 24): an edit of a row applies with the overlays on and off, figures are
/// defined once and referred to by path, and what would define one twice, name nothing, or read a figure wrong is refused
/// at load with its file and line.
/// </summary>
public class SingleSourceTests
{
    private const string T1 = "dm-2021/tabella-1.yaml";
    private const string Covid = "covid-19/ruleset.yaml";

    /// <summary>The CLI in-process, without the compiled-rules cache.</summary>
    internal static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var exit = Program.Run([.. args, "--no-cache"], o, e);
        return (exit, o.ToString(), e.ToString());
    }

    /// <summary>
    /// The one error in <paramref name="file"/>; no other file's but, at most, an overlay's note that the version it patches was
    /// refused (the refused folder's errors are the only ones that matter).
    /// </summary>
    private static Engine.Rules.RuleError Only(Engine.Rules.RuleLoadException ex, string file)
    {
        var mine = ex.Errors.Where(e => e.File.EndsWith(file, StringComparison.Ordinal)).ToList();
        Assert.True(mine.Count == 1, ex.Message);
        Assert.True(ex.Errors.All(e => e.File.EndsWith(file, StringComparison.Ordinal) || e.Message.Contains("not loaded", StringComparison.Ordinal)), ex.Message);
        return mine[0];
    }

    /// <summary>
    /// A first feature released on 10 July 2021, inside the art. 17 window: EUR 1.5M of box office on 31 July 2021 and EUR
    /// 0.9M on 30 September 2021, production cost EUR 3M.
    /// </summary>
    private static string WorkInTheWindow(string dir, bool overlayOff)
    {
        var request = new V1.ScoreWorkRequest
        {
            RuleSetId = "dm-2021",
            Work = new V1.Work
            {
                Id = "in-the-window", Title = "Un film uscito nella finestra", Kind = V1.WorkKind.Cinema, ProductionCost = "3000000",
                FirstReleaseDate = new() { Year = 2021, Month = 7, Day = 10 },
                BoxOffice =
                {
                    new V1.DatedAmount { Date = new() { Year = 2021, Month = 7, Day = 31 }, Amount = "1500000" },
                    new V1.DatedAmount { Date = new() { Year = 2021, Month = 9, Day = 30 }, Amount = "900000" },
                },
            },
            Roles = { new V1.RoleInput { Role = V1.Role.Producer } },
        };
        if (overlayOff) request.WithoutOverlays.Add("*");
        var path = Path.Combine(dir, overlayOff ? "work-off.json" : "work-on.json");
        File.WriteAllText(path, JsonFormatter.Default.Format(request));
        return path;
    }

    private static Dictionary<string, decimal> ProducerLines(string rules, string workFile)
    {
        var (exit, output, err) = Run("score", workFile, "--rules", rules, "--json");
        Assert.True(exit == 0, err);
        var response = JsonParser.Default.Parse<V1.ScoreWorkResponse>(output);
        return response.Roles.Single(r => r.Role == V1.Role.Producer).Quotas.SelectMany(q => q.Lines)
            .ToDictionary(l => l.RowId, l => decimal.Parse(l.Points, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void An_edit_of_T1_A_1s_tier_applies_to_the_row_and_to_the_Covid_increment_with_the_overlay_on_and_off()
    {
        using var t = TempRules.CopyOfRepo();
        var on = WorkInTheWindow(t.Root, overlayOff: false);
        var off = WorkInTheWindow(t.Root, overlayOff: true);
        var before = ProducerLines(t.Root, on);
        Assert.Equal(386.6667m, Math.Round(before["T1.A.1"], 4));
        Assert.Equal(386.6667m, Math.Round(before["T1.A.1.covid"], 4));

        t.Replace(T1, "tier_1_eur_per_point: { value: 5000,", "tier_1_eur_per_point: { value: 4000,");
        var withOverlay = ProducerLines(t.Root, on);
        var without = ProducerLines(t.Root, off);
        // 1,000,000 / 4,000 + 1,400,000 / 7,500 = 250 + 186.67; the +100% of art. 17.2.a reads the same tiers by name.
        Assert.Equal(436.6667m, Math.Round(withOverlay["T1.A.1"], 4));
        Assert.Equal(436.6667m, Math.Round(withOverlay["T1.A.1.covid"], 4));
        Assert.Equal(436.6667m, Math.Round(without["T1.A.1"], 4));
        Assert.False(without.ContainsKey("T1.A.1.covid"));
    }

    [Fact]
    public void The_summer_window_is_two_figures_of_T1_A_1_estivo_that_Tabella_3_reads_by_name_and_an_edit_applies()
    {
        var dm2021 = Repo.Catalog.Find("dm-2021")!.Definition;
        var summer = dm2021.Tables.SelectMany(x => x.Rows).Single(r => r.Id == "T1.A.1.estivo").Figures.Where(f => f.Unit == "month-day").ToList();
        Assert.Equal(["summer_from = 06-01 month-day", "summer_to = 08-31 month-day"], summer.Select(f => f.ToString()));
        var t3 = dm2021.Tables.SelectMany(x => x.Rows).Single(r => r.Id == "T3.A.1.estivo").Figures.Where(f => f.Unit == "month-day").ToList();
        Assert.Equal(["T1.A.1.estivo.summer_from", "T1.A.1.estivo.summer_to"], t3.Select(f => f.Ref));

        using var t = TempRules.CopyOfRepo();
        var on = WorkInTheWindow(t.Root, overlayOff: false);
        // Released on 10 July: a summer release, +50% of the box-office points.
        Assert.Equal(193.3333m, Math.Round(ProducerLines(t.Root, on)["T1.A.1.estivo"], 4));
        t.Replace(T1, "summer_to: { value: \"08-31\"", "summer_to: { value: \"07-05\"");
        Assert.False(ProducerLines(t.Root, on).ContainsKey("T1.A.1.estivo"));
        t.Replace(T1, "summer_to: { value: \"07-05\"", "summer_to: { value: \"07-32\"");
        var error = Only(t.LoadFails(), T1);
        Assert.Contains("a month-day figure is a day of the year \"MM-dd\"", error.Message);
    }

    [Fact]
    public void A_1s_tier_scales_are_data_that_the_rows_hand_to_Tiers_by_name_and_the_Covid_row_reads_with_their_bands()
    {
        var rows = Repo.Catalog.Find("dm-2021")!.Definition.Tables.SelectMany(x => x.Rows).ToList();
        var a1 = rows.Single(r => r.Id == "T1.A.1");
        Assert.Equal("scale (tier_1_up_to, tier_1_eur_per_point), (tier_2_up_to, tier_2_eur_per_point), (tier_3_up_to, tier_3_eur_per_point)",
            a1.Figures.Single(f => f.Name == "producer_scale").Shown);
        Assert.Equal("Tiers(producer_box_office, producer_scale)", a1.Cells.Single(c => c.Role == Engine.Model.Role.Producer).Points.Text);
        // No expression of any rule set spells a band out.
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Repo.Root, "rules"), "*.yaml", SearchOption.AllDirectories))
            Assert.DoesNotContain("(tier_1_up_to, tier_1_eur_per_point)", File.ReadAllText(file));
        // The Covid-19 row names the two scales; their bands come with them, read from T1.A.1.
        var covid = Repo.Catalog.Find("dm-2021+covid-19")!.Definition.Tables.SelectMany(x => x.Rows).Single(r => r.Id == "T1.A.1.covid");
        Assert.Equal("T1.A.1.producer_scale", covid.Figures.Single(f => f.Name == "producer_scale").Ref);
        Assert.Equal("T1.A.1.tier_3_eur_per_point", covid.Figures.Single(f => f.Name == "tier_3_eur_per_point").Ref);
        Assert.Equal(10000m, covid.Figures.Single(f => f.Name == "tier_3_eur_per_point").Value);
    }

    [Theory]
    [InlineData("[tier_2_up_to, tier_2_eur_per_point], [tier_1_up_to, tier_1_eur_per_point]", "tier_1_up_to = 1000000 is not above the band below it (3000000); bands rise")]
    [InlineData("[tier_1_up_to, tier_1_eur_per_pont]", "names tier_1_eur_per_pont, which is not a figure of the row; did you mean 'tier_1_eur_per_point'?")]
    [InlineData("[tier_1_up_to]", "each band of the scale producer_scale is a pair of the row's figures")]
    public void A_scale_that_could_not_be_applied_as_written_is_refused_at_its_line(string bands, string message)
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "scale: [[tier_1_up_to, tier_1_eur_per_point], [tier_2_up_to, tier_2_eur_per_point],", "scale: [" + bands + ",");
        var ex = t.LoadFails();
        Assert.Contains(ex.Errors, e => e.File.EndsWith(T1, StringComparison.Ordinal) && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Doubling_T1_A_1s_producer_expression_doubles_it_with_the_default_request_and_with_the_overlay_off()
    {
        using var t = TempRules.CopyOfRepo();
        var on = WorkInTheWindow(t.Root, overlayOff: false);
        var off = WorkInTheWindow(t.Root, overlayOff: true);
        var (beforeOn, beforeOff) = (ProducerLines(t.Root, on)["T1.A.1"], ProducerLines(t.Root, off)["T1.A.1"]);
        t.Replace(T1, "producer: \"Tiers(producer_box_office,", "producer: \"2 * Tiers(producer_box_office,");
        // The response carries 10 decimals: doubled before or after that rounding, the same to 9.
        Assert.Equal(Math.Round(2 * beforeOn, 9), Math.Round(ProducerLines(t.Root, on)["T1.A.1"], 9));
        Assert.Equal(Math.Round(2 * beforeOff, 9), Math.Round(ProducerLines(t.Root, off)["T1.A.1"], 9));
    }

    [Fact]
    public void The_Covid_overlay_changes_the_quantities_Tabella_1_reads_and_diff_says_which_rows_read_them()
    {
        var (exit, output, err) = Run("diff", "dm-2021~covid-19", "dm-2021+covid-19", "--rules", Repo.Rules);
        Assert.True(exit == 0, err);
        Assert.Contains("~ quantity producer_box_office: Work.BoxOfficeTotal -> (Work.BoxOfficeTotal) + (derogation_revenue) [covid-19, 2020-02-23..2022-03-31]", output);
        Assert.Contains("read by T1.A.1, T1.A.1.rapporto", output);
        Assert.Contains("~ quantity producer_media_sales:", output);
        // No row of Tabella 1 is replaced: the overlay adds its rows and changes figures and quantities only.
        Assert.DoesNotContain("replaced", output);
    }

    [Fact]
    public void Plan_shows_a_row_under_each_overlay_combination_with_its_quantities_and_each_figure_s_origin()
    {
        var (exit, output, err) = Run("plan", "dm-2021", "T1.A.1", "T1.A.1.covid", "--rules", Repo.Rules);
        Assert.True(exit == 0, err);
        Assert.Contains("  under dm-2021~covid-19 (sha256 ", output);
        Assert.Contains("  under dm-2021+covid-19 (sha256 ", output);
        Assert.Contains("      + derogation_revenue   [covid-19: art. 17.1, results dated 2020-02-23..2022-03-31]", output);
        Assert.Matches(@"figure tier_1_eur_per_point = 5000 EUR  ""1 punto ogni € 5\.000""  defined at dm-2021/tabella-1\.yaml:\d+; slot \d+", output);
        Assert.Matches(@"figure tier_1_up_to = 1000000 EUR  .*read by path from T1\.A\.1\.tier_1_up_to \(defined at dm-2021/tabella-1\.yaml:\d+\); slot \d+", output);
        Assert.Contains("T1.A.1.covid", output);
        Assert.Contains("  under dm-2021~covid-19: not a row", output);
        // The typed plan: each cell's place, its quota slot, whether it is read as a base, what its points are handed; a scale
        // shown as its bands, not as a value.
        Assert.Matches(@"cell 0 \(producer\): adds into quota cinema\.economic \(slot \d+\), read as a base by a later cell; its points are handed producer_scale, producer_box_office", output);
        Assert.Contains("figure producer_scale = the scale of (tier_1_up_to, tier_1_eur_per_point), (tier_2_up_to, tier_2_eur_per_point), (tier_3_up_to, tier_3_eur_per_point)", output);
        Assert.Contains("built from its bands' slots", output);
    }

    [Fact]
    public void The_typed_plan_places_every_cell_once_and_a_figure_edit_keeps_its_shape()
    {
        foreach (var rs in Repo.Catalog.RuleSets)
        {
            var plan = rs.Plan;
            // Every cell in exactly one row of one section of one table, in evaluation order; each block's roles are its cells'.
            var walked = plan.Tables.SelectMany(t => t.Sections).SelectMany(s => s.Rows).SelectMany(r => r.Cells).Select(c => c.Info.Index).ToList();
            Assert.Equal(Enumerable.Range(0, plan.Cells.Count), walked);
            Assert.Equal(Enumerable.Range(0, plan.Cells.Count), plan.PlanCells.Select(c => c.Info.Index));
            foreach (var t in plan.Tables)
            {
                Assert.Equal(t.Sections.SelectMany(s => s.Rows).SelectMany(r => r.Cells).Aggregate(0, (m, c) => m | 1 << (int)c.Info.Role), t.RoleMask);
                // The totals path zeroes, of a block that does not apply, only the base cells read outside it.
                Assert.All(t.Skips.SelectMany(k => k.ReadOutside), c => Assert.True(c.IsBase));
            }
            // A cell adds into its role's slot of its quota.
            Assert.All(plan.Rows.SelectMany(r => r.Cells), c =>
                Assert.Equal((int)c.Info.Role * plan.QuotaIds.Count + plan.QuotaIds.ToList().IndexOf(c.Info.QuotaId), c.QuotaSlot));
            // The figure table is the slots' values, and the slots are numbered in order.
            Assert.Equal(plan.Figures.Select(f => f.Figure.Value), plan.FigureValues());
            Assert.Equal(Enumerable.Range(0, plan.Figures.Count), plan.Figures.Select(f => f.Index));
        }
        // A figure's value changed: the same shape (the compiled class takes the new table); a figure renamed: another shape.
        var law = Repo.Catalog.Find("dm-2021")!;
        var t1 = law.Definition.Tables[0];
        RuleSetDefinition With(Func<Figure, Figure> change) => law.Definition with
        {
            Tables = [t1 with { Sections = [.. t1.Sections.Select(s => s with { Rows = [.. s.Rows.Select(r => r.Id == "T1.A.1" ? r with { Figures = [.. r.Figures.Select(change)] } : r)] })] }, .. law.Definition.Tables.Skip(1)],
        };
        var refigured = RulePlan.Of(With(f => f.Name == "tier_1_eur_per_point" ? f with { Value = 4000m } : f));
        Assert.True(law.Plan.SameShape(refigured));
        Assert.Equal(4000m, refigured.Figures.Single(f => f.RowId == "T1.A.1" && f.Figure.Name == "tier_1_eur_per_point").Figure.Value);
        Assert.False(law.Plan.SameShape(RulePlan.Of(With(f => f.Name == "tier_1_eur_per_point" ? f with { Name = "tier_1_eur" } : f))));
    }

    [Fact]
    public void A_row_patched_with_new_expressions_is_refused_unless_it_says_replace_with_a_reason()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(Covid, "  - patch: T5.A.1\n", "  - patch: T5.A.2\n    cite: \"art. 17\"\n    points: \"0m\"\n\n  - patch: T5.A.1\n");
        var ex = t.LoadFails();
        var error = Assert.Single(ex.Errors);
        Assert.EndsWith(Covid, error.File);
        Assert.Equal(t.LineOf(Covid, "points: \"0m\""), error.Line);
        Assert.Contains("write 'replace: T5.A.2' with a 'reason'", error.Message);
    }

    [Fact]
    public void A_replacement_with_its_reason_is_applied_and_validate_lists_it()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(Covid, "  - patch: T5.A.1\n", "  - replace: T5.A.2\n    reason: \"a test: the row's shape changes\"\n    cite: \"art. 17\"\n    points: { home_entertainment_publisher: \"0m\" }\n\n  - patch: T5.A.1\n");
        var (exit, output, err) = Run("validate", "--rules", t.Root);
        Assert.True(exit == 0, err);
        Assert.Contains("replaces T5.A.2 (covid-19: a test: the row's shape changes)", output);
    }

    [Fact]
    public void A_borrowed_row_that_does_not_exist_is_refused_with_its_file_and_line()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2017/tabella-1.yaml", "borrows: dm-2021/T1.A.2", "borrows: dm-2021/T1.A.9");
        var ex = t.LoadFails();
        var error = Assert.Single(ex.Errors);
        Assert.EndsWith("dm-2017/tabella-1.yaml", error.File);
        Assert.Equal(t.LineOf("dm-2017/tabella-1.yaml", "- id: T1.A.2"), error.Line);
        Assert.Contains("borrows 'dm-2021/T1.A.9', which names row T1.A.9, which dm-2021 does not have", error.Message);
    }

    [Fact]
    public void A_borrowing_row_that_states_the_borrowed_figure_again_is_refused_as_a_copy()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2017/tabella-1.yaml", "        borrows: dm-2021/T1.A.2\n", "        borrows: dm-2021/T1.A.2\n        figures: { eur_per_point: { value: 20000, unit: EUR } }\n");
        var error = Assert.Single(t.LoadFails().Errors);
        Assert.Equal(t.LineOf("dm-2017/tabella-1.yaml", "eur_per_point: { value: 20000"), error.Line);
        Assert.Contains("copies dm-2021/T1.A.2.eur_per_point", error.Message);
    }

    [Fact]
    public void A_borrowed_figure_follows_an_edit_of_the_row_it_comes_from()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "figures: { eur_per_point: { value: 20000, unit: EUR, cite: \"1 punto ogni € 20.000\" } }",
            "figures: { eur_per_point: { value: 10000, unit: EUR, cite: \"1 punto ogni € 10.000\" } }");
        var catalog = Engine.Loading.RuleCatalog.Load(t.Root, new Engine.Compiling.RuleCompileOptions { CacheDirectory = null });
        var row = catalog.Find("dm-2017")!.Definition.Tables.SelectMany(x => x.Rows).Single(r => r.Id == "T1.A.2");
        var figure = Assert.Single(row.Figures);
        Assert.Equal((10000m, "dm-2021/T1.A.2.eur_per_point"), (figure.Value, figure.Ref));
        // dm-2017's content hash covers what it borrows: its compiled image is never the one of the old figure.
        Assert.NotEqual(Repo.Catalog.Find("dm-2017")!.ContentHash, catalog.Find("dm-2017")!.ContentHash);
    }

    [Fact]
    public void Dm_2017s_lists_are_DM_2021s_read_at_load_with_the_differences_it_states()
    {
        var dm2017 = Repo.Catalog.Find("dm-2017")!.Definition;
        var dm2021 = Repo.Catalog.Find("dm-2021")!.Definition;
        foreach (var kind in new[] { "festivals", "prizes", "markets" })
        {
            var mine = dm2017.Lists.Single(l => l.Kind == kind);
            var theirs = dm2021.Lists.Single(l => l.Kind == kind);
            Assert.Equal("dm-2021/" + kind, mine.Borrows);
            Assert.Equal(theirs.Entries.Select(e => (e.Id, e.Band, e.Category)), mine.Entries.Select(e => (e.Id, e.Band, e.Category)));
            Assert.All(mine.Entries, e => Assert.StartsWith("DM 15 luglio 2021", e.Citation));
        }

        using var t = TempRules.CopyOfRepo();
        File.AppendAllText(t.File_("dm-2017/lista-mercati.yaml"), "remove: [baltic-event]\n");
        var catalog = Engine.Loading.RuleCatalog.Load(t.Root, new Engine.Compiling.RuleCompileOptions { CacheDirectory = null });
        var markets = catalog.Find("dm-2017")!.Definition.Lists.Single(l => l.Kind == "markets");
        Assert.Equal(dm2021.Lists.Single(l => l.Kind == "markets").Entries.Count - 1, markets.Entries.Count);
        Assert.DoesNotContain(markets.Entries, e => e.Id == "baltic-event");
    }

    [Fact]
    public void The_cinquina_prizes_are_one_named_group_of_Tabella_7_that_every_row_naming_them_reads_and_dm_2017_borrows()
    {
        foreach (var id in new[] { "dm-2021", "dm-2017" })
        {
            var prizes = Repo.Catalog.Find(id)!.Definition.Lists.Single(l => l.Kind == "prizes");
            var best = prizes.Groups.Single(g => g.Name == "premi_miglior_film");
            Assert.Equal(["david-di-donatello", "nastri-d-argento", "efa", "goya", "cesar", "lola", "bafta"], best.Ids);
            Assert.Equal([.. best.Ids, "academy-award"], prizes.Groups.Single(g => g.Name == "premi_categorie_artistiche").Ids);
        }
        // Not one rule file spells the group out again.
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Repo.Root, "rules"), "tabella-*.yaml", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}tests{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
            Assert.DoesNotContain("prizes: \"david-di-donatello, nastri-d-argento", File.ReadAllText(file));

        // An edit of the group (the Golden Globe added) applies to every row that reads it, in both versions.
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/tabella-7-premi.yaml", "ids: [david-di-donatello, nastri-d-argento, efa, goya, cesar, lola, bafta]",
            "ids: [david-di-donatello, nastri-d-argento, efa, goya, cesar, lola, bafta, golden-globe]");
        var catalog = Engine.Loading.RuleCatalog.Load(t.Root, new Engine.Compiling.RuleCompileOptions { CacheDirectory = null });
        foreach (var id in new[] { "dm-2021", "dm-2017" })
            Assert.Contains("golden-globe", catalog.Find(id)!.Definition.Lists.Single(l => l.Kind == "prizes").Groups.Single(g => g.Name == "premi_miglior_film").Ids);
    }

    [Fact]
    public void A_group_naming_an_id_the_list_lacks_or_a_misspelt_group_in_a_rule_is_refused_with_its_line_and_a_suggestion()
    {
        using (var t = TempRules.CopyOfRepo())
        {
            t.Replace("dm-2021/tabella-7-premi.yaml", "ids: [premi_miglior_film, academy-award]", "ids: [premi_miglior_film, academy-awards]");
            var error = Only(t.LoadFails(), "tabella-7-premi.yaml");
            Assert.Equal(t.LineOf("dm-2021/tabella-7-premi.yaml", "premi_categorie_artistiche:"), error.Line);
            Assert.Contains("'academy-awards', which the prizes list does not list; did you mean 'academy-award'?", error.Message);
        }
        using (var t = TempRules.CopyOfRepo())
        {
            t.Replace(T1, "BestFilmWin, prizes: \"premi_miglior_film\")", "BestFilmWin, prizes: \"premi_miglior_flm\")");
            var error = Only(t.LoadFails(), T1);
            Assert.Contains("'premi_miglior_flm' is not an id nor a group of the prizes list", error.Message);
            Assert.Contains("did you mean 'premi_miglior_film'?", error.Message);
        }
    }

    [Fact]
    public void A_borrowed_list_or_removed_entry_that_does_not_exist_is_refused_with_its_line()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2017/lista-premi.yaml", "borrows: dm-2021/prizes", "borrows: dm-2021/prize\nremove: [x]");
        var ex = t.LoadFails();
        var error = Assert.Single(ex.Errors, e => e.File.EndsWith("lista-premi.yaml", StringComparison.Ordinal));
        Assert.Equal(t.LineOf("dm-2017/lista-premi.yaml", "borrows: dm-2021/prize"), error.Line);
        Assert.Contains("dm-2021 has no list prize", error.Message);
        Assert.Contains("prizes", error.Message);
    }

    [Fact]
    public void A_reference_to_a_figure_that_does_not_exist_is_refused_with_a_suggestion()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(Covid, "producer_scale: { ref: T1.A.1.producer_scale }", "producer_scale: { ref: T1.A.1.producer_scal }");
        var error = Assert.Single(t.LoadFails().Errors);
        Assert.Equal(t.LineOf(Covid, "T1.A.1.producer_scal }"), error.Line);
        Assert.Contains("row T1.A.1 has no figure producer_scal", error.Message);
        Assert.Contains("did you mean 'producer_scale'?", error.Message);
    }

    [Theory]
    [InlineData("{ value: 4.000, unit: EUR,", "did you mean 4000?")]
    [InlineData("{ value: 4.000,00, unit: EUR,", "4000.00")]
    [InlineData("{ value: 4000.123, unit: EUR,", "at most two decimals")]
    public void A_EUR_figure_written_the_Italian_way_is_refused_with_the_number_meant(string written, string message)
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "tier_1_eur_per_point: { value: 5000, unit: EUR,", "tier_1_eur_per_point: " + written);
        var error = Only(t.LoadFails(), T1);
        Assert.Equal(t.LineOf(T1, "tier_1_eur_per_point: { value: 4"), error.Line);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void A_figure_named_like_a_quantity_is_a_second_definition_and_refused()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "figures: { eur_per_point: { value: 20000,", "figures: { producer_box_office: { value: 1, unit: EUR, cite: \"x\" }, eur_per_point: { value: 20000,");
        var error = Only(t.LoadFails(), T1);
        Assert.Equal(t.LineOf(T1, "producer_box_office: { value: 1"), error.Line);
        Assert.Contains("has the name of the quantity defined at", error.Message);
    }

    [Fact]
    public void A_figure_given_a_value_and_a_reference_is_defined_twice_and_refused()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(Covid, "producer_scale: { ref: T1.A.1.producer_scale }", "producer_scale: { ref: T1.A.1.producer_scale }\n      tier_2_up_to: { ref: T1.A.1.tier_2_up_to, value: 3000000 }");
        var error = Assert.Single(t.LoadFails().Errors);
        Assert.Equal(t.LineOf(Covid, "tier_2_up_to: { ref:"), error.Line);
        Assert.Contains("not given again here", error.Message);
    }

    [Fact]
    public void An_overlay_defining_a_quantity_the_version_has_is_refused()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(Covid, "  producer_box_office:\n    cite: \"art. 17.1\"\n    plus: \"derogation_revenue\"",
            "  producer_box_office:\n    label: \"x\"\n    cite: \"art. 17.1\"\n    expr: \"Work.BoxOfficeTotal + derogation_revenue\"");
        var error = Assert.Single(t.LoadFails().Errors);
        Assert.EndsWith(Covid, error.File);
        Assert.Contains("defines quantity producer_box_office, which dm-2021 defines at", error.Message);
    }

    [Fact]
    public void Quantities_that_read_each_other_in_a_circle_are_refused()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/ruleset.yaml", "expr: \"Work.MediaSalesTotal\"", "expr: \"Work.MediaSalesTotal + producer_box_office\"");
        t.Replace("dm-2021/ruleset.yaml", "expr: \"Work.BoxOfficeTotal\"", "expr: \"Work.BoxOfficeTotal + producer_media_sales\"");
        var ex = t.LoadFails();
        Assert.Contains(ex.Errors, e => e.Message.Contains("quantities read each other in a circle: producer_box_office -> producer_media_sales -> producer_box_office", StringComparison.Ordinal));
    }

    [Fact]
    public void A_fourth_overlay_of_a_version_is_refused_not_dropped()
    {
        using var t = TempRules.CopyOfRepo();
        foreach (var id in new[] { "extra-a", "extra-b", "extra-c" })
        {
            var dir = Path.Combine(t.Root, id);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "ruleset.yaml"), $"""
                id: {id}
                title: "x"
                kind: overlay
                patches: dm-2021
                in_force: {"{"} from: 2021-07-15 {"}"}
                window: {"{"} from: 2020-02-23, to: 2022-03-31 {"}"}
                rows:
                  - disable: T1.B.3
                    cite: "art. 17"
                """);
        }
        var ex = t.LoadFails();
        var error = Assert.Single(ex.Errors);
        Assert.EndsWith("extra-c/ruleset.yaml", error.File);
        Assert.Contains("combines at most 3 overlays", error.Message);
    }
}

/// <summary>One way to name a rule set: the same selector through every verb, and a rules folder as a side.</summary>
public class SelectorTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args) => SingleSourceTests.Run(args);

    private static string Example(string name) => Path.Combine(Repo.Root, "examples", name);

    [Theory]
    [InlineData("dm-2021", "dm-2021+covid-19")]
    [InlineData("dm-2021+covid-19", "dm-2021+covid-19")]
    [InlineData("dm-2021~covid-19", "dm-2021~covid-19")]
    [InlineData("dm-2021~*", "dm-2021~covid-19")]
    [InlineData("2021", "dm-2021+covid-19")]
    [InlineData("2019", "dm-2017")]
    [InlineData("dm-2021~covid-19+covid-19", "dm-2021+covid-19")]
    public void A_selector_names_one_rule_set_and_its_canonical_name_reads_back_to_it(string selector, string canonical)
    {
        var rs = Repo.Catalog.Select(selector, out var why);
        Assert.True(rs is not null, why);
        Assert.Equal(canonical, Repo.Catalog.CanonicalName(rs!));
        Assert.Same(rs, Repo.Catalog.Select(canonical, out _));
    }

    [Theory]
    [InlineData("dm-2021+covid-20", "'covid-20' is not an overlay of dm-2021")]
    [InlineData("dm-2031", "unknown rule set 'dm-2031'")]
    [InlineData("+covid-19", "names no version")]
    [InlineData("dm-2021+", "is followed by an overlay id")]
    public void A_selector_that_names_nothing_says_why(string selector, string why)
    {
        Assert.Null(Repo.Catalog.Select(selector, out var error));
        Assert.Contains(why, error);
    }

    [Fact]
    public void The_same_work_scores_the_same_under_every_name_of_the_same_rule_set_in_score_and_the_overlay_flags()
    {
        string Total(params string[] args)
        {
            var (exit, output, err) = Run(["score", Example("first-feature.json"), "--rules", Repo.Rules, "--json", .. args]);
            Assert.True(exit == 0, err);
            var r = JsonParser.Default.Parse<V1.ScoreWorkResponse>(output);
            return string.Join(";", r.Roles.Select(x => x.TotalPoints)) + " " + string.Join("+", r.Overlays);
        }
        var withOverlay = Total("--rule-set", "dm-2021+covid-19");
        Assert.Equal(withOverlay, Total());
        Assert.Equal(withOverlay, Total("--rule-set", "2022"));
        Assert.Equal(withOverlay, Total("--with-overlay", "covid-19"));
        var without = Total("--rule-set", "dm-2021~covid-19");
        Assert.Equal(without, Total("--without-overlay", "covid-19"));
        Assert.Equal(without, Total("--without-overlay", "*"));
        Assert.EndsWith(" covid-19", withOverlay);
        Assert.EndsWith(" ", without);
    }

    [Fact]
    public void Allocate_takes_the_same_selector_and_overlay_options()
    {
        string Summary(params string[] args)
        {
            var (exit, output, err) = Run(["allocate", Example("year-2021.json"), "--rules", Repo.Rules, "--json", .. args]);
            Assert.True(exit == 0, err);
            var r = JsonParser.Default.Parse<V1.AllocationResult>(output);
            return $"{r.Summary.RuleSetId} [{string.Join("+", r.Summary.Overlays)}] {r.Summary.ContentHash}";
        }
        var asInForce = Summary();
        Assert.Equal(asInForce, Summary("--rule-set", "dm-2021+covid-19"));
        var without = Summary("--without-overlay", "covid-19");
        Assert.Equal(without, Summary("--rule-set", "dm-2021~covid-19"));
        Assert.StartsWith("dm-2021 [covid-19] ", asInForce);
        Assert.StartsWith("dm-2021 [] ", without);
    }

    [Fact]
    public void The_text_of_score_names_the_rule_set_by_its_canonical_selector_and_the_overlay_applied()
    {
        var (exit, output, err) = Run("score", Example("first-feature.json"), "--rules", Repo.Rules);
        Assert.True(exit == 0, err);
        Assert.StartsWith("dm-2021+covid-19 (sha256 ", output);
        Assert.Contains("overlay covid-19 applied: ", output);
        var (exit2, output2, err2) = Run("score", Example("first-feature.json"), "--rules", Repo.Rules, "--without-overlay", "covid-19");
        Assert.True(exit2 == 0, err2);
        Assert.StartsWith("dm-2021~covid-19 (sha256 ", output2);
        Assert.DoesNotContain("overlay covid-19 applied", output2);
    }

    [Fact]
    public void Compare_takes_a_rules_folder_for_a_side_and_shows_the_money_effect_of_an_edit_in_one_step()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/tabella-1.yaml", "tier_1_eur_per_point: { value: 5000,", "tier_1_eur_per_point: { value: 4000,");
        var (exit, output, err) = Run("compare", "--year", Example("year-2023.json"), "--a", Path.Combine(Repo.Rules, "dm-2021"),
            "--b", t.File_("dm-2021"), "--rules", Repo.Rules, "--json");
        Assert.True(exit == 0, err);
        var r = JsonParser.Default.Parse<V1.CompareAllocationsResponse>(output);
        Assert.NotEqual(r.A.ContentHash, r.B.ContentHash);
        Assert.Contains("T1.A.1", r.Rows.Select(x => x.RowId));
        var economic = r.Quotas.Single(q => q.QuotaId == "cinema.economic");
        Assert.NotEqual(economic.APointValue, economic.BPointValue);
    }
}
