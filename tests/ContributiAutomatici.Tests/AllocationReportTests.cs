using ContributiAutomatici.Cli;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>
/// Issue 25 item 6: <c>allocate YEAR --html FILE</c>, the year for people, rendered in headless Chromium and compared with
/// the <c>--json</c> of the same run: the quota titles of the rule set, every figure of each quota's account in Italian
/// format (1.926.022,61), a chart per paying quota with its axis in euro, the capped claims, the exclusions with their
/// articles, the companies' totals; self-contained (no network, no script, no image).
/// </summary>
public sealed class AllocationReportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("contributi-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("year-2023", "unassigned", "1.926.022,61")]   // cinema.economic's credits, as the README shows them
    [InlineData("repro", "redistribute", "413.695,41")]       // alfa-film's cut under the company cap in cinema.economic
    public void The_HTML_page_shows_the_JSON_figures_in_Italian_in_headless_Chromium(string year, string policy, string figure)
    {
        var file = Path.Combine(_dir, "year.json");
        File.WriteAllText(file, year == "repro"
            ? JsonFormatter.Default.Format(AllocationAccountTests.Repro())
            : File.ReadAllText(Path.Combine(Repo.Root, "examples", "year-2023.json")));
        var html = Path.Combine(_dir, "report.html");
        var o = new StringWriter();
        var e = new StringWriter();
        var exit = Program.Run(["allocate", file, "--policy", policy, "--json", "--html", html, "--rules", Repo.Rules], TextReader.Null, o, e);
        Assert.True(exit == 0, e.ToString());
        var r = JsonParser.Default.Parse<V1.AllocationResult>(o.ToString());
        var page = File.ReadAllText(html);
        Assert.DoesNotContain("http://", page);
        Assert.DoesNotContain("https://", page);
        Assert.DoesNotContain("<script", page);
        Assert.DoesNotContain("<img", page);

        var dom = ComparisonCliTests.Chromium(html);
        Assert.Contains("<html lang=\"it\">", dom);
        Assert.Contains(figure, dom);
        Assert.Contains($"title=\"{r.Summary.ContentHash}\"", dom);         // the full hash on hover
        Assert.Contains($"{r.Summary.ContentHash[..12]}…", dom);            // shortened in the text
        Assert.Contains($"{AllocationReport.Eur(r.Summary.Budget)} €", dom);
        Assert.Contains($"non assegnati <b class=\"unassigned\">{AllocationReport.Eur(r.Summary.Account.Unassigned)} €</b>", dom);
        foreach (var q in r.Summary.Quotas)
        {
            Assert.Contains(q.Title, dom); // the rule set's Italian title, not the id
            if (q.Account is not { } a) continue;
            Assert.Contains($"id=\"chart-{q.QuotaId}\"", dom);
            Assert.Contains(AllocationReport.Num(q.PointValue), dom);
            foreach (var part in new[] { a.Resources, a.Allocated, a.Unassigned, a.UnassignedWorkCap, a.UnassignedCompanyCap, a.UnassignedShortFilmsLimit,
                         a.UnassignedNoClaimant, a.Redistributed })
                Assert.Contains(AllocationReport.Eur(part), dom);
            Assert.Contains($"<td>{AllocationReport.Residue(a.RoundingResidue)}</td>", dom);
            // The one-line reading under the chart: resources first, then each part that is not zero.
            Assert.Contains($"Su {AllocationReport.Eur(a.Resources)} € di risorse: {AllocationReport.Eur(a.Allocated)} € assegnati", dom);
        }
        Assert.Contains("euro (risorse della sottoquota)", dom); // the charts' axis and unit
        foreach (var x in r.Exclusions) Assert.Contains(x.Article, dom);
        foreach (var c in r.Companies) Assert.Contains($"<td>{AllocationReport.Eur(c.Total)}</td>", dom);
        foreach (var w in r.Works.Where(w => w.Claims.Any(c => c.WorkCapped || c.CompanyCapped))) Assert.Contains(w.WorkId, dom);
        Assert.Contains("31/12/2028", dom); // the credits' expiry, Italian date
    }
}
