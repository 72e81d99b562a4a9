using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Server;
using Google.Protobuf;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// The JSON paths (google.api.http in the protos, JSON transcoding) over a real loopback Kestrel, on the gRPC port,
/// called with HttpClient: the answers equal the gRPC answers, errors are HTTP statuses with the google.rpc.Status as
/// JSON, and the OpenAPI description is served. The port is HTTP/2 only (h2c), so the client speaks HTTP/2 with prior
/// knowledge, as curl --http2-prior-knowledge does.
/// </summary>
[Collection("server")]
public sealed class RestTests(ServerFixture fixture) : IDisposable
{
    private readonly HttpClient _http = new()
    {
        BaseAddress = fixture.Server.Address,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    private ScoringService.ScoringServiceClient Grpc => new(fixture.Channel);

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(30);

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Get_rule_sets_is_ListRuleSets_as_json()
    {
        using var response = await _http.GetAsync(new Uri("/v1/rule-sets", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"ruleSets\":[", json, StringComparison.Ordinal);
        var rest = JsonParser.Default.Parse<ListRuleSetsResponse>(json);
        Assert.Contains(rest.RuleSets, r => r.Id == "dm-2021" && r.ContentHash == fixture.Server.Catalog.Find("dm-2021")!.ContentHash);
        Assert.Equal(await Grpc.ListRuleSetsAsync(new ListRuleSetsRequest(), deadline: Deadline), rest);
    }

    [Fact]
    public async Task Get_a_rule_set_by_id_in_the_path_and_404_for_an_unknown_one()
    {
        // "+" is a plain character in a path: the version with its overlay.
        using var response = await _http.GetAsync(new Uri("/v1/rule-sets/dm-2021+covid-19", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var rest = JsonParser.Default.Parse<GetRuleSetResponse>(await response.Content.ReadAsStringAsync());
        Assert.Equal("dm-2021+covid-19", rest.Summary.Id);
        Assert.Equal(await Grpc.GetRuleSetAsync(new GetRuleSetRequest { RuleSetId = "dm-2021+covid-19" }, deadline: Deadline), rest);

        using var missing = await _http.GetAsync(new Uri("/v1/rule-sets/dm-1999", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var status = JsonDocument.Parse(await missing.Content.ReadAsStringAsync());
        Assert.Equal(5, status.RootElement.GetProperty("code").GetInt32()); // NOT_FOUND
        Assert.StartsWith("rule set 'dm-1999': unknown rule set 'dm-1999' (versions: dm-2017, dm-2021)", status.RootElement.GetProperty("message").GetString(),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_works_score_with_the_example_file_gives_the_grpc_points()
    {
        var file = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "first-feature.json"));

        using var response = await _http.PostAsync(new Uri("/v1/works:score", UriKind.Relative), Json(file));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var rest = JsonParser.Default.Parse<ScoreWorkResponse>(await response.Content.ReadAsStringAsync());
        var grpc = await Grpc.ScoreWorkAsync(Examples.FirstFeature(), deadline: Deadline);
        Assert.Equal(grpc, rest);
        var producer = Assert.Single(rest.Roles, r => r.Role == Role.Producer);
        Assert.Equal("847.3333333333", producer.TotalPoints);
        Assert.Equal("190", Assert.Single(producer.Quotas, q => q.QuotaId == "cinema.cultural").Points);
        Assert.Equal("dm-2021", rest.RuleSetId);
    }

    [Fact]
    public async Task An_invalid_request_is_400_with_the_field_named_in_a_BadRequest()
    {
        var request = Examples.FirstFeature();
        request.Work.ProductionCost = "-5";
        request.Roles[0].DistributionCost = "2.4e6";

        using var response = await _http.PostAsync(new Uri("/v1/works:score", UriKind.Relative), Json(JsonFormatter.Default.Format(request)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(3, status.RootElement.GetProperty("code").GetInt32()); // INVALID_ARGUMENT
        Assert.Equal("invalid request: 2 fields are wrong (see the BadRequest details)", status.RootElement.GetProperty("message").GetString());
        var details = Assert.Single(status.RootElement.GetProperty("details").EnumerateArray());
        Assert.Equal("type.googleapis.com/google.rpc.BadRequest", details.GetProperty("@type").GetString());
        var violations = details.GetProperty("fieldViolations").EnumerateArray()
            .ToDictionary(v => v.GetProperty("field").GetString()!, v => v.GetProperty("description").GetString());
        Assert.Equal(2, violations.Count);
        Assert.Equal("must be >= 0, got -5", violations["work.production_cost"]);
        Assert.StartsWith("not a decimal number of the form", violations["roles[0].distribution_cost"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_that_is_not_a_request_is_400_and_the_server_logs_no_error()
    {
        int Errors() => fixture.Server.Logs.Entries.Count(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
        var before = Errors();

        using var broken = await _http.PostAsync(new Uri("/v1/works:score", UriKind.Relative), Json("{\"ruleSetId\": "));
        using var wrongType = await _http.PostAsync(new Uri("/v1/works:score", UriKind.Relative), Json("{\"work\": {\"kind\": \"WORK_KIND_NOVEL\"}}"));

        foreach (var response in new[] { broken, wrongType })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(3, status.RootElement.GetProperty("code").GetInt32());
        }
        Assert.Equal(before, Errors());
    }

    [Fact]
    public async Task Post_rule_sets_diff_is_DiffRuleSets_as_json()
    {
        var request = new DiffRuleSetsRequest
        {
            A = new RuleSetRef { RuleSetId = "dm-2021", WithoutOverlays = { "*" } },
            B = new RuleSetRef { RuleSetId = "dm-2021" },
        };

        using var response = await _http.PostAsync(new Uri("/v1/rule-sets:diff", UriKind.Relative), Json(JsonFormatter.Default.Format(request)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var rest = JsonParser.Default.Parse<DiffRuleSetsResponse>(await response.Content.ReadAsStringAsync());
        Assert.Equal("dm-2021", rest.A);
        Assert.Equal("dm-2021+covid-19", rest.B);
        Assert.NotEmpty(rest.Rows);
        Assert.Equal(await new ComparisonService.ComparisonServiceClient(fixture.Channel).DiffRuleSetsAsync(request, deadline: Deadline), rest);
    }

    [Fact]
    public async Task The_openapi_description_is_served_and_names_the_paths()
    {
        using var response = await _http.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        Assert.StartsWith("3.", root.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = root.GetProperty("paths");
        Assert.Equal(
            ["/v1/allocations:allocate", "/v1/ledger/companies/{companyId}/balance", "/v1/ledger/companies/{companyId}/breaches",
                "/v1/ledger/companies/{companyId}/draws", "/v1/ledger/companies/{companyId}/statement", "/v1/ledger/postings", "/v1/ledger:expire",
                "/v1/rule-sets", "/v1/rule-sets/{ruleSetId}", "/v1/rule-sets:diff", "/v1/works:score"],
            paths.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.True(paths.GetProperty("/v1/rule-sets").TryGetProperty("get", out _));
        var score = paths.GetProperty("/v1/works:score").GetProperty("post");
        // The proto comment of the RPC describes the operation.
        Assert.StartsWith("Scores one work for the roles asked", score.GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.True(root.GetProperty("components").GetProperty("schemas").TryGetProperty("ScoreWorkRequest", out _));
        Assert.Equal("openapi/{documentName}.json", ContributiServer.OpenApiRoute);
    }

    [Fact]
    public async Task The_port_is_HTTP2_only_so_an_HTTP1_request_is_refused()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/rule-sets", UriKind.Relative))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var response = await _http.SendAsync(request);

        // Kestrel's answer on an HTTP/2-only cleartext endpoint (README: curl needs --http2-prior-knowledge).
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("HTTP/2 only endpoint", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
}
