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
/// contributi.v1.LedgerService over a real loopback Kestrel, its ledger a SQLite file of its own (Contributi:Ledger):
/// post the example year twice, the statement, a draw refused with its article in a PreconditionFailure, a draw accepted,
/// and the same over REST (JSON transcoding): the balance by GET, a bad amount 400 naming the field, the expiry.
/// </summary>
public sealed class LedgerRpcTests
{
    private static AllocationYear ExampleYear() =>
        JsonParser.Default.Parse<AllocationYear>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "year-2023.json")));

    private static Google.Type.Date D(int y, int m, int d) => new() { Year = y, Month = m, Day = d };

    private static ReinvestRequest Draw() => new()
    {
        CompanyId = "alfa-film", RequestedOn = D(2025, 2, 1), NewWorkId = "nuovo-film", WorkKind = "cinema", Use = "production", Cost = "3000000",
        OtherPublicAid = "500000", Amount = "250000", NetWorth = "2500000", AuthorsSharesDocumented = true, Stage = "1/3",
    };

    private static async Task<LoopbackServer> Start() => await LoopbackServer.StartAsync(catalog: TestRules.Catalog,
        settings: new Dictionary<string, string?> { ["Contributi:Ledger"] = Path.Combine(Directory.CreateTempSubdirectory("contributi-it-ledger-").FullName, "ledger.db") });

    [Fact]
    public async Task Post_Statement_Draw_OverGrpc_RefusalsNameFieldAndArticle()
    {
        await using var server = await Start();
        using var channel = server.Channel();
        var client = new LedgerService.LedgerServiceClient(channel);

        var posted = await client.PostAllocationAsync(new PostAllocationRequest { Year = ExampleYear(), PostedOn = D(2024, 3, 1) });
        Assert.True(posted.Applied);
        Assert.Equal(("5002024.79", 18, 2023), (posted.Total, posted.Credits, posted.ApplicationYear));
        var again = await client.PostAllocationAsync(new PostAllocationRequest { Year = ExampleYear(), PostedOn = D(2024, 3, 1) });
        Assert.False(again.Applied);
        Assert.Equal(posted.PostingId, again.PostingId);

        var statement = (await client.GetStatementAsync(new GetStatementRequest { CompanyId = "alfa-film", At = D(2024, 6, 30) })).Statement;
        Assert.Equal(("2599514.58", "2599514.58", 4), (statement.Credited, statement.Held, statement.Lines.Count));
        Assert.All(statement.Lines, l => Assert.Equal((2023, 2028), (l.CreditingYear, l.UseByYear)));

        var wrongUse = Draw();
        wrongUse.WorkKind = "tv_web";
        wrongUse.Use = "national_distribution";
        var e = await Assert.ThrowsAsync<RpcException>(() => client.ReinvestAsync(wrongUse).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        var violation = Assert.Single(e.GetRpcStatus()!.GetDetail<PreconditionFailure>()!.Violations);
        Assert.Equal(("art. 14.1.b", "use"), (violation.Type, violation.Subject));

        var bad = Draw();
        bad.Amount = "12.345";
        var invalid = await Assert.ThrowsAsync<RpcException>(() => client.ReinvestAsync(bad).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Equal("amount", Assert.Single(invalid.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations).Field);

        var drawn = await client.ReinvestAsync(Draw());
        Assert.Equal(("250000.00", "art. 15.1", "2193543.70"), (drawn.Amount, drawn.CeilingArticle, drawn.AvailableAfter));
        var missing = await Assert.ThrowsAsync<RpcException>(() => client.GetBalanceAsync(new GetBalanceRequest { CompanyId = "nessuno" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task The_ledger_over_REST_balance_by_GET_bad_amount_400_expiry()
    {
        await using var server = await Start();
        using var http = server.Http11();
        var year = new JsonFormatter(JsonFormatter.Settings.Default).Format(ExampleYear());
        var post = await http.PostAsync("/v1/ledger/postings",
            new StringContent("{\"year\": " + year + ", \"postedOn\": {\"year\": 2024, \"month\": 3, \"day\": 1}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);

        var balance = await http.GetAsync("/v1/ledger/companies/alfa-film/balance?at.year=2024&at.month=6&at.day=30");
        Assert.Equal(HttpStatusCode.OK, balance.StatusCode);
        using (var json = JsonDocument.Parse(await balance.Content.ReadAsStringAsync()))
        {
            Assert.Equal("2599514.58", json.RootElement.GetProperty("held").GetString());
            Assert.Equal(2028, json.RootElement.GetProperty("years")[0].GetProperty("useByYear").GetInt32());
        }

        var draw = new JsonFormatter(JsonFormatter.Settings.Default).Format(Draw()).Replace("\"250000\"", "\"lots\"", StringComparison.Ordinal);
        var refused = await http.PostAsync("/v1/ledger/companies/alfa-film/draws", new StringContent(draw, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("amount", await refused.Content.ReadAsStringAsync());

        var expire = await http.PostAsync("/v1/ledger:expire",
            new StringContent("""{"on": {"year": 2029, "month": 1, "day": 1}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, expire.StatusCode);
        using var report = JsonDocument.Parse(await expire.Content.ReadAsStringAsync());
        Assert.Equal("5002024.79", report.RootElement.GetProperty("report").GetProperty("total").GetString());
        Assert.Equal("art. 12.6", report.RootElement.GetProperty("report").GetProperty("article").GetString());
    }
}
