using System.Collections.Concurrent;
using ContributiAutomatici.Client;
using ContributiAutomatici.Contracts.V1;
using Grpc.Core;
using Xunit;
using Xunit.Abstractions;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>The typed client's retries and circuit breaker against a real server that goes away and comes back.</summary>
public sealed class ClientResilienceTests(ITestOutputHelper output)
{
    private static decimal Extra(int i) => i * 1_001m;

    [Fact]
    public async Task Every_call_completes_exactly_once_with_its_own_result_across_a_server_restart()
    {
        const int calls = 400;
        const int workers = 4;
        var server = await LoopbackServer.StartAsync(catalog: TestRules.Catalog);
        var port = server.Port;
        var retries = new ConcurrentQueue<ContributiRetryEvent>();
        var circuit = new ConcurrentQueue<ContributiCircuitEvent>();
        using var client = new ContributiClient(new ContributiClientOptions
        {
            Address = server.Address,
            PerCallTimeout = TimeSpan.FromSeconds(20),
            RetryCount = 15,
            RetryBaseDelay = TimeSpan.FromMilliseconds(50),
            RetryMaxDelay = TimeSpan.FromSeconds(1),
            CircuitBreakerBreakDuration = TimeSpan.FromMilliseconds(500),
            OnRetry = retries.Enqueue,
            OnCircuitChange = circuit.Enqueue,
        });

        var sent = Enumerable.Range(0, calls).Select(i => $"restart-{i}").ToHashSet();
        var results = new ConcurrentDictionary<string, ScoreWorkResponse>();
        var duplicates = new ConcurrentQueue<string>();
        var completed = 0;
        var next = -1;
        var loop = Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < calls)
            {
                var response = await client.ScoreWorkAsync(Examples.Variant($"restart-{i}", Extra(i)));
                if (!results.TryAdd(response.WorkId, response)) duplicates.Enqueue(response.WorkId);
                Interlocked.Increment(ref completed);
            }
        })));

        try
        {
            Assert.True(await Eventually.TrueAsync(() => Volatile.Read(ref completed) >= calls / 4 || loop.IsCompleted));
            await server.DisposeAsync(); // graceful stop: calls in flight finish, new ones are refused
            var completedWhileUp = Volatile.Read(ref completed);
            output.WriteLine($"server stopped after {completedWhileUp} calls");
            Assert.True(completedWhileUp < calls, "the loop ended before the server was stopped");

            await Task.Delay(TimeSpan.FromMilliseconds(500));
            server = await LoopbackServer.StartAsync(port, catalog: TestRules.Catalog);
            output.WriteLine($"server back on port {server.Port}");

            await loop.WaitAsync(TimeSpan.FromMinutes(2));
        }
        finally
        {
            await server.DisposeAsync();
        }

        output.WriteLine($"{retries.Count} retries ({string.Join(", ", retries.GroupBy(r => r.StatusCode).Select(g => $"{g.Key} x{g.Count()}"))}); " +
                         $"circuit: {string.Join(" -> ", circuit.Select(c => c.State))}");
        Assert.Empty(duplicates);
        Assert.Equal(calls, completed);
        Assert.True(sent.SetEquals(results.Keys), "the set of work ids returned differs from the set sent");
        foreach (var (id, response) in results)
            Examples.AssertMatches(Examples.ExpectedFor(2_400_000m + Extra(int.Parse(id["restart-".Length..]))), response, id);
        Assert.NotEmpty(retries);
        Assert.All(retries, r => Assert.Equal("ScoreWork", r.Operation));
        Assert.All(retries, r => Assert.Equal(StatusCode.Unavailable, r.StatusCode));
    }

    [Fact]
    public async Task The_circuit_opens_after_repeated_UNAVAILABLE_and_then_fails_fast()
    {
        var circuit = new ConcurrentQueue<ContributiCircuitEvent>();
        using var client = new ContributiClient(new ContributiClientOptions
        {
            Address = new Uri($"http://127.0.0.1:{LoopbackServer.FreePort()}"), // nothing listens there
            RetryCount = 0,
            CircuitBreakerMinimumThroughput = 2,
            CircuitBreakerFailureRatio = 0.5,
            CircuitBreakerBreakDuration = TimeSpan.FromSeconds(30),
            OnCircuitChange = circuit.Enqueue,
        });

        for (var i = 0; i < 2; i++)
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => client.ListRuleSetsAsync());
            Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        }
        var fast = await Assert.ThrowsAsync<RpcException>(() => client.ListRuleSetsAsync());

        Assert.Equal(StatusCode.Unavailable, fast.StatusCode);
        Assert.StartsWith("circuit open", fast.Status.Detail);
        Assert.Contains(circuit, c => c.State == "open");
    }

    [Fact]
    public async Task The_stream_is_not_retried()
    {
        var retries = 0;
        using var client = new ContributiClient(new ContributiClientOptions
        {
            Address = new Uri($"http://127.0.0.1:{LoopbackServer.FreePort()}"),
            RetryCount = 5,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
            OnRetry = _ => Interlocked.Increment(ref retries),
        });

        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in client.ScoreWorksAsync(new[] { new ScoreWorksRequest { RequestId = "a", Request = Examples.FirstFeature() } }))
            {
            }
        });

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal(0, retries);
    }
}
