using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Benchmarks;

/// <summary>One seeded work with the claimants the side-by-side benchmark scores it for.</summary>
public sealed record SeededWork(Work Work, RoleInput Producer, RoleInput Distributor, RoleInput Publisher);

/// <summary>
/// A seeded set of varied works for the side-by-side benchmark (issue 10 item 1): festivals of every band (with and
/// without the +100%/+50% increments, Trieste's two bands), prizes won and nominated in both categories (the ones Tabella
/// 1 names and the others), markets, co-productions on the 20%/90% edges, shorts, documentaries, animation, TV/web works,
/// box office on the tier edges, release dates on the summer window's edges, distributors' contracts before, on and
/// after the selection dates, HE sales. The same seed gives the same works.
/// </summary>
public static class SeededWorks
{
    private static readonly decimal[] BoxOfficeEdges = [0m, 1m, 999_999.99m, 1_000_000m, 1_000_000.01m, 2_999_999m, 3_000_000m, 4_999_999.99m, 5_000_000m, 5_000_001m, 12_000_000m];
    private static readonly decimal[] Shares = [19.99m, 20m, 50m, 90m, 90.01m];
    private static readonly (int Month, int Day)[] ReleaseDays = [(5, 31), (6, 1), (7, 15), (8, 31), (9, 1), (12, 24)];

    /// <summary>
    /// The works as a request's mapper gives them to a rule set with these lists (RequestMapper: each festival, prize and
    /// market id looked up once, the entry made with the list's id and its position there, which scoring reads). Entries
    /// whose id is not listed stay as they are (a request would be refused). The same claimants.
    /// </summary>
    public static SeededWork[] Mapped(SeededWork[] works, Engine.Scoring.ListCatalog lists) =>
    [
        .. works.Select(s => s with
        {
            Work = s.Work with
            {
                // Lists, as the mapper makes them.
                Festivals = s.Work.Festivals.Select(e => lists.FestivalPosition(e.FestivalId) is var at and >= 0
                    ? lists.Festival(at, e.Section, e.SelectionDate, e.BestFilmPrize, e.OtherPrizes) : e).ToList(),
                Prizes = s.Work.Prizes.Select(e => lists.PrizePosition(e.PrizeId) is var at and >= 0
                    ? lists.Prize(at, e.Category, e.Outcome, e.SelectionDate) : e).ToList(),
                Markets = s.Work.Markets.Select(e => lists.MarketPosition(e.MarketId) is var at and >= 0 ? lists.Market(at, e.SelectionDate) : e).ToList(),
            },
        }),
    ];

    public static SeededWork[] Generate(IReadOnlyList<ListDefinition> lists, int count, int seed)
    {
        var rnd = new Random(seed);
        string[] Ids(string kind) => lists.First(l => l.Kind == kind).Entries.Select(e => e.Id).Distinct().ToArray();
        var festivals = Ids("festivals");
        var prizes = Ids("prizes");
        var markets = Ids("markets");
        var works = new SeededWork[count];
        for (var i = 0; i < count; i++)
        {
            var year = 2019 + rnd.Next(5);
            DateOnly Day() => new DateOnly(year, 1, 1).AddDays(rnd.Next(365));
            decimal Amount(int max) => rnd.Next(4) == 0 ? 0m : Math.Round((decimal)rnd.NextDouble() * max, 2);
            var shortFilm = rnd.Next(8) == 0;
            var kind = rnd.Next(6) == 0 ? WorkKind.TvWeb : WorkKind.Cinema;
            var (month, day) = ReleaseDays[rnd.Next(ReleaseDays.Length)];

            var boxOffice = new List<DatedAmount>();
            var total = rnd.Next(3) == 0 ? BoxOfficeEdges[rnd.Next(BoxOfficeEdges.Length)] : Amount(8_000_000);
            for (int k = 0, parts = 1 + rnd.Next(3); k < parts; k++)
                boxOffice.Add(new DatedAmount(Day(), k == parts - 1 ? total - boxOffice.Sum(b => b.Amount) : Math.Round(total / parts, 2)));
            // A box-office period is one per date (art. 5.10 keeps out a second): a day drawn again moves on a day.
            Once(boxOffice, b => b.Date, b => b with { Date = b.Date.AddDays(1) });

            var fest = new List<FestivalEntry>();
            for (int k = 0, n = rnd.Next(5); k < n; k++)
            {
                // Now and then the same festival twice (it counts once per row).
                var id = k > 0 && rnd.Next(5) == 0 ? fest[0].FestivalId : festivals[rnd.Next(festivals.Length)];
                fest.Add(new FestivalEntry(id, rnd.Next(2) == 0 ? FestivalSection.Competition : FestivalSection.OfficialOutOfCompetition,
                    rnd.Next(6) == 0 ? null : Day(), rnd.Next(5) == 0, rnd.Next(4) == 0 ? 1 + rnd.Next(3) : 0));
            }
            if (rnd.Next(12) == 0) fest.Add(new FestivalEntry("trieste-film-festival", FestivalSection.Competition, Day(), rnd.Next(2) == 0));

            var prize = new List<PrizeEntry>();
            for (int k = 0, n = rnd.Next(4); k < n; k++)
                prize.Add(new PrizeEntry(k > 0 && rnd.Next(4) == 0 ? prize[0].PrizeId : prizes[rnd.Next(prizes.Length)],
                    rnd.Next(2) == 0 ? PrizeCategory.BestFilm : PrizeCategory.Artistic,
                    rnd.Next(3) == 0 ? PrizeOutcome.Win : PrizeOutcome.Nomination, rnd.Next(6) == 0 ? null : Day()));

            var market = new List<MarketEntry>();
            for (int k = 0, n = rnd.Next(4); k < n; k++)
                market.Add(new MarketEntry(markets[rnd.Next(markets.Length)], rnd.Next(6) == 0 ? null : Day()));

            var coproduction = (CoproductionKind)rnd.Next(3);
            var work = new Work
            {
                Id = $"seeded-{seed}-{i}",
                Kind = kind,
                ResearchAndTraining = kind == WorkKind.TvWeb && rnd.Next(4) == 0,
                Animation = rnd.Next(10) == 0,
                ShortFilm = shortFilm,
                Documentary = rnd.Next(5) == 0,
                FirstOrSecondWork = rnd.Next(3) == 0,
                YoungAuthors = rnd.Next(4) == 0,
                ProductionCost = rnd.Next(8) == 0 ? null : rnd.Next(10) == 0 ? 0m : 200_000m + Amount(9_000_000),
                FirstReleaseDate = rnd.Next(8) == 0 ? null : new DateOnly(year, month, day),
                BoxOffice = boxOffice,
                MediaSales = Once<MediaSale, MediaSale>([.. Enumerable.Range(0, rnd.Next(3)).Select(_ => new MediaSale(Day(), Amount(900_000)))], e => e, NextDay),
                ForeignSales = Once<ForeignSale, ForeignSale>([.. Enumerable.Range(0, rnd.Next(3)).Select(_ => new ForeignSale(Day(), Amount(400_000), "FR"))], e => e, NextDay),
                Essai = rnd.Next(3) == 0,
                SelectiveContributions = rnd.Next(3) == 0,
                Coproduction = coproduction,
                ItalianSharePercent = coproduction == CoproductionKind.None ? null : Shares[rnd.Next(Shares.Length)],
                FemaleMajorityAuthors = rnd.Next(4) == 0,
                FemaleDirector = rnd.Next(4) == 0,
                FemaleHeadsOfDepartment = rnd.Next(4) == 0,
                SupranationalFunding = rnd.Next(5) == 0,
                BilateralFund = rnd.Next(5) == 0,
                ItalianComposers = rnd.Next(3) == 0,
                Festivals = fest,
                Prizes = prize,
                Markets = market,
            };
            // The distributor's contract: before, on, or after the selection dates, or not given.
            DateOnly? contract = rnd.Next(5) == 0 ? null
                : fest.Count > 0 && fest[0].SelectionDate is { } s && rnd.Next(2) == 0 ? s.AddDays(rnd.Next(3) - 1)
                : Day();
            works[i] = new SeededWork(work,
                new RoleInput(Role.Producer),
                new RoleInput(Role.TheatricalDistributor, contract, rnd.Next(6) == 0 ? null : 50_000m + Amount(2_000_000)),
                new RoleInput(Role.HomeEntertainmentPublisher)
                {
                    HomeEntertainmentSales = Once<DatedAmount, DatedAmount>([.. Enumerable.Range(0, rnd.Next(3)).Select(_ => new DatedAmount(Day(), Amount(300_000)))], e => e,
                        e => e with { Date = e.Date.AddDays(1) }),
                });
        }
        return works;
    }

    private static MediaSale NextDay(MediaSale e) => e with { Date = e.Date.AddDays(1) };

    private static ForeignSale NextDay(ForeignSale e) => e with { Date = e.Date.AddDays(1) };

    /// <summary>
    /// Each result once (art. 5.10: the engine keeps out a result declared again): one with the key of an earlier one moves on
    /// a day, without drawing again, so the seed's other works stay the same.
    /// </summary>
    private static List<T> Once<T, TKey>(List<T> items, Func<T, TKey> key, Func<T, T> nextDay)
    {
        for (var i = 1; i < items.Count; i++)
            while (items.Take(i).Any(e => EqualityComparer<TKey>.Default.Equals(key(e), key(items[i])))) items[i] = nextDay(items[i]);
        return items;
    }
}
