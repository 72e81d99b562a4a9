using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ContributiAutomatici.Contracts.V1;
using Google.Protobuf;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// The cleartext HTTP/1.1 port beside the h2c gRPC one, as curl, a browser, Prometheus and Kubernetes probes use it:
/// REST, /openapi/v1.json, /metrics in Prometheus text, /healthz and /readyz; real Kestrel on loopback ports.
/// </summary>
[Collection("server")]
public sealed class HttpPortTests(ServerFixture fixture)
{
    private LoopbackServer Server => fixture.Server;

    [Fact]
    public async Task Metrics_are_scraped_over_plain_HTTP11_and_parse_as_Prometheus_text()
    {
        // A call first, so there is a counter of ours to find.
        await new ScoringService.ScoringServiceClient(fixture.Channel).ListRuleSetsAsync(new ListRuleSetsRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
        using var http = Server.Http11();

        using var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version11, response.Version);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var samples = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(PrometheusText.Sum(samples, "contributi_calls_total", ("rpc_method", "ListRuleSets"), ("rpc_grpc_status_code", "0")) >= 1);
        Assert.Contains(samples, s => s.Name == "contributi_rules_load_duration_seconds_count" && s.Value >= 1);
    }

    [Fact]
    public async Task A_raw_socket_HTTP11_request_gets_healthz_as_curl_would()
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, Server.HttpPort!.Value);
        await using var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8\r\nConnection: close\r\n\r\n"));

        using var reader = new StreamReader(stream, Encoding.ASCII);
        var answer = await reader.ReadToEndAsync();

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", answer, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"alive\"", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_lists_the_live_rule_sets_with_their_hashes()
    {
        using var http = Server.Http11();

        using var response = await http.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var ready = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("ready", ready.RootElement.GetProperty("status").GetString());
        var sets = ready.RootElement.GetProperty("ruleSets").EnumerateArray().ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("contentHash").GetString());
        Assert.Equal(Server.Catalog.RuleSets.Count, sets.Count);
        Assert.Equal(Server.Catalog.Find("dm-2021")!.ContentHash, sets["dm-2021"]);
        Assert.Equal(Server.Catalog.Find("dm-2021+covid-19")!.ContentHash, sets["dm-2021+covid-19"]);
        Assert.Equal("0", ready.RootElement.GetProperty("rulesLoad").GetProperty("reloadFailures").GetString()); // proto3 JSON: int64 as a string
        Assert.Contains("\"dm-2021+covid-19\"", ready.RootElement.GetRawText(), StringComparison.Ordinal); // readable, not \\u002B
        Assert.True(ready.RootElement.GetProperty("rulesLoad").TryGetProperty("loadedAt", out _));
    }

    [Fact]
    public async Task Rest_and_the_openapi_description_over_HTTP11_give_what_h2c_gives()
    {
        using var http = Server.Http11();
        var file = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "first-feature.json"));

        using var scored = await http.PostAsync(new Uri("/v1/works:score", UriKind.Relative), new StringContent(file, Encoding.UTF8, "application/json"));
        using var listed = await http.GetAsync(new Uri("/v1/rule-sets", UriKind.Relative));
        using var openapi = await http.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        using var typo = await http.PostAsync(new Uri("/v1/works:score", UriKind.Relative), new StringContent(file.Replace("\"box_office\"", "\"box_offices\"", StringComparison.Ordinal), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, scored.StatusCode);
        var response = JsonParser.Default.Parse<ScoreWorkResponse>(await scored.Content.ReadAsStringAsync());
        Assert.Equal("847.3333333333", response.Roles.Single(r => r.Role == Role.Producer).TotalPoints);
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Contains(JsonParser.Default.Parse<ListRuleSetsResponse>(await listed.Content.ReadAsStringAsync()).RuleSets, r => r.Id == "dm-2017");
        Assert.Equal(HttpStatusCode.OK, openapi.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, typo.StatusCode);
        Assert.Contains("work.box_offices", await typo.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_HTTP_port_can_be_turned_off_and_defaults_beside_the_grpc_port()
    {
        await using var server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog,
            settings: new Dictionary<string, string?> { ["Contributi:HttpPort"] = "off" });
        Assert.Null(server.HttpPort);

        Assert.Equal(50052, new ContributiAutomatici.Server.ContributiServerOptions().HttpPortNumber);
        Assert.Equal(0, new ContributiAutomatici.Server.ContributiServerOptions { Port = 0 }.HttpPortNumber);
        Assert.Null(new ContributiAutomatici.Server.ContributiServerOptions { Tls = { CertificatePath = "server.pfx" } }.HttpPortNumber);
        Assert.Equal(8080, new ContributiAutomatici.Server.ContributiServerOptions { HttpPort = "8080", Tls = { CertificatePath = "server.pfx" } }.HttpPortNumber);
        Assert.Null(new ContributiAutomatici.Server.ContributiServerOptions { HttpPort = "off" }.HttpPortNumber);
    }
}
