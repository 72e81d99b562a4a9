using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Tests;

/// <summary>The values an explanation shows are formatted once per value and thread, and never one for another.</summary>
public class ExplanationFormatTests
{
    private static string Input(Work work, string row, string path) =>
        Repo.Catalog.Find("dm-2021")!.Score(work, [new RoleInput(Role.Producer)]).For(Role.Producer)!
            .Quotas.SelectMany(q => q.Lines).Single(l => l.RowId == row).Inputs.Single(i => i.Key == path).Value;

    private static Work Cinema(decimal boxOffice, DateOnly? release = null) => new()
    {
        Kind = WorkKind.Cinema,
        BoxOffice = [new DatedAmount(new DateOnly(2022, 7, 1), boxOffice)],
        FirstReleaseDate = release,
        Coproduction = CoproductionKind.Bilateral,
        ItalianSharePercent = 50m,
    };

    [Fact]
    public void Equal_amounts_written_with_other_decimals_are_shown_as_written()
    {
        // 250000, 250000.0 and 250000.00 are equal numbers and different texts: each keeps its own.
        Assert.Equal("250000", Input(Cinema(250000m), "T1.A.1", "Work.BoxOfficeTotal"));
        Assert.Equal("250000.0", Input(Cinema(250000.0m), "T1.A.1", "Work.BoxOfficeTotal"));
        Assert.Equal("250000.00", Input(Cinema(250000.00m), "T1.A.1", "Work.BoxOfficeTotal"));
        Assert.Equal("250000", Input(Cinema(250000m), "T1.A.1", "Work.BoxOfficeTotal"));
    }

    [Fact]
    public void Dates_and_enums_read_as_before()
    {
        Assert.Equal("2022-07-15", Input(Cinema(1000m, new DateOnly(2022, 7, 15)), "T1.A.1.estivo", "Work.FirstReleaseDate"));
        Assert.Equal("0001-08-01", Input(Cinema(1000m, new DateOnly(1, 8, 1)), "T1.A.1.estivo", "Work.FirstReleaseDate"));
        // T1.B.2 reads the derived Work.International (the flag or a foreign co-producer, art. 2.f-h) since issue 25, item 5;
        // an enum is read by T1.A.2's condition (Work.Kind).
        Assert.Equal("Cinema", Input(Cinema(1000m) with { MediaSales = [new MediaSale(new DateOnly(2022, 7, 1), 40000m)] }, "T1.A.2", "Work.Kind"));
        Assert.Equal("sì", Input(Cinema(1000m), "T1.B.2", "Work.International")); // booleans read in Italian
        Assert.Equal("50", Input(Cinema(1000m), "T1.B.2", "Work.ItalianSharePercent"));
    }

    [Fact]
    public void A_score_line_keeps_its_record_shape()
    {
        var line = Repo.Catalog.Find("dm-2021")!.Score(Cinema(250000m), [new RoleInput(Role.Producer)]).For(Role.Producer)!
            .Quotas.SelectMany(q => q.Lines).Single(l => l.RowId == "T1.A.1");
        var built = new ScoreLine(line.RowId, line.Label, line.Citation, line.Role, line.QuotaId, line.Points, line.Inputs, line.Reason, line.Location);
        Assert.Equal(line, built);
        var changed = line with { Points = 1m, Label = "x" };
        Assert.Equal((line.RowId, "x", 1m, line.Location), (changed.RowId, changed.Label, changed.Points, changed.Location));
        Assert.NotEqual(line, changed);
        Assert.NotEqual("x", line.Label);
        var (rowId, _, citation, role, quota, points, _, reason, _) = line;
        Assert.Equal(("T1.A.1", line.Citation, Role.Producer, "cinema.economic", 50m, (string?)null), (rowId, citation, role, quota, points, reason));
    }
}
