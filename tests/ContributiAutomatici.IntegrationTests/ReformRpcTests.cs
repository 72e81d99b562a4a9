using System.Net;
using System.Text;
using System.Text.Json;
using ContributiAutomatici.Contracts.V1;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// What-if reforms sent with requests (issue 28) over a real loopback server: gRPC and REST take the same Reform message,
/// the answer names the reform by id and content hash, a second identical request compiles nothing, and a refused reform
/// is INVALID_ARGUMENT naming its field (or its YAML's line) while the server serves its neighbours.
/// </summary>
[Collection("server")]
public sealed class ReformRpcTests(ServerFixture fixture) : IDisposable
{
    private readonly HttpClient _http = new()
    {
        BaseAddress = fixture.Server.Address,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(60),
    };

    public void Dispose() => _http.Dispose();

    private ScoringService.ScoringServiceClient Scoring => new(fixture.Channel);

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(60);

    /// <summary>Markets stop scoring (T1.C.17 off) and an Italian-Korean co-production scores 10 points (a co-producer whose seat is in Korea).</summary>
    internal static Reform Korea(string id = "korea-markets") => new()
    {
        Id = id, Title = "Mercati senza punti; 10 punti alle coproduzioni italo-coreane",
        Changes =
        {
            new ReformChange { Disable = new RowDisable { RowId = "T1.C.17", Cite = "proposta" } },
            new ReformChange
            {
                Add = new RowAddition
                {
                    RowId = "T1.C.korea", After = "T1.C.16", Label = "Coproduzione italo-coreana", Cite = "proposta",
                    Figures = { new NamedFigure { Name = "producer_points", Value = "10" } },
                    Points =
                    {
                        new RolePoints
                        {
                            Role = Role.Producer,
                            Points = "Work.CoProducers.Any(p => p.Country == \"KR\") ? producer_points : 0m",
                        },
                    },
                },
            },
        },
    };

    internal static ScoreWorkRequest KoreanWork(Reform? reform)
    {
        var request = Examples.FirstFeature();
        request.Work.ItalianSharePercent = "60";
        request.Work.CoProducers.Add(new CoProducer { CompanyId = "seoul-films", Country = "KR", RightsSharePercent = "40" });
        request.Work.NationalityRecognisedOn = new Google.Type.Date { Year = 2022, Month = 6, Day = 1 };
        request.Work.Markets.Add(new MarketEntry { MarketId = "berlinale-coproduction-market" });
        request.Reform = reform;
        return request;
    }

    internal static decimal Row(ScoreWorkResponse r, string rowId) =>
        r.Roles.Single(x => x.Role == Role.Producer).Quotas.SelectMany(q => q.Lines).Where(l => l.RowId == rowId)
            .Sum(l => decimal.Parse(l.Points, System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task A_structural_reform_is_scored_over_gRPC_and_REST_and_the_second_identical_request_compiles_nothing()
    {
        var reform = Korea("korea-rpc");
        var law = await Scoring.ScoreWorkAsync(KoreanWork(null), deadline: Deadline);
        var first = await Scoring.ScoreWorkAsync(KoreanWork(reform), deadline: Deadline);
        var second = await Scoring.ScoreWorkAsync(KoreanWork(reform), deadline: Deadline);

        Assert.Equal(25m, Row(law, "T1.C.17"));
        Assert.Equal(0m, Row(first, "T1.C.17"));
        Assert.Equal(10m, Row(first, "T1.C.korea"));
        Assert.Equal(law.RuleSetId, first.RuleSetId);
        Assert.NotEqual(law.ContentHash, first.ContentHash);
        Assert.Equal("korea-rpc", first.Reform.Id);
        Assert.Equal(64, first.Reform.ContentHash.Length);
        Assert.False(first.Reform.FigureOnly);
        Assert.Equal(ReformSource.Compiled, first.Reform.Source);
        Assert.Equal(ReformSource.Cached, second.Reform.Source);
        Assert.Equal(first.Reform.CompiledReforms, second.Reform.CompiledReforms);
        Assert.Equal(first.Roles, second.Roles);

        // REST: the same message as JSON, the same answer, and nothing compiled again.
        using var response = await _http.PostAsync(new Uri("/v1/works:score", UriKind.Relative),
            new StringContent(JsonFormatter.Default.Format(KoreanWork(reform)), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var rest = JsonParser.Default.Parse<ScoreWorkResponse>(await response.Content.ReadAsStringAsync());
        Assert.Equal(ReformSource.Cached, rest.Reform.Source);
        Assert.Equal(first.Reform.CompiledReforms, rest.Reform.CompiledReforms);
        Assert.Equal(first.Roles, rest.Roles);
        Assert.Equal(first.ContentHash, rest.ContentHash);
    }

    [Fact]
    public async Task The_ScoreWorks_stream_takes_a_reform_per_item_and_a_refused_one_is_that_item_s_error_only()
    {
        var hostile = Korea("hostile-stream");
        hostile.Changes[1].Add.Points[0].Points = "System.IO.File.ReadAllText(\"/etc/passwd\").Length";
        using var call = Scoring.ScoreWorks(deadline: Deadline);
        await call.RequestStream.WriteAsync(new ScoreWorksRequest { RequestId = "law", Request = KoreanWork(null) });
        await call.RequestStream.WriteAsync(new ScoreWorksRequest { RequestId = "reform", Request = KoreanWork(Korea("korea-stream")) });
        await call.RequestStream.WriteAsync(new ScoreWorksRequest { RequestId = "hostile", Request = KoreanWork(hostile) });
        await call.RequestStream.WriteAsync(new ScoreWorksRequest { RequestId = "again", Request = KoreanWork(Korea("korea-stream")) });
        await call.RequestStream.CompleteAsync();
        var answers = new Dictionary<string, ScoreWorksResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) answers[call.ResponseStream.Current.RequestId] = call.ResponseStream.Current;

        Assert.Equal(["again", "hostile", "law", "reform"], answers.Keys.Order().ToArray());
        Assert.Equal(25m, Row(answers["law"].Response, "T1.C.17"));
        Assert.Null(answers["law"].Response.Reform);
        var reformed = answers["reform"].Response;
        Assert.Equal("korea-stream", reformed.Reform.Id);
        Assert.Equal(ReformSource.Compiled, reformed.Reform.Source);
        Assert.Equal(0m, Row(reformed, "T1.C.17"));
        Assert.Equal(10m, Row(reformed, "T1.C.korea"));
        Assert.Equal(ReformSource.Cached, answers["again"].Response.Reform.Source);
        Assert.Equal(reformed.Roles, answers["again"].Response.Roles);
        var error = answers["hostile"].Error;
        Assert.Equal((int)StatusCode.InvalidArgument, error.Code);
        var violation = Assert.Single(error.Details.Single(d => d.Is(BadRequest.Descriptor)).Unpack<BadRequest>().FieldViolations);
        Assert.Equal("reform.changes[1].add.points[0].points", violation.Field);
    }

    [Fact]
    public async Task REST_allocate_takes_a_reform_in_the_year_s_header_and_names_it_in_the_summary()
    {
        var year = JsonParser.Default.Parse<AllocationYear>(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "year-2023.json")));
        year.Header.Reform = new Reform
        {
            Id = "cinema-60-rest", Title = "Cinema al 60%, TV e web al 21%",
            Changes =
            {
                new ReformChange { Quota = new QuotaShareChange { QuotaId = "cinema", SharePercent = "60" } },
                new ReformChange { Quota = new QuotaShareChange { QuotaId = "tv_web", SharePercent = "21" } },
            },
        };
        using var response = await _http.PostAsync(new Uri("/v1/allocations:allocate", UriKind.Relative),
            new StringContent(JsonFormatter.Default.Format(new AllocateYearRequest { Year = year }), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var summary = JsonParser.Default.Parse<AllocateYearResponse>(await response.Content.ReadAsStringAsync()).Result.Summary;
        Assert.Equal("cinema-60-rest", summary.Reform.Id);
        Assert.Equal(64, summary.Reform.ContentHash.Length);
        // 60% of the budget for cinema, half of it to each sub-quota.
        Assert.Equal("3000000", summary.Quotas.Single(q => q.QuotaId == "cinema.economic").Resources);

        year.Header.Reform.Changes[0].Quota.SharePercent = "64";
        year.Header.Reform.Changes.RemoveAt(1);
        using var refused = await _http.PostAsync(new Uri("/v1/allocations:allocate", UriKind.Relative),
            new StringContent(JsonFormatter.Default.Format(new AllocateYearRequest { Year = year }), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("add up to 101%, not 100%", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_figure_only_reform_sent_as_YAML_compiles_nothing_and_its_errors_name_the_line()
    {
        var yaml = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "reforms", "tier-1-4000.yaml"));
        var request = Examples.FirstFeature();
        request.Reform = new Reform { Yaml = yaml };
        var law = await Scoring.ScoreWorkAsync(Examples.FirstFeature(), deadline: Deadline);
        var reformed = await Scoring.ScoreWorkAsync(request, deadline: Deadline);
        Assert.True(reformed.Reform.FigureOnly);
        Assert.NotEqual(ReformSource.Compiled, reformed.Reform.Source);
        // 1,000,000 of the 2,400,000 in the first tier: 200 points at 1 per 5,000, 250 at 1 per 4,000.
        Assert.Equal(Row(law, "T1.A.1") + 50m, Row(reformed, "T1.A.1"));

        request.Reform = new Reform { Yaml = yaml.Replace("value: 4000", "value: 4.000", StringComparison.Ordinal) };
        var ex = await Assert.ThrowsAsync<RpcException>(() => Scoring.ScoreWorkAsync(request, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var violation = Assert.Single(ex.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations);
        Assert.Equal("reform.yaml", violation.Field);
        var line = yaml.Split('\n').ToList().FindIndex(l => l.Contains("- figure:", StringComparison.Ordinal)) + 1;
        Assert.StartsWith($"line {line}:", violation.Description, StringComparison.Ordinal);
        Assert.Contains("did you mean 4000?", violation.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_figures_broken_quotas_and_hostile_expressions_are_INVALID_ARGUMENT_naming_the_field_and_the_server_serves_on()
    {
        async Task<BadRequest.Types.FieldViolation> Refused(Reform reform)
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => Scoring.ScoreWorkAsync(KoreanWork(reform), deadline: Deadline).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
            return ex.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.First();
        }

        var unknown = await Refused(new Reform
        {
            Id = "r", Title = "t",
            Changes = { new ReformChange { Figure = new FigureChange { Path = "T1.A.1.tier_1_eur_per_pont", Value = "4000" } } },
        });
        Assert.Equal("reform.changes[0].figure.path", unknown.Field);
        Assert.Contains("did you mean 'tier_1_eur_per_point'", unknown.Description, StringComparison.Ordinal);

        var quotas = await Refused(new Reform
        {
            Id = "r", Title = "t",
            Changes = { new ReformChange { Quota = new QuotaShareChange { QuotaId = "cinema", SharePercent = "64" } } },
        });
        Assert.Equal("reform.changes[0].quota.quota_id", quotas.Field);
        Assert.Contains("add up to 101%, not 100%", quotas.Description, StringComparison.Ordinal);

        var hostile = Korea("hostile");
        hostile.Changes[1].Add.Points[0].Points = "System.IO.File.ReadAllText(\"/etc/passwd\").Length";
        var refused = await Refused(hostile);
        Assert.Equal("reform.changes[1].add.points[0].points", refused.Field);

        // Its neighbours are served.
        var law = await Scoring.ScoreWorkAsync(Examples.FirstFeature(), deadline: Deadline);
        Assert.Equal("847.3333333333", law.Roles.Single(r => r.Role == Role.Producer).TotalPoints);
    }

    [Fact]
    public async Task CompareWorks_puts_the_law_against_the_reform_and_names_the_reform_on_its_side()
    {
        var comparison = new ComparisonService.ComparisonServiceClient(fixture.Channel);
        using var call = comparison.CompareWorks(deadline: Deadline);
        var work = KoreanWork(null);
        await call.RequestStream.WriteAsync(new CompareWorksRequest
        {
            RequestId = "1", A = new RuleSetRef { RuleSetId = "dm-2021" }, B = new RuleSetRef { RuleSetId = "dm-2021", Reform = Korea("korea-compare") },
            Work = work.Work, Roles = { work.Roles },
        });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var c = call.ResponseStream.Current.Comparison;
        Assert.NotNull(c);
        Assert.Null(c.AReform);
        Assert.Equal("korea-compare", c.BReform.Id);
        var producer = c.Roles.Single(r => r.Role == Role.Producer);
        Assert.Equal(["T1.C.17", "T1.C.korea"], producer.Rows.Select(r => r.RowId).ToArray());
        Assert.Equal("-15", producer.Difference);
    }

    [Fact]
    public async Task Allocate_and_CompareAllocations_take_a_reform_of_the_quotas_and_name_it_in_the_summary()
    {
        var year = JsonParser.Default.Parse<AllocationYear>(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "year-2023.json")));
        var reform = new Reform
        {
            Id = "cinema-60", Title = "Cinema al 60%, TV e web al 21%",
            Changes =
            {
                new ReformChange { Quota = new QuotaShareChange { QuotaId = "cinema", SharePercent = "60" } },
                new ReformChange { Quota = new QuotaShareChange { QuotaId = "tv_web", SharePercent = "21" } },
            },
        };
        var items = ContributiAutomatici.Protocol.AllocationMapper.Items(year).Select(i => i.Clone()).ToList();
        items[0].Header.Reform = reform;
        var allocation = new AllocationService.AllocationServiceClient(fixture.Channel);
        using (var call = allocation.Allocate(deadline: Deadline))
        {
            foreach (var item in items) await call.RequestStream.WriteAsync(item);
            await call.RequestStream.CompleteAsync();
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            var summary = call.ResponseStream.Current.Summary;
            Assert.Equal("cinema-60", summary.Reform.Id);
            Assert.True(summary.Reform.FigureOnly);
            // 60% of the budget for cinema, half of it to each sub-quota.
            Assert.Equal("3000000", summary.Quotas.Single(q => q.QuotaId == "cinema.economic").Resources);
        }

        var comparison = new ComparisonService.ComparisonServiceClient(fixture.Channel);
        using var compare = comparison.CompareAllocations(deadline: Deadline);
        var header = ContributiAutomatici.Protocol.AllocationMapper.Items(year).First().Header;
        var b = header.Clone();
        b.Reform = reform;
        await compare.RequestStream.WriteAsync(new CompareAllocationsRequest { Sides = new CompareSides { A = header, B = b } });
        foreach (var item in items.Skip(1))
            await compare.RequestStream.WriteAsync(item.ItemCase switch
            {
                AllocateRequest.ItemOneofCase.Company => new CompareAllocationsRequest { Company = item.Company },
                AllocateRequest.ItemOneofCase.Work => new CompareAllocationsRequest { Work = item.Work },
                _ => new CompareAllocationsRequest { Claim = item.Claim },
            });
        await compare.RequestStream.CompleteAsync();
        var r = await compare.ResponseAsync;
        Assert.Null(r.A.Reform);
        Assert.Equal("cinema-60", r.B.Reform.Id);
        var economic = r.Quotas.Single(q => q.QuotaId == "cinema.economic");
        Assert.Equal(("31.5", "30"), (economic.ASharePercent, economic.BSharePercent));
    }
}
