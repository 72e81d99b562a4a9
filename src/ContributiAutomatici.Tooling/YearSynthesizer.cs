using System.Globalization;
using ContributiAutomatici.Engine.Scoring;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tooling;

/// <summary>
/// A realistic synthetic year of applications, the same for the same seed: a few blockbusters and many small works
/// (box office with a heavy tail), TV/web works, animation, shorts, documentaries, co-productions (some below the
/// art. 5.8 threshold), associated producers sharing rights, theatrical and international distributors with their own
/// facts, HE publishers, festivals, prizes and markets from the rule set's own lists, and a few companies that fail
/// the requirements of art. 4. For tests, benchmarks and demonstrations; nothing in it is real.
/// </summary>
public static class YearSynthesizer
{
    public static IEnumerable<V1.AllocateRequest> Items(CompiledRuleSet ruleSet, int companies, int works, int seed, int year, decimal budget) =>
        Items(ruleSet.Id, ruleSet.Lists, companies, works, seed, year, budget);

    /// <summary>The same from a rule set's id and lists alone (its files parsed, nothing compiled).</summary>
    public static IEnumerable<V1.AllocateRequest> Items(string ruleSetId, ListCatalog lists, int companies, int works, int seed, int year, decimal budget)
    {
        var rnd = new Random(seed);
        string[] Ids(string kind) => lists.Lists.Where(l => l.Kind == kind).SelectMany(l => l.Entries).Select(e => e.Id).Distinct().Order(StringComparer.Ordinal).ToArray();
        var festivals = Ids("festivals");
        var prizes = Ids("prizes");
        var markets = Ids("markets");
        string[] countries = ["FR", "DE", "ES", "US", "GB", "JP", "BR", "CN", "CA", "AT", "BE", "CH", "NL", "SE", "PL", "KR", "MX", "AR", "AU", "IN"];
        var inv = CultureInfo.InvariantCulture;
        string Money(double d) => Math.Round((decimal)d, 2).ToString(inv);
        Google.Type.Date Day(int y) => new() { Year = y, Month = 1 + rnd.Next(12), Day = 1 + rnd.Next(28) };

        yield return new V1.AllocateRequest
        {
            Header = new V1.AllocationHeader { RuleSetId = ruleSetId, ApplicationYear = year, Budget = budget.ToString(inv) },
        };

        // Companies: producers first (60%), then theatrical distributors, international distributors, HE publishers.
        var producers = new List<string>();
        var distributors = new List<string>();
        var international = new List<string>();
        var publishers = new List<string>();
        for (var i = 0; i < companies; i++)
        {
            var id = $"C{i + 1:D5}";
            var share = (double)i / Math.Max(1, companies);
            var (ateco, list) = share switch
            {
                < 0.6 => ("59.11", producers),
                < 0.8 => ("59.13", distributors),
                < 0.9 => ("J 59.13", international),
                _ => (rnd.Next(2) == 0 ? "59.12" : "C 18.20", publishers),
            };
            list.Add(id);
            yield return new V1.AllocateRequest
            {
                Company = new V1.Company
                {
                    Id = id, Name = $"Società {i + 1}", AtecoCode = ateco, Independent = rnd.NextDouble() < 0.85,
                    EeaSeat = rnd.NextDouble() < 0.995, NetWorth = Money(rnd.NextDouble() < 0.03 ? rnd.Next(5_000, 39_000) : Math.Exp(10.5 + 3 * rnd.NextDouble())),
                },
            };
        }
        if (producers.Count == 0) producers.Add("C00001");
        if (distributors.Count == 0) distributors.Add(producers[0]);
        if (international.Count == 0) international.Add(distributors[0]);
        if (publishers.Count == 0) publishers.Add(distributors[0]);

        var claims = new List<V1.Claim>();
        string Pick(List<string> from) => from[(int)Math.Min(from.Count - 1, Math.Floor(Math.Pow(rnd.NextDouble(), 1.6) * from.Count))];
        for (var i = 0; i < works; i++)
        {
            var id = $"W{i + 1:D6}";
            var tv = rnd.NextDouble() < 0.28;
            var animation = rnd.NextDouble() < 0.08;
            var shortFilm = !tv && rnd.NextDouble() < 0.12;
            var blockbuster = !tv && !shortFilm && rnd.NextDouble() < 0.004;
            var cost = shortFilm ? 50_000 + rnd.NextDouble() * 200_000 : Math.Exp(13 + 2.2 * rnd.NextDouble());
            var w = new V1.Work
            {
                Id = id, Title = $"Opera {i + 1}", Kind = tv ? V1.WorkKind.TvWeb : V1.WorkKind.Cinema, Animation = animation,
                ShortFilm = shortFilm, Documentary = rnd.NextDouble() < 0.15, FirstOrSecondWork = rnd.NextDouble() < 0.25,
                YoungAuthors = rnd.NextDouble() < 0.1, Essai = rnd.NextDouble() < 0.2, SelectiveContributions = rnd.NextDouble() < 0.15,
                ProductionCost = Money(cost), DurationMinutes = shortFilm ? "20" : tv ? (50 * (1 + rnd.Next(8))).ToString(inv) : "100",
                FemaleDirector = rnd.NextDouble() < 0.2, FemaleMajorityAuthors = rnd.NextDouble() < 0.15,
                FirstReleaseDate = Day(year),
            };
            if (rnd.NextDouble() < 0.15)
            {
                w.Coproduction = rnd.NextDouble() < 0.7 ? V1.CoproductionKind.Bilateral : V1.CoproductionKind.Multilateral;
                w.ItalianSharePercent = (5 + rnd.Next(70)).ToString(inv);
            }
            if (!tv && !shortFilm)
            {
                var total = blockbuster ? 5e6 + rnd.NextDouble() * 15e6 : Math.Exp(9 + 5 * rnd.NextDouble());
                var periods = 1 + rnd.Next(3);
                for (var p = 0; p < periods; p++)
                    w.BoxOffice.Add(new V1.DatedAmount { Date = new Google.Type.Date { Year = year, Month = 1 + 4 * p + rnd.Next(4), Day = 1 + rnd.Next(28) }, Amount = Money(total / periods) });
            }
            if (rnd.NextDouble() < 0.4) w.MediaSales.Add(new V1.MediaSale { Date = Day(year), Amount = Money(Math.Exp(10 + 3 * rnd.NextDouble())) });
            if (rnd.NextDouble() < 0.25)
                w.ForeignSales.Add(new V1.ForeignSale { Date = Day(year), Amount = Money(Math.Exp(9 + 3 * rnd.NextDouble())), Country = countries[rnd.Next(countries.Length)] });
            if (rnd.NextDouble() < 0.12 && festivals.Length > 0)
                w.Festivals.Add(new V1.FestivalEntry
                {
                    FestivalId = festivals[rnd.Next(festivals.Length)],
                    Section = rnd.NextDouble() < 0.6 ? V1.FestivalSection.Competition : V1.FestivalSection.OfficialOutOfCompetition,
                    SelectionDate = Day(year), BestFilmPrize = rnd.NextDouble() < 0.1, OtherPrizes = rnd.NextDouble() < 0.2 ? 1 : 0,
                });
            if (rnd.NextDouble() < 0.05 && prizes.Length > 0)
                w.Prizes.Add(new V1.PrizeEntry
                {
                    PrizeId = prizes[rnd.Next(prizes.Length)], Category = rnd.NextDouble() < 0.5 ? V1.PrizeCategory.BestFilm : V1.PrizeCategory.Artistic,
                    Outcome = rnd.NextDouble() < 0.3 ? V1.PrizeOutcome.Win : V1.PrizeOutcome.Nomination, SelectionDate = Day(year),
                });
            if (rnd.NextDouble() < 0.08 && markets.Length > 0)
                w.Markets.Add(new V1.MarketEntry { MarketId = markets[rnd.Next(markets.Length)], SelectionDate = Day(year - 1) });

            var work = new V1.AllocationWork { Work = w, Eligible = rnd.NextDouble() < 0.995 };
            yield return new V1.AllocateRequest { Work = work };

            // Producers: most works one, some two associated producers sharing the rights (art. 5.7).
            var first = Pick(producers);
            if (rnd.NextDouble() < 0.15 && producers.Count > 1)
            {
                var second = producers[(producers.IndexOf(first) + 1 + rnd.Next(producers.Count - 1)) % producers.Count];
                claims.Add(new V1.Claim { CompanyId = first, WorkId = id, Role = new V1.RoleInput { Role = V1.Role.Producer }, RightsSharePercent = "70" });
                claims.Add(new V1.Claim { CompanyId = second, WorkId = id, Role = new V1.RoleInput { Role = V1.Role.Producer }, RightsSharePercent = "30" });
            }
            else claims.Add(new V1.Claim { CompanyId = first, WorkId = id, Role = new V1.RoleInput { Role = V1.Role.Producer } });
            if (w.BoxOffice.Count > 0 && rnd.NextDouble() < 0.8)
                claims.Add(new V1.Claim
                {
                    CompanyId = Pick(distributors), WorkId = id,
                    Role = new V1.RoleInput { Role = V1.Role.TheatricalDistributor, ContractSignedOn = Day(year - 1), DistributionCost = Money(cost * 0.1) },
                });
            if (rnd.NextDouble() < 0.15)
            {
                var role = new V1.RoleInput { Role = V1.Role.InternationalDistributor, ContractSignedOn = Day(year - 1) };
                for (var s = 1 + rnd.Next(4); s > 0; s--)
                    role.ForeignSales.Add(new V1.ForeignSale { Date = Day(year), Amount = Money(Math.Exp(9 + 3 * rnd.NextDouble())), Country = countries[rnd.Next(countries.Length)] });
                claims.Add(new V1.Claim { CompanyId = Pick(international), WorkId = id, Role = role });
            }
            if (rnd.NextDouble() < 0.08)
            {
                var role = new V1.RoleInput { Role = V1.Role.HomeEntertainmentPublisher };
                role.HomeEntertainmentSales.Add(new V1.DatedAmount { Date = Day(year), Amount = Money(Math.Exp(8 + 3 * rnd.NextDouble())) });
                claims.Add(new V1.Claim { CompanyId = Pick(publishers), WorkId = id, Role = role });
            }
        }
        foreach (var c in claims) yield return new V1.AllocateRequest { Claim = c };
    }
}
