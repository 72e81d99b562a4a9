using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;

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

    [Fact]
    public void The_explanation_names_each_festival_prize_and_market_that_scored_with_its_points()
    {
        var set = Repo.Catalog.Find("dm-2021")!;
        // The distributor signed after Venice's out-of-competition selection and before the others.
        RoleInput[] roles = [new(Role.Producer), new(Role.TheatricalDistributor, ContractSignedOn: Day.AddDays(-5))];
        var result = set.Score(WorkWith(2), roles);
        var matches = result.Roles
            .SelectMany(r => r.Quotas.SelectMany(q => q.Lines).Select(l =>
                $"{RoleNames.Key(r.Role)} {l.RowId} {l.Points}: {string.Join(" | ", l.Inputs.Where(i => i.Key == "match").Select(i => i.Value))}"))
            .Where(l => !l.EndsWith(": ", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(Expected, matches);
    }

    // Written down from the earlier, independent implementation of the traced helpers (entry by entry, ids hashed), which
    // gave exactly these lines.
    private static readonly string[] Expected =
    [
        "producer T1.C.1 100: venezia (fascia A): 100",
        "producer T1.C.2 100: venezia (fascia A): 50 | cannes (fascia A): 50",
        "producer T1.C.3 50: locarno (fascia B, +100%): 50",
        "producer T1.C.5 200: venezia (fascia A): 200",
        "producer T1.C.6 200: venezia (fascia A): 100 | cannes (fascia A): 100",
        "producer T1.C.13 50: david-di-donatello (BestFilm, Nomination): 50",
        "producer T1.C.14 50: academy-award (Artistic, Win): 25 | efa (Artistic, Nomination): 25",
        "producer T1.C.15 100: david-di-donatello (BestFilm, Win): 100",
        "producer T1.C.16 25: academy-award (Artistic, Win): 25",
        "producer T1.C.17 25: torino-film-lab: 25 (mercati non cumulabili)",
        "theatrical_distributor T1.C.1 20: venezia (fascia A): 20",
        "theatrical_distributor T1.C.2 10: cannes (fascia A): 10",
        "theatrical_distributor T1.C.3 10: locarno (fascia B, +100%): 10",
        "theatrical_distributor T1.C.5 40: venezia (fascia A): 40",
        "theatrical_distributor T1.C.6 20: cannes (fascia A): 20",
        "theatrical_distributor T1.C.13 10: david-di-donatello (BestFilm, Nomination): 10",
        "theatrical_distributor T1.C.14 5: academy-award (Artistic, Win): 5",
        "theatrical_distributor T1.C.15 20: david-di-donatello (BestFilm, Win): 20",
        "theatrical_distributor T1.C.16 5: academy-award (Artistic, Win): 5",
        "theatrical_distributor T1.C.17 5: torino-film-lab: 5 (mercati non cumulabili)",
    ];
}
