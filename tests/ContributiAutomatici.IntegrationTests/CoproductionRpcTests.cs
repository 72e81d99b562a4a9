using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// Co-productions over a real loopback server (issue 25, item 5): a work's co-producers and recognition date, the
/// category the shipped agreement lists give it (art. 2.f-h) in the score and the allocation, and INVALID_ARGUMENT
/// naming the field for what cannot be classed.
/// </summary>
[Collection("server")]
public sealed class CoproductionRpcTests(ServerFixture fixture)
{
    private ScoringService.ScoringServiceClient Raw => new(fixture.Channel);

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(30);

    private static Google.Type.Date Day(int y, int m, int d) => new() { Year = y, Month = m, Day = d };

    /// <summary>The EUR 6 million Italian-Korean film with a 15% Italian share, recognised on 1 September 2026.</summary>
    private static ScoreWorkRequest KoreanFilm()
    {
        var request = Examples.FirstFeature();
        request.RuleSetId = "dm-2021";
        request.Work.ProductionCost = "6000000";
        request.Work.CoProducers.Add(new CoProducer { CompanyId = "seoul-pictures", Country = "KR", RightsSharePercent = "85" });
        request.Work.NationalityRecognisedOn = Day(2026, 9, 1);
        return request;
    }

    private static async Task<BadRequest> InvalidArgument(Task call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var bad = ex.GetRpcStatus()?.GetDetail<BadRequest>();
        Assert.NotNull(bad);
        Assert.All(bad.FieldViolations, v => Assert.False(string.IsNullOrWhiteSpace(v.Description)));
        return bad;
    }

    [Fact]
    public async Task The_score_names_the_Korean_film_a_compartecipazione_with_art_2_g_and_the_20_percent_of_art_5_8()
    {
        var response = await Raw.ScoreWorkAsync(KoreanFilm(), deadline: Deadline);

        // The shipped list has the Korean agreement as being prepared, without a date: no agreement in force.
        var c = response.Coproduction;
        Assert.Equal(CoproductionCategory.Participation, c.Category);
        Assert.Equal("compartecipazione internazionale", c.Label);
        Assert.Equal("art. 2.g", c.Article);
        Assert.Contains("KR", c.Reason);
        Assert.Contains("2026-09-01", c.Reason);
        Assert.Equal("20", c.ThresholdPercent);
        Assert.Equal("art. 5.8", c.ThresholdArticle);
        // Tabella 1 B.2 reads the co-production whatever its category: the Italian share (100 - 85 = 15%) is below 20%.
        Assert.DoesNotContain(response.Roles.SelectMany(r => r.Quotas).SelectMany(q => q.Lines), l => l.RowId == "T1.B.2");
    }

    [Fact]
    public async Task A_French_co_producer_makes_a_bilateral_coproduzione_with_art_2_f_and_10_percent_from_EUR_5_million()
    {
        var request = KoreanFilm();
        request.Work.CoProducers[0].Country = "FR";
        request.Work.CoProducers[0].RightsSharePercent = "60";

        var response = await Raw.ScoreWorkAsync(request, deadline: Deadline);

        Assert.Equal(CoproductionCategory.BilateralCoproduction, response.Coproduction.Category);
        Assert.Equal("art. 2.f", response.Coproduction.Article);
        Assert.Equal("10", response.Coproduction.ThresholdPercent);
        // Italian share 40%: Tabella 1 B.2 (20%-90%) scores 25 for the producer.
        var producer = response.Roles.Single(r => r.Role == Role.Producer);
        Assert.Equal("25", producer.Quotas.SelectMany(q => q.Lines).Single(l => l.RowId == "T1.B.2").Points);
    }

    [Fact]
    public async Task Unknown_countries_shares_out_of_range_and_a_missing_recognition_date_are_INVALID_ARGUMENT_naming_each_field()
    {
        var request = Examples.FirstFeature();
        request.Work.CoProducers.Add(new CoProducer { CompanyId = "x", Country = "XX", RightsSharePercent = "0" });
        request.Work.CoProducers.Add(new CoProducer { CompanyId = "y", Country = "UK", RightsSharePercent = "101" });
        request.Work.CoProducers.Add(new CoProducer { CompanyId = "", Country = "KR", RightsSharePercent = "dieci" });

        var bad = await InvalidArgument(Raw.ScoreWorkAsync(request, deadline: Deadline).ResponseAsync);

        Assert.Equal(
            [
                "work.co_producers", // 0 + 101: over 100%
                "work.co_producers[0].country", "work.co_producers[0].rights_share_percent",
                "work.co_producers[1].country", "work.co_producers[1].rights_share_percent",
                "work.co_producers[2].company_id", "work.co_producers[2].rights_share_percent",
                "work.nationality_recognised_on",
            ],
            bad.FieldViolations.Select(v => v.Field).Order(StringComparer.Ordinal).ToArray());
        Assert.Contains("ISO 3166-1", bad.FieldViolations.First(v => v.Field == "work.co_producers[1].country").Description);
        Assert.Contains("art. 2.f-h", bad.FieldViolations.Single(v => v.Field == "work.nationality_recognised_on").Description);
    }

    [Fact]
    public async Task An_Italian_share_that_with_the_foreign_shares_exceeds_100_percent_is_INVALID_ARGUMENT()
    {
        var request = KoreanFilm();
        request.Work.ItalianSharePercent = "20"; // + 85 = 105%

        var bad = await InvalidArgument(Raw.ScoreWorkAsync(request, deadline: Deadline).ResponseAsync);

        var v = Assert.Single(bad.FieldViolations);
        Assert.Equal("work.italian_share_percent", v.Field);
        Assert.Contains("over 100%", v.Description);
    }

    [Fact]
    public async Task A_co_production_flag_the_agreements_contradict_is_INVALID_ARGUMENT_naming_the_flag_and_the_article()
    {
        var request = KoreanFilm();
        request.Work.Coproduction = CoproductionKind.Bilateral; // no agreement with Korea in force: a compartecipazione
        request.Work.DurationMinutes = "-90"; // another wrong field: both come back in one answer

        var bad = await InvalidArgument(Raw.ScoreWorkAsync(request, deadline: Deadline).ResponseAsync);

        Assert.Equal(["work.coproduction", "work.duration_minutes"], bad.FieldViolations.Select(f => f.Field).Order(StringComparer.Ordinal).ToArray());
        var v = bad.FieldViolations.Single(f => f.Field == "work.coproduction");
        Assert.Contains("compartecipazione internazionale (art. 2.g", v.Description);

        // The flag that agrees is accepted: French and German co-producers make a multilateral coproduzione.
        var multi = KoreanFilm();
        multi.Work.CoProducers[0].Country = "FR";
        multi.Work.CoProducers[0].RightsSharePercent = "40";
        multi.Work.CoProducers.Add(new CoProducer { CompanyId = "berlin-film", Country = "DE", RightsSharePercent = "40" });
        multi.Work.Coproduction = CoproductionKind.Multilateral;
        var response = await Raw.ScoreWorkAsync(multi, deadline: Deadline);
        Assert.Equal(CoproductionCategory.MultilateralCoproduction, response.Coproduction.Category);
    }

    [Fact]
    public async Task The_allocation_keeps_the_Korean_film_out_with_art_5_8_and_art_2_g_and_states_its_category()
    {
        var year = new AllocationYear
        {
            Header = new AllocationHeader { RuleSetId = "dm-2021", ApplicationYear = 2026, Budget = "1000000" },
            Companies =
            {
                new Company { Id = "alfa", Name = "Alfa Film", AtecoCode = "59.11", EeaSeat = true, NetWorth = "100000" },
                new Company { Id = "gamma", Name = "Gamma Film", AtecoCode = "59.11", EeaSeat = true, NetWorth = "100000" },
            },
        };
        var korean = new Work
        {
            Id = "italo-coreano", Kind = WorkKind.Cinema, ProductionCost = "6000000", NationalityRecognisedOn = Day(2026, 9, 1),
            CoProducers = { new CoProducer { CompanyId = "seoul-pictures", Country = "KR", RightsSharePercent = "85" } },
        };
        year.Works.Add(new AllocationWork { Work = korean, Eligible = true, GivenPoints = { Given("cinema.economic", "100") } });
        year.Works.Add(new AllocationWork
        {
            Work = new Work { Id = "nazionale", Kind = WorkKind.Cinema }, Eligible = true, GivenPoints = { Given("cinema.economic", "100") },
        });
        year.Claims.Add(new Claim { CompanyId = "gamma", WorkId = "italo-coreano", Role = new RoleInput { Role = Role.Producer } });
        year.Claims.Add(new Claim { CompanyId = "alfa", WorkId = "nazionale", Role = new RoleInput { Role = Role.Producer } });

        var client = new AllocationService.AllocationServiceClient(fixture.Channel);
        using var call = client.Allocate(deadline: DateTime.UtcNow.AddMinutes(2));
        foreach (var item in AllocationMapper.Items(year)) await call.RequestStream.WriteAsync(item);
        await call.RequestStream.CompleteAsync();
        var answers = new List<AllocateResponse>();
        await foreach (var a in call.ResponseStream.ReadAllAsync()) answers.Add(a);
        var result = AllocationMapper.Result(answers);

        var excluded = Assert.Single(result.Exclusions);
        Assert.Equal("italo-coreano", excluded.WorkId);
        Assert.Equal("art. 5.8; art. 2.g", excluded.Article);
        Assert.Contains("Italian share 15% is below the 20% of a compartecipazione internazionale", excluded.Reason);
        var statement = result.Works.Single(w => w.WorkId == "italo-coreano");
        Assert.Equal(CoproductionCategory.Participation, statement.Coproduction.Category);
        Assert.Null(result.Works.Single(w => w.WorkId == "nazionale").Coproduction); // a national work: no category in its statement
        // The national work alone in cinema.economic (315,000) is capped at 30% (art. 6.4.a): 94,500.
        Assert.Equal("94500", result.Companies.Single(c => c.CompanyId == "alfa").Total);
    }

    private static GivenPoints Given(string quota, string points) => new() { Role = Role.Producer, QuotaId = quota, Points = points };
}
