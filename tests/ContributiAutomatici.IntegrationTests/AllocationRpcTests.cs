using ContributiAutomatici.Client;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using Grpc.Core;
using Xunit;
using ContributiAutomatici.Tooling;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>contributi.v1.AllocationService over a real loopback Kestrel: streamed in, streamed out, errors.</summary>
[Collection("server")]
public sealed class AllocationRpcTests(ServerFixture fixture)
{
    private AllocationService.AllocationServiceClient Raw => new(fixture.Channel);

    private static AllocationYear ExampleYear() =>
        JsonParser.Default.Parse<AllocationYear>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "year-2023.json")));

    private static async Task<List<AllocateResponse>> Allocate(AllocationService.AllocationServiceClient client, IEnumerable<AllocateRequest> items)
    {
        using var call = client.Allocate(deadline: DateTime.UtcNow.AddMinutes(2));
        foreach (var item in items) await call.RequestStream.WriteAsync(item);
        await call.RequestStream.CompleteAsync();
        var answers = new List<AllocateResponse>();
        await foreach (var a in call.ResponseStream.ReadAllAsync()) answers.Add(a);
        return answers;
    }

    private AllocationResult InProcess(IEnumerable<AllocateRequest> items)
    {
        var reader = new AllocationMapper.Reader(fixture.Server.Catalog);
        foreach (var item in items) reader.Add(item);
        return AllocationMapper.Result(AllocationMapper.Items(Allocator.Run(reader.Build())));
    }

    [Fact]
    public async Task The_example_year_streams_back_summary_then_companies_works_exclusions_as_allocated_in_process()
    {
        var items = AllocationMapper.Items(ExampleYear()).ToList();

        var answers = await Allocate(Raw, items);

        Assert.Equal(AllocateResponse.ItemOneofCase.Summary, answers[0].ItemCase);
        var order = answers.Skip(1).Select(a => a.ItemCase).ToList();
        Assert.Equal(order.OrderBy(c => c).ToList(), order); // companies, then works, then exclusions
        var result = AllocationMapper.Result(answers);
        Assert.Equal(InProcess(items), result);

        var s = result.Summary;
        Assert.Equal("dm-2021", s.RuleSetId);
        Assert.Equal(["covid-19"], s.Overlays);
        Assert.Equal(fixture.Server.Catalog.Find("dm-2021+covid-19")!.ContentHash, s.ContentHash);
        Assert.Equal("400000", s.Reserved); // video games: 4% of 10,000,000, never spread
        // One TV series alone in tv_web.economic: capped at 30% of 900,000 (art. 6.4.a), the rest unassigned.
        var tv = result.Companies.Single(c => c.CompanyId == "eta-serie").Credits.Single(c => c.QuotaId == "tv_web.economic");
        Assert.Equal("270000", tv.Amount);
        Assert.Contains("work cap (art. 6.4.a): serie-tv", tv.Caps);
        Assert.Equal(new Google.Type.Date { Year = 2028, Month = 12, Day = 31 }, tv.ExpiresOn); // art. 12.5
        // The only short film shares the 5% of cinema.cultural (art. 3.3): 157,500.
        var shortFilms = s.Quotas.Single(q => q.QuotaId == "cinema.cultural").ShortFilms;
        Assert.True(shortFilms.Binding);
        Assert.Equal("157500", result.Companies.Single(c => c.CompanyId == "zeta-corti").Total);
        Assert.Equal(["art. 4.2.a", "art. 5.2", "art. 5.8"], result.Exclusions.Select(e => e.Article).Order().ToList());
    }

    [Fact]
    public async Task The_typed_client_allocates_the_same_year_whatever_the_order_of_its_items()
    {
        var items = AllocationMapper.Items(ExampleYear()).ToList();
        var shuffled = items.Take(1).Concat(items.Skip(1).OrderBy(i => i.CalculateSize() * 7919 % 101)).ToList();
        using var client = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address });

        var a = await client.AllocateAsync(items);
        var b = await client.AllocateAsync(shuffled);

        Assert.Equal(a.ToByteArray(), b.ToByteArray());
        Assert.Equal(InProcess(items), a);
    }

    [Fact]
    public async Task A_bad_year_is_one_INVALID_ARGUMENT_naming_every_offending_field()
    {
        var year = ExampleYear();
        year.Header.Budget = "-5";
        year.Claims[0].Role.Role = (Role)42;
        year.Claims[1].RightsSharePercent = "150";
        year.Claims[2].WorkId = "never-given";
        var items = AllocationMapper.Items(year).ToList();

        var ex = await Assert.ThrowsAsync<RpcException>(() => Allocate(Raw, items));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var fields = ContributiClient.FieldViolations(ex).Select(v => v.Field).ToList();
        Assert.Contains("items[0].header.budget", fields);
        var claims = 1 + year.Companies.Count + year.Works.Count;
        Assert.Contains($"items[{claims}].claim.role.role", fields);
        Assert.Contains($"items[{claims + 1}].claim.rights_share_percent", fields);
        Assert.Contains($"items[{claims + 2}].claim.work_id", fields);
        Assert.Equal(4, fields.Count);
    }

    [Fact]
    public async Task A_year_without_header_or_with_an_unknown_version_is_refused()
    {
        var year = ExampleYear();
        var noHeader = AllocationMapper.Items(year).Skip(1).ToList();
        var ex = await Assert.ThrowsAsync<RpcException>(() => Allocate(Raw, noHeader));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("items[0].header", ContributiClient.FieldViolations(ex).Select(v => v.Field));

        year.Header.RuleSetId = "";
        year.Header.ApplicationYear = 2016;
        var notFound = await Assert.ThrowsAsync<RpcException>(() => Allocate(Raw, AllocationMapper.Items(year)));
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        Assert.Contains("2020-", notFound.Status.Detail);
    }

    [Fact]
    public async Task A_synthetic_year_of_3000_works_goes_through_the_stream_within_the_default_message_limits()
    {
        var rs = fixture.Server.Catalog.Find("dm-2021")!;
        var items = YearSynthesizer.Items(rs, 300, 3_000, seed: 7, year: 2023, budget: 100_000_000m).ToList();

        var result = AllocationMapper.Result(await Allocate(Raw, items));

        Assert.Equal(300, result.Companies.Count);
        Assert.Equal(3_000, result.Works.Count);
        Assert.Equal(InProcess(items), result);
        foreach (var q in result.Summary.Quotas.Where(q => q.AllocatedHere))
            Assert.True(decimal.Parse(q.Allocated, System.Globalization.CultureInfo.InvariantCulture) <=
                        decimal.Parse(q.Resources, System.Globalization.CultureInfo.InvariantCulture), q.QuotaId);
    }

    // ------------------------------------------------------------------ issue 25: the account, a statement per company

    private static decimal D(string s) => decimal.Parse(s, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task The_account_comes_over_grpc_each_quota_reconciled_as_written()
    {
        var year = ExampleYear();
        year.Header.ExcessPolicy = Contracts.V1.ExcessPolicy.Redistribute;

        var result = AllocationMapper.Result(await Allocate(Raw, AllocationMapper.Items(year)));

        // examples/year-2023.json under redistribute: cinema.economic's work cap cut 1,223,977.39 at the nominal value
        // 1,099.14 EUR per point; 315,000 stays unassigned (every claimant capped in the end), 908,977.39 is paid to others.
        var economic = result.Summary.Quotas.Single(q => q.QuotaId == "cinema.economic").Account;
        Assert.Equal(("3150000", "2835000.01", "315000", "0"), (economic.Resources, economic.Allocated, economic.UnassignedWorkCap, economic.UnassignedCompanyCap));
        Assert.Equal(908_977.39m, Math.Round(D(economic.Redistributed), 2));
        Assert.Equal("-0.01", economic.RoundingResidue);
        foreach (var q in result.Summary.Quotas.Where(q => q.AllocatedHere))
        {
            var a = q.Account;
            Assert.Equal(D(a.Resources), D(a.Allocated) + D(a.UnassignedWorkCap) + D(a.UnassignedCompanyCap) + D(a.UnassignedShortFilmsLimit) +
                                         D(a.UnassignedNoClaimant) + D(a.RoundingResidue));
        }
        Assert.Equal(D(result.Summary.Budget), D(result.Summary.Account.Resources) + D(result.Summary.Reserved));
    }

    [Fact]
    public async Task Statements_for_one_company_over_grpc_and_over_rest_are_its_part_of_the_whole_year()
    {
        var whole = InProcess(AllocationMapper.Items(ExampleYear()));
        var year = ExampleYear();
        year.Header.StatementsFor.Add("alfa-film");

        var grpc = AllocationMapper.Result(await Allocate(Raw, AllocationMapper.Items(year)));
        var unary = (await Raw.AllocateYearAsync(new AllocateYearRequest { Year = year }, deadline: DateTime.UtcNow.AddMinutes(1))).Result;
        using var http = new HttpClient
        {
            BaseAddress = fixture.Server.Address, DefaultRequestVersion = System.Net.HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TimeSpan.FromSeconds(60),
        };
        using var body = new StringContent(JsonFormatter.Default.Format(new AllocateYearRequest { Year = year }), System.Text.Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri("/v1/allocations:allocate", UriKind.Relative), body);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var rest = JsonParser.Default.Parse<AllocateYearResponse>(await response.Content.ReadAsStringAsync()).Result;

        Assert.Equal(grpc, unary);
        Assert.Equal(grpc, rest);
        Assert.Equal(whole.Summary, grpc.Summary); // the whole year's summary always comes
        var alfa = Assert.Single(grpc.Companies);
        Assert.Equal(whole.Companies.Single(c => c.CompanyId == "alfa-film"), alfa);
        Assert.Equal("2599514.58", alfa.Total);
        Assert.Equal(D(alfa.Total), alfa.Credits.Sum(x => x.Lines.Sum(l => D(l.ExactAmount)) + D(x.Rounding)));
        Assert.Equal(["campione-incassi", "opera-prima"], grpc.Works.Select(w => w.WorkId));
        Assert.Empty(grpc.Exclusions); // none of the example's exclusions concerns alfa-film or its works

        year.Header.StatementsFor.Add("no-such-srl");
        var ex = await Assert.ThrowsAsync<RpcException>(() => Raw.AllocateYearAsync(new AllocateYearRequest { Year = year }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal(["items[0].header.statements_for[1]"], ContributiClient.FieldViolations(ex).Select(v => v.Field));
    }
}
