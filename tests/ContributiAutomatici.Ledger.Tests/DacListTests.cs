namespace ContributiAutomatici.Ledger.Tests;

/// <summary>
/// Art. 15.2 reads the rules' OECD DAC list (rules/dm-2021/elenco-dac.yaml, the 2024-2025 edition, in force from 1 January
/// 2024), not the request's word: a listed State counts whatever the request says, a State the list does not have (or not
/// yet, on the day of the draw) is refused when the request claims it, naming the field and the article.
/// </summary>
public class DacListTests
{
    private static DrawRequest Draw(DateOnly on, params Coproducer[] coproducers) =>
        LedgerTests.Draw("acme", 10_000m, on) with { Coproducers = coproducers };

    [Fact]
    public void A_co_producer_from_a_State_on_the_rules_DAC_list_counts_even_unflagged()
    {
        var checkedDraw = DacList.Checked(Draw(new DateOnly(2024, 6, 1), new("FR", false), new("SN", false)), Repo.Catalog);
        Assert.Equal([("FR", false), ("SN", true)], checkedDraw.Coproducers.Select(c => (c.Country, c.DacListed)));
    }

    [Theory]
    [InlineData("FR", 2024, "'FR' is not on the OECD DAC list of dm-2021 on 2024-06-01 (elenco-dac.yaml)")]
    [InlineData("SN", 2023, "'SN' is not on the OECD DAC list of dm-2021 on 2023-06-01 (elenco-dac.yaml)")]
    public void A_DAC_listing_the_rules_do_not_have_on_the_day_is_refused_with_the_field_and_article(string country, int year, string reason)
    {
        var refusal = Assert.Throws<LedgerRefusal>(() => DacList.Checked(Draw(new DateOnly(year, 6, 1), new("IT", false), new(country, true)), Repo.Catalog));
        Assert.Equal((RefusalKind.InvalidArgument, "coproducers[1].dac_listed", "art. 15.2"), (refusal.Kind, refusal.Field, refusal.Article));
        Assert.StartsWith(reason, refusal.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_draw_without_co_producers_is_left_as_it_is()
    {
        var draw = Draw(new DateOnly(2024, 6, 1));
        Assert.Same(draw, DacList.Checked(draw, Repo.Catalog));
    }
}
