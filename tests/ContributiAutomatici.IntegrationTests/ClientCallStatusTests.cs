using ContributiAutomatici.Client;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Tooling;
using Grpc.Core;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// The typed client's streaming calls end in an <see cref="RpcException"/> with the call's status, whatever broke first: a call
/// the server ends while the client is still writing (its deadline passed there first) fails the write with the transport's
/// own error (HttpProtocolException "the HTTP/2 server reset the stream"; grpc-dotnet issue 2638), which is not what callers
/// catch or what the retry policy reads.
/// </summary>
[Collection("server")]
public sealed class ClientCallStatusTests(ServerFixture fixture)
{
    [Fact]
    public async Task An_allocation_whose_deadline_passes_while_the_year_is_still_being_written_fails_with_DeadlineExceeded()
    {
        var rs = fixture.Server.Catalog.Find("dm-2021")!;
        var items = YearSynthesizer.Items(rs, 300, 3_000, seed: 7, year: 2023, budget: 100_000_000m).ToList();
        using var client = new ContributiClient(new ContributiClientOptions
        {
            Address = fixture.Server.Address, AllocationTimeout = TimeSpan.FromMilliseconds(30), RetryCount = 0,
        });
        // The deadline passes on either end first, at any point of the writes: each time the caller sees the status.
        for (var i = 0; i < 12; i++)
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => client.AllocateAsync(items));
            Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        }
    }

    [Theory]
    [InlineData(200)]
    [InlineData(500)]
    public async Task An_allocation_whose_server_dies_while_the_year_is_being_written_fails_with_Unavailable_not_the_transport_exception(int killAfterMs)
    {
        // A server process of its own, killed while a year of 20,000 works (some 60,000 items) is going out to it. Before
        // the typed client read the call's status after a failed write, the caller got the transport's IOException ("Connection
        // reset by peer"), which the retry policy does not handle: a replica lost in the middle of an allocation was not retried.
        var rs = TestRules.Catalog.Find("dm-2021")!;
        var items = YearSynthesizer.Items(rs, 2_000, 20_000, seed: 7, year: 2023, budget: 100_000_000m).ToList();
        var port = LoopbackServer.FreePort();
        using var process = await ServerProcesses.StartServingAsync($"--Contributi:Port={port}", "--Contributi:HttpPort=off",
            $"--Contributi:Rules={TestRules.Folder}", "--Contributi:WatchRules=false");
        using var client = new ContributiClient(new ContributiClientOptions { Address = new Uri($"http://127.0.0.1:{port}"), RetryCount = 0 });
        var call = client.AllocateAsync(items);
        await Task.Delay(killAfterMs);
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();

        var ex = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }
}
