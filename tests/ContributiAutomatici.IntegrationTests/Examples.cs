using System.Globalization;
using ContributiAutomatici.Contracts.V1;
using Google.Protobuf;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>examples/first-feature.json and variants of it, with their hand-derived scores (Tabella 1 only).</summary>
public static class Examples
{
    public static ScoreWorkRequest FirstFeature() =>
        JsonParser.Default.Parse<ScoreWorkRequest>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "first-feature.json")));

    /// <summary>The example with its own work id and a first box-office period of 1,500,000 + <paramref name="extra"/>
    /// (so a total box office of 2,400,000 + extra).</summary>
    public static ScoreWorkRequest Variant(string workId, decimal extra)
    {
        var request = FirstFeature();
        request.Work.Id = workId;
        request.Work.BoxOffice[0].Amount = (1_500_000m + extra).ToString(CultureInfo.InvariantCulture);
        return request;
    }

    /// <summary>
    /// The example's points for a total box office <paramref name="boxOffice"/>, by hand from Tabella 1:
    /// A.1 producer in marginal tiers (0-1M at 1/5,000, 1-3M at 1/7,500, 3-5M at 1/10,000), distributor 1/25,000
    /// up to 5M; +20% when box office / cost > 50% (cost 3,000,000; distribution cost 800,000); +50% for the
    /// summer release (10 July). Cultural points do not depend on the box office: 190 and 40.
    /// </summary>
    public static Expected ExpectedFor(decimal boxOffice)
    {
        var producerA1 = Math.Min(boxOffice, 1_000_000m) / 5_000m
                         + Math.Clamp(boxOffice - 1_000_000m, 0, 2_000_000m) / 7_500m
                         + Math.Clamp(boxOffice - 3_000_000m, 0, 2_000_000m) / 10_000m;
        var producerEconomic = producerA1 * (1m + (boxOffice / 3_000_000m > 0.5m ? 0.2m : 0m) + 0.5m);
        var distributorA1 = Math.Min(boxOffice, 5_000_000m) / 25_000m;
        var distributorEconomic = distributorA1 * (1m + (boxOffice / 800_000m > 0.5m ? 0.2m : 0m) + 0.5m);
        return new Expected(producerEconomic, 190m, distributorEconomic, 40m);
    }

    public sealed record Expected(decimal ProducerEconomic, decimal ProducerCultural, decimal DistributorEconomic, decimal DistributorCultural);

    public static decimal Points(ScoreWorkResponse response, Role role, string quotaId)
    {
        var r = response.Roles.Single(x => x.Role == role);
        var q = r.Quotas.SingleOrDefault(x => x.QuotaId == quotaId);
        return q is null ? 0m : decimal.Parse(q.Points, CultureInfo.InvariantCulture);
    }

    /// <summary>Equal to the 9th decimal: the engine and this hand formula may round the 28th digit differently.</summary>
    public static void AssertPoints(decimal expected, decimal actual, string what)
    {
        if (Math.Abs(expected - actual) > 0.000000001m)
            throw new Xunit.Sdk.XunitException($"{what}: expected {expected}, got {actual}");
    }

    public static void AssertMatches(Expected expected, ScoreWorkResponse response, string what)
    {
        AssertPoints(expected.ProducerEconomic, Points(response, Role.Producer, "cinema.economic"), what + " producer cinema.economic");
        AssertPoints(expected.ProducerCultural, Points(response, Role.Producer, "cinema.cultural"), what + " producer cinema.cultural");
        AssertPoints(expected.DistributorEconomic, Points(response, Role.TheatricalDistributor, "cinema.economic"), what + " distributor cinema.economic");
        AssertPoints(expected.DistributorCultural, Points(response, Role.TheatricalDistributor, "cinema.cultural"), what + " distributor cinema.cultural");
    }
}
