using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Tests;

/// <summary>The list helpers scan a short list in place and sweep a long one into a set: both give the same points.</summary>
public class ListHelperTests
{
    private static readonly DateOnly Day = new(2022, 5, 1);

    private static Work WorkWith(int copies)
    {
        FestivalEntry[] festivals =
        [
            new("venezia", FestivalSection.Competition, Day, BestFilmPrize: true),
            new("cannes", FestivalSection.OfficialOutOfCompetition, Day, OtherPrizes: 2),
            new("locarno", FestivalSection.Competition, Day.AddDays(10)),
            new("venezia", FestivalSection.OfficialOutOfCompetition, Day.AddDays(-10), OtherPrizes: 1),
        ];
        PrizeEntry[] prizes =
        [
            new("david-di-donatello", PrizeCategory.BestFilm, PrizeOutcome.Nomination, Day),
            new("david-di-donatello", PrizeCategory.BestFilm, PrizeOutcome.Win, Day.AddDays(5)),
            new("academy-award", PrizeCategory.Artistic, PrizeOutcome.Win, Day),
            new("efa", PrizeCategory.Artistic, PrizeOutcome.Nomination, Day.AddDays(-30)),
        ];
        return new Work
        {
            Kind = WorkKind.Cinema,
            Festivals = [.. Enumerable.Repeat(festivals, copies).SelectMany(x => x)],
            Prizes = [.. Enumerable.Repeat(prizes, copies).SelectMany(x => x)],
            Markets = [.. Enumerable.Repeat(new MarketEntry("torino-film-lab", Day), copies)],
        };
    }

    [Fact]
    public void A_long_list_of_repeated_entries_scores_like_the_short_one()
    {
        var set = Repo.Catalog.Find("dm-2021")!;
        RoleInput[] roles = [new(Role.Producer), new(Role.TheatricalDistributor, ContractSignedOn: Day.AddDays(-1))];
        var shortList = set.Score(WorkWith(1), roles);  // 4 entries: scanned in place
        var longList = set.Score(WorkWith(20), roles);  // 80 entries: swept into a set

        foreach (var role in shortList.Roles)
        {
            var other = longList.For(role.Role)!;
            Assert.Equal(role.TotalPoints, other.TotalPoints);
            Assert.Equal(role.Quotas.SelectMany(q => q.Lines).Select(l => (l.RowId, l.Points)),
                other.Quotas.SelectMany(q => q.Lines).Select(l => (l.RowId, l.Points)));
        }
        // Venice in competition with the best-film prize (band A): T1.C.1 counts it once however often it is listed.
        Assert.True(shortList.For(Role.Producer)!.TotalPoints > 0);
    }
}
