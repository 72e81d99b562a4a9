using ContributiAutomatici.Contracts.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>Deadlines, cancellations and resets are the caller's doing: never an error or a stack trace in the server's log.</summary>
[Collection("server")]
public sealed class ClientLeavingTests(ServerFixture fixture)
{
    [Fact]
    public async Task Short_deadlines_and_cancelled_calls_log_no_error_and_no_stack_trace()
    {
        var client = new ScoringService.ScoringServiceClient(fixture.Channel);
        var before = fixture.Server.Logs.Entries.Count;
        var request = Examples.FirstFeature();
        request.IncludeNotApplied = true;
        var outcomes = new List<StatusCode>();
        for (var i = 0; i < 40; i++)
        {
            using var cts = new CancellationTokenSource();
            var call = client.ScoreWorkAsync(request, deadline: DateTime.UtcNow.AddMilliseconds(1 + i % 5), cancellationToken: cts.Token);
            if (i % 2 == 1) cts.CancelAfter(i % 3);
            try { await call; outcomes.Add(StatusCode.OK); }
            catch (RpcException ex) { outcomes.Add(ex.StatusCode); }
        }
        // Streams left half-way: the caller resets them.
        for (var i = 0; i < 10; i++)
        {
            using var cts = new CancellationTokenSource();
            using var stream = client.ScoreWorks(cancellationToken: cts.Token);
            await stream.RequestStream.WriteAsync(new ScoreWorksRequest { RequestId = "1", Request = request });
            cts.Cancel();
        }
        await Task.Delay(500); // let the server notice and log whatever it logs

        Assert.Contains(outcomes, o => o is StatusCode.DeadlineExceeded or StatusCode.Cancelled);
        var entries = fixture.Server.Logs.Entries.Skip(before).ToList();
        Assert.True(!entries.Any(e => e.Level >= LogLevel.Warning), string.Join("\n", entries.Where(e => e.Level >= LogLevel.Warning).Select(e => $"{e.Level} {e.Category}: {e.Message} {e.Exception?.GetType().Name}: {e.Exception?.Message}")));
        Assert.DoesNotContain(entries, e => e.Exception is not null && e.Level >= LogLevel.Information);
    }
}

/// <summary>Bytes that are not the request message, on every service: INVALID_ARGUMENT, never UNKNOWN or INTERNAL.</summary>
[Collection("server")]
public sealed class MalformedEverywhereTests(ServerFixture fixture)
{
    [Theory]
    [InlineData("/contributi.v1.AllocationService/Allocate")]
    [InlineData("/contributi.v1.AllocationService/AllocateBatches")]
    [InlineData("/contributi.v1.ComparisonService/DiffRuleSets")]
    [InlineData("/contributi.v1.ComparisonService/CompareWorks")]
    public async Task A_malformed_message_is_INVALID_ARGUMENT(string path)
    {
        var parts = path.Split('/');
        var method = new Method<byte[], byte[]>(path.Contains("DiffRuleSets") ? MethodType.Unary : MethodType.DuplexStreaming,
            parts[1], parts[2], Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        var invoker = fixture.Channel.CreateCallInvoker();
        var garbage = new byte[] { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            if (method.Type == MethodType.Unary)
            {
                await invoker.AsyncUnaryCall(method, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), garbage);
                return;
            }
            using var call = invoker.AsyncDuplexStreamingCall(method, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)));
            await call.RequestStream.WriteAsync(garbage);
            await call.RequestStream.CompleteAsync();
            while (await call.ResponseStream.MoveNext(CancellationToken.None)) { }
        });
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
    }
}
