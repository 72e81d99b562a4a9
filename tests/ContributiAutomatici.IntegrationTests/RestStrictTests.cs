using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// The JSON paths hold a request to what gRPC and the CLI hold it to: a typo of a field, a value of the wrong JSON type
/// or an enum name that does not exist is 400 with a google.rpc.BadRequest naming the field's path; malformed JSON
/// names its line and column; no answer names a .NET type; every call is counted in the metrics with its status. Each
/// test starts its own server (real Kestrel on a loopback port) so the metrics it reads are its own.
/// </summary>
public sealed class RestStrictTests
{
    private static string Example => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "first-feature.json"));

    /// <summary>The example request with one change made to its JSON tree.</summary>
    private static string Edited(Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(Example)!.AsObject();
        edit(json);
        return json.ToJsonString();
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body, string Text)> PostAsync(LoopbackServer server, string path, string body)
    {
        using var http = RestClient(server);
        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), text);
    }

    internal static HttpClient RestClient(LoopbackServer server) => new()
    {
        BaseAddress = server.Address,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    private static Dictionary<string, string> Violations(JsonElement status)
    {
        Assert.Equal(3, status.GetProperty("code").GetInt32()); // INVALID_ARGUMENT
        var details = Assert.Single(status.GetProperty("details").EnumerateArray());
        Assert.Equal("type.googleapis.com/google.rpc.BadRequest", details.GetProperty("@type").GetString());
        return details.GetProperty("fieldViolations").EnumerateArray()
            .ToDictionary(v => v.TryGetProperty("field", out var f) ? f.GetString()! : "", v => v.GetProperty("description").GetString()!); // a whole-body problem has no field
    }

    [Fact]
    public async Task A_typo_of_a_field_is_400_naming_its_path_and_the_field_meant_not_a_score_without_it()
    {
        await using var server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog);
        var boxOffices = Edited(j => j["work"]!.AsObject().Add("box_offices", j["work"]!["box_office"]!.DeepClone()));
        var productionCots = Edited(j => j["work"]!.AsObject().Add("production_cots", "3000000"));

        var (status, body, text) = await PostAsync(server, "/v1/works:score", boxOffices);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid request: work.box_offices: unknown field of Work; did you mean 'box_office'?", body.GetProperty("message").GetString());
        Assert.Equal("unknown field of Work; did you mean 'box_office'?", Assert.Single(Violations(body)).Value);
        Assert.Equal("work.box_offices", Assert.Single(Violations(body)).Key);
        Assert.DoesNotContain("847", text, StringComparison.Ordinal);

        (status, body, _) = await PostAsync(server, "/v1/works:score", productionCots);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("unknown field of Work; did you mean 'production_cost'?", Violations(body)["work.production_cots"]);
    }

    [Fact]
    public async Task Wrong_types_and_a_bad_enum_are_named_by_path_in_the_protos_words_without_a_dotnet_type_name()
    {
        await using var server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog);
        var request = Edited(j =>
        {
            j["roles"]![0]!["role"] = "ROLE_PRODUCR";
            j["work"]!["title"] = 5;
            j["work"]!["first_or_second_work"] = "yes";
            j["work"]!["box_office"]![1]!["date"]!["month"] = 7.5;
            j["work"]!["festivals"] = new JsonObject();
        });

        var (status, body, text) = await PostAsync(server, "/v1/works:score", request);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var violations = Violations(body);
        Assert.Equal(5, violations.Count);
        Assert.StartsWith("'ROLE_PRODUCR' is not a value of Role; did you mean 'ROLE_PRODUCER'? (one of ROLE_UNSPECIFIED, ROLE_PRODUCER", violations["roles[0].role"], StringComparison.Ordinal);
        Assert.Equal("must be a JSON string, got a number (5)", violations["work.title"]);
        Assert.Equal("must be true or false, got a string (\"yes\")", violations["work.first_or_second_work"]);
        Assert.Equal("must be a whole number of 32 bits (a JSON number), got a number (7.5)", violations["work.box_office[1].date.month"]);
        Assert.Equal("must be a JSON array (a repeated field), got an object", violations["work.festivals"]);
        Assert.Equal("invalid request: 5 fields are wrong (see the BadRequest details)", body.GetProperty("message").GetString());
        Assert.DoesNotContain("ContributiAutomatici", text, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_json_names_its_line_and_column()
    {
        await using var server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog);

        var (status, body, text) = await PostAsync(server, "/v1/works:score", "{\n  \"rule_set_id\": \"dm-2021\",\n  \"work\": {\"id\": \"x\",, }\n}");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(3, body.GetProperty("code").GetInt32());
        Assert.True(body.GetProperty("message").GetString()!.StartsWith("invalid request: malformed JSON at line 3, column 22: ", StringComparison.Ordinal), text);
        Assert.StartsWith("malformed JSON at line 3, column 22", Assert.Single(Violations(body)).Value, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", text, StringComparison.Ordinal);

        (status, body, _) = await PostAsync(server, "/v1/works:score", "{\"ruleSetId\": ");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("invalid request: malformed JSON at line 1, column 15", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_limits_as_grpc_an_unknown_query_parameter_and_the_json_names_still_accepted()
    {
        await using var server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog);
        using var http = RestClient(server);

        // Over 4 MiB, as a gRPC message would be.
        var huge = Edited(j => j["work"]!["title"] = new string('x', 4 * 1024 * 1024 + 10));
        var (status, body, _) = await PostAsync(server, "/v1/works:score", huge);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal(8, body.GetProperty("code").GetInt32()); // RESOURCE_EXHAUSTED
        // A body without a length (streamed) is cut off just past the limit, not read whole to learn its size.
        using (var streamed = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge))))
        {
            streamed.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var noLength = await http.PostAsync(new Uri("/v1/works:score", UriKind.Relative), new NoLength(streamed));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, noLength.StatusCode);
            using var cut = JsonDocument.Parse(await noLength.Content.ReadAsStringAsync());
            Assert.Equal("request body is larger than the 4194304 bytes a request may have (bulk scoring goes through the ScoreWorkBatches or ScoreWorks stream, a message per batch or per work)",
                cut.RootElement.GetProperty("message").GetString());
        }
        // The service's own limits: 1,001 characters of title is a field violation, as over gRPC.
        (status, body, _) = await PostAsync(server, "/v1/works:score", Edited(j => j["work"]!["title"] = new string('x', 1001)));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("work.title", Violations(body).Keys);

        using var unknown = await http.GetAsync(new Uri("/v1/rule-sets?verbose=true", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        using var unknownBody = JsonDocument.Parse(await unknown.Content.ReadAsStringAsync());
        Assert.Equal("unknown query parameter: not a field of ListRuleSetsRequest", Violations(unknownBody.RootElement)["verbose"]);

        // lowerCamelCase names and enum numbers are proto3 JSON: accepted. A quoted 32-bit number is refused by name
        // (the transcoder reads it unquoted only) instead of the transcoder's "not correctly formatted".
        (status, body, _) = await PostAsync(server, "/v1/works:score", Edited(j => j["work"]!["first_release_date"]!["year"] = "2022"));
        Assert.Equal("must be a whole number of 32 bits (a JSON number), got a string (\"2022\")", Violations(body)["work.first_release_date.year"]);
        var camel = Edited(j =>
        {
            j["ruleSetId"] = j["rule_set_id"]!.DeepClone();
            j.Remove("rule_set_id");
            j["roles"]![0]!["role"] = 1;
        });
        (status, body, var camelText) = await PostAsync(server, "/v1/works:score", camel);
        Assert.True(status == HttpStatusCode.OK, camelText);
        Assert.Equal("847.3333333333", body.GetProperty("roles")[0].GetProperty("totalPoints").GetString());
    }

    [Fact]
    public async Task Every_rest_call_refused_or_answered_is_counted_with_its_status()
    {
        await using var server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog);
        using var http = RestClient(server);

        await PostAsync(server, "/v1/works:score", Example);                                                     // 200
        await PostAsync(server, "/v1/works:score", Edited(j => j["work"]!.AsObject().Add("box_offices", 1)));    // 400 here
        await PostAsync(server, "/v1/works:score", "{");                                                         // 400 here
        await PostAsync(server, "/v1/works:score", Edited(j => j["work"]!["production_cost"] = "-5"));           // 400 by the service
        using (await http.GetAsync(new Uri("/v1/rule-sets/dm-1999", UriKind.Relative))) { }                      // 404
        using (await http.GetAsync(new Uri("/v1/rule-sets", UriKind.Relative))) { }                              // 200

        using var scrape = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        var samples = PrometheusText.Parse(await scrape.Content.ReadAsStringAsync());
        double Rest(params (string, string)[] labels) => PrometheusText.Sum(samples, "contributi_rest_calls_total", labels);
        Assert.Equal(6, Rest());
        Assert.Equal(1, Rest(("http_route", "/v1/works:score"), ("http_response_status_code", "200"), ("http_request_method", "POST"), ("rpc_method", "ScoreWork")));
        Assert.Equal(3, Rest(("http_route", "/v1/works:score"), ("http_response_status_code", "400")));
        Assert.Equal(1, Rest(("http_route", "/v1/rule-sets/{rule_set_id}"), ("http_response_status_code", "404")));
        Assert.Equal(1, Rest(("http_route", "/v1/rule-sets"), ("http_response_status_code", "200")));
        // The calls that reached the service are gRPC calls too, with their gRPC status.
        Assert.Equal(1, PrometheusText.Sum(samples, "contributi_calls_total", ("rpc_method", "ScoreWork"), ("rpc_grpc_status_code", "3")));
        Assert.Equal(4, PrometheusText.Sum(samples, "contributi_rest_call_duration_seconds_count", ("http_route", "/v1/works:score")));
    }

    [Fact]
    public async Task The_openapi_document_carries_the_protos_comments_closed_messages_and_the_decimal_grammar()
    {
        await using var server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog);
        using var http = RestClient(server);

        using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));

        var root = document.RootElement;
        Assert.Contains("-?[0-9]+(\\.[0-9]+)?", root.GetProperty("info").GetProperty("description").GetString(), StringComparison.Ordinal);
        var schemas = root.GetProperty("components").GetProperty("schemas");
        var work = schemas.GetProperty("Work");
        Assert.Equal("One work and everything the decree tables read about it.", work.GetProperty("description").GetString());
        Assert.False(work.GetProperty("additionalProperties").GetBoolean());
        var cost = work.GetProperty("properties").GetProperty("productionCost");
        Assert.Equal("^-?[0-9]+(\\.[0-9]+)?$", cost.GetProperty("pattern").GetString());
        Assert.StartsWith("Costo industriale, EUR.", cost.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal("Cinema or TV/web; required.", work.GetProperty("properties").GetProperty("kind").GetProperty("description").GetString());
        Assert.Contains("ROLE_PRODUCER: Produttore", schemas.GetProperty("Role").GetProperty("description").GetString(), StringComparison.Ordinal);
        // Every property of the contract's own messages (not google.*'s) is described.
        string[] foreign = ["Any", "Date", "ListValue", "Status", "Struct", "TimeOfDay", "Value"];
        var undescribed = schemas.EnumerateObject().Where(s => !foreign.Contains(s.Name) && s.Value.TryGetProperty("properties", out _))
            .SelectMany(s => s.Value.GetProperty("properties").EnumerateObject().Where(p => !p.Value.TryGetProperty("description", out _)).Select(p => $"{s.Name}.{p.Name}"))
            .ToList();
        Assert.Empty(undescribed);
        Assert.True(schemas.EnumerateObject().Count(s => !foreign.Contains(s.Name) && s.Value.TryGetProperty("properties", out _)) >= 30);
    }

    /// <summary>Content that does not say its length, so it is sent streamed (HTTP/2 DATA frames without content-length).</summary>
    private sealed class NoLength(HttpContent inner) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => inner.CopyToAsync(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
