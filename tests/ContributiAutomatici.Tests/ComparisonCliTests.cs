using ContributiAutomatici.Cli;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>Regression runs from the command line: rule-set diffs, year comparisons, the HTML report in a real browser.</summary>
public class ComparisonCliTests
{
    internal static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var exit = Program.Run(args, o, e);
        return (exit, o.ToString(), e.ToString());
    }

    internal static string Example(string name) => Path.Combine(Repo.Root, "examples", name);

    [Fact]
    public void Diff_of_a_rules_folder_with_one_figure_edited_lists_exactly_that_row_and_figure()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/tabella-5.yaml", "value: 10000, unit: EUR", "value: 8000, unit: EUR");

        var (exit, output, err) = Run("diff", Path.Combine(Repo.Rules, "dm-2021"), t.File_("dm-2021"), "--rules", Repo.Rules, "--json");

        Assert.True(exit == 0, err);
        var diff = JsonParser.Default.Parse<V1.DiffRuleSetsResponse>(output);
        var row = Assert.Single(diff.Rows);
        Assert.Equal("T5.A.1", row.RowId);
        var change = Assert.Single(row.Changes);
        Assert.Equal(("figure", "eur_per_point", "10000 EUR", "8000 EUR"), (change.Kind, change.Field, change.Before, change.After));
        Assert.Empty(diff.Quotas);
        Assert.Empty(diff.Policies);
        Assert.NotEqual(diff.AContentHash, diff.BContentHash);
    }

    [Fact]
    public void Diff_of_the_Covid_overlay_names_its_rows_with_their_articles()
    {
        // "dm-2021" is the version as in force, with art. 17: the version alone is "dm-2021~covid-19".
        var (exit, output, err) = Run("diff", "dm-2021~covid-19", "dm-2021", "--rules", Repo.Rules);

        Assert.True(exit == 0, err);
        Assert.Contains("+ T1.A.1.covid", output);
        Assert.Contains("windowed figure eur_per_point: 5000 EUR -> 1000 EUR from 2020-02-23 to 2022-03-31  (covid-19: art. 17.2.b)", output);
        // Art. 17.1 changes the quantities Tabella 1 reads, not its rows: T1.A.1, T1.A.1.rapporto and T1.A.2 are not changed rows.
        Assert.Contains("2 added, 0 removed, 2 changed rows; 3 quantity, 0 quota and 0 policy changes", output);
        var (exit2, output2, err2) = Run("diff", "dm-2021", "dm-2021+covid-19", "--rules", Repo.Rules);
        Assert.True(exit2 == 0, err2);
        Assert.Contains("no differences", output2);
    }

    [Fact]
    public void A_2021_year_with_and_without_the_Covid_overlay_has_only_article_17_rows_as_causes()
    {
        var (exit, output, err) = Run("compare", "--year", Example("year-2021.json"), "--a", "dm-2021~covid-19", "--b", "dm-2021+covid-19",
            "--rules", Repo.Rules, "--json");

        Assert.True(exit == 0, err);
        var r = JsonParser.Default.Parse<V1.CompareAllocationsResponse>(output);
        Assert.Equal(["T1.A.1.covid", "T4.A.1", "T5.A.1"], r.Rows.Select(x => x.RowId).Order(StringComparer.Ordinal).ToList());
        Assert.Equal(["covid-19"], r.B.Overlays);
        Assert.Empty(r.A.Overlays);
        // Art. 17.2.b: the international distributor's 2021 sales score 1 per EUR 1,000 instead of 5,000: 5x the points.
        var t4 = r.Rows.Single(x => x.RowId == "T4.A.1");
        Assert.Equal(5m * decimal.Parse(t4.APoints, System.Globalization.CultureInfo.InvariantCulture),
            decimal.Parse(t4.BPoints, System.Globalization.CultureInfo.InvariantCulture));
        // The same budget on both sides, split the same way: only the point values and the companies' money move.
        Assert.All(r.Quotas, q => Assert.Equal(q.AResources, q.BResources));
    }

    [Fact]
    public void The_HTML_report_is_self_contained_and_shows_the_JSON_figures_in_headless_Chromium()
    {
        var html = Path.Combine(Path.GetTempPath(), $"report-{Guid.NewGuid():N}.html");
        try
        {
            var (exit, output, err) = Run("compare", "--year", Example("year-2021.json"), "--a", "dm-2021~covid-19", "--b", "dm-2021+covid-19",
                "--rules", Repo.Rules, "--json", "--html", html);
            Assert.True(exit == 0, err);
            var r = JsonParser.Default.Parse<V1.CompareAllocationsResponse>(output);
            var page = File.ReadAllText(html);
            Assert.DoesNotContain("http://", page);
            Assert.DoesNotContain("https://", page);
            Assert.DoesNotContain("<script", page);
            Assert.DoesNotContain("<img", page);

            var dom = Chromium(html);
            Assert.Contains(r.A.ContentHash, dom);
            Assert.Contains(r.B.ContentHash, dom);
            Assert.Contains(AllocationReport.Eur(r.AAllocated), dom);
            Assert.Contains(AllocationReport.Eur(r.BAllocated), dom);
            foreach (var g in r.Gainers) Assert.Contains(AllocationReport.Eur(g.Difference), dom);
            foreach (var l in r.Losers) Assert.Contains(AllocationReport.Eur(l.Difference), dom);
            foreach (var row in r.Rows) Assert.Contains(row.RowId, dom);
            // Italian for people: the rule set's quota titles, numbers as 1.234.567,89.
            foreach (var q in r.A.Quotas) Assert.Contains(q.Title, dom);
            Assert.Matches(@"\d{1,3}(\.\d{3})+,\d{2}", dom);
            Assert.Contains("<svg", dom);
        }
        finally { File.Delete(html); }
    }

    /// <summary>The page as headless Chromium renders it (Debian's chromium; .ci/run installs it).</summary>
    internal static string Chromium(string file) => Ledger.HeadlessChromium.DumpDom(file);
}
