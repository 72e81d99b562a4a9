using ContributiAutomatici.Protocol;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>
/// Issue 25 item 5: a foreign sale covering several countries for one amount. The golden cases
/// (rules/dm-2021/tests/tabella-4-territories.yaml) pin the points; these pin the request's checks: each country an
/// ISO 3166-1 alpha-2 code named by its field, and the same multi-country sale declared twice kept out (art. 5.10).
/// </summary>
public class ForeignTerritoryTests
{
    private static V1.ScoreWorkRequest Request(params V1.ForeignSale[] sales) => new()
    {
        RuleSetId = "dm-2021",
        Work = new V1.Work { Id = "w", Kind = V1.WorkKind.Cinema },
        Roles = { new V1.RoleInput { Role = V1.Role.InternationalDistributor, ForeignSales = { sales } } },
    };

    private static V1.ForeignSale Sale(string amount, string country, params string[] countries) => new()
    {
        Date = new Google.Type.Date { Year = 2022, Month = 5, Day = 1 }, Amount = amount, Country = country, Countries = { countries },
    };

    [Fact]
    public void Each_country_of_a_territory_is_checked_and_named_by_its_field()
    {
        var ex = Assert.Throws<InvalidRequestException>(() => RequestMapper.Map(Request(Sale("100", "", "BE", "Benelux", "L"), Sale("5", "")), Repo.Catalog));

        Assert.Equal(["roles[0].foreign_sales[0].countries[1]", "roles[0].foreign_sales[0].countries[2]", "roles[0].foreign_sales[1].country"],
            ex.Errors.Select(e => e.Field).Order(StringComparer.Ordinal));
        Assert.Contains(ex.Errors, e => e.Description.Contains("got 'Benelux'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_territory_is_its_countries_each_once_upper_cased_and_the_same_sale_twice_counts_once()
    {
        var mapped = RequestMapper.Map(Request(Sale("100", "be", "NL", "lu", "BE"), Sale("100", "BE", "NL", "LU"), Sale("100", "BE", "NL")), Repo.Catalog);

        var sales = mapped.Roles[0].ForeignSales;
        Assert.Equal(2, sales.Count);
        Assert.Equal(["BE", "NL", "LU"], sales[0].Countries);
        Assert.Equal(["BE", "NL"], sales[1].Countries);
        var twice = Assert.Single(mapped.Excluded);
        Assert.Equal(("role.foreign_sales[1]", "art. 5.10"), (twice.Field, twice.Article));
        Assert.Contains("BE+NL+LU", twice.Reason, StringComparison.Ordinal);
    }
}
