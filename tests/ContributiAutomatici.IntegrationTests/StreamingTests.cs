using System.Globalization;
using ContributiAutomatici.Client;
using ContributiAutomatici.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>ScoreWorks: order, ids, values, error items, cancellation.</summary>
[Collection("server")]
public sealed class StreamingTests(ServerFixture fixture)
{
    private const int Count = 10_000;
    private const int BadIndex = 5_000;

    private static decimal Extra(int i) => i * 137m; // box office totals 2.4M .. 3.77M: crosses the 3M tier

    private static IEnumerable<ScoreWorksRequest> Requests(int count, int badIndex)
    {
        // Parsed once; each item is a clone with its own id and box office (lazily: nothing is held in memory).
        var template = Examples.FirstFeature();
        for (var i = 0; i < count; i++)
        {
            var request = template.Clone();
            request.Work.Id = $"w{i}";
            request.Work.BoxOffice[0].Amount = (1_500_000m + Extra(i)).ToString(CultureInfo.InvariantCulture);
            if (i == badIndex) request.Work.BoxOffice[0].Amount = "-1";
            yield return new ScoreWorksRequest { RequestId = $"r{i}", Request = request };
        }
    }

    [Fact]
    public async Task Ten_thousand_works_come_back_in_order_with_their_ids_and_scores_and_a_bad_item_does_not_break_the_stream()
    {
        using var client = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address });
        var errorsBefore = fixture.Server.Stats.StreamErrorItems;
        var i = 0;
        await foreach (var item in client.ScoreWorksAsync(Requests(Count, BadIndex), deadline: DateTime.UtcNow.AddMinutes(5)))
        {
            Assert.Equal($"r{i}", item.RequestId);
            if (i == BadIndex)
            {
                Assert.Equal(ScoreWorksResponse.ResultOneofCase.Error, item.ResultCase);
                Assert.Equal((int)StatusCode.InvalidArgument, item.Error.Code);
                Assert.Equal("work.box_office[0].amount", Assert.Single(ContributiClient.FieldViolations(item.Error)).Field);
            }
            else
            {
                Assert.Equal(ScoreWorksResponse.ResultOneofCase.Response, item.ResultCase);
                Assert.Equal($"w{i}", item.Response.WorkId);
                Assert.Equal("dm-2021", item.Response.RuleSetId);
                Examples.AssertMatches(Examples.ExpectedFor(2_400_000m + Extra(i)), item.Response, $"item {i}");
            }
            i++;
        }
        Assert.Equal(Count, i);
        Assert.Equal(errorsBefore + 1, fixture.Server.Stats.StreamErrorItems);
    }

    [Fact]
    public async Task Each_stream_answer_is_byte_for_byte_the_unary_answer_while_the_stream_rewrites_its_messages()
    {
        // The stream writes each answer over the previous one's messages (issue 27): totals and explained items, one role
        // or two, error items between them, must each come back as ScoreWork answers the same request alone.
        var raw = new ScoringService.ScoringServiceClient(fixture.Channel);
        var requests = Requests(300, BadIndex).Select((item, i) =>
        {
            item.Request.TotalsOnly = i % 4 != 3;
            if (i % 3 == 2) item.Request.Roles.RemoveAt(1);
            if (i % 7 == 5) item.Request.Work.BoxOffice[0].Amount = "-1";
            return item;
        }).ToList();
        using var call = raw.ScoreWorks(deadline: DateTime.UtcNow.AddMinutes(2));
        var writing = Task.Run(async () =>
        {
            foreach (var r in requests) await call.RequestStream.WriteAsync(r);
            await call.RequestStream.CompleteAsync();
        });
        var i = 0;
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            var item = call.ResponseStream.Current;
            var request = requests[i].Request;
            Assert.Equal(requests[i].RequestId, item.RequestId);
            if (i % 7 == 5)
                Assert.Equal((int)StatusCode.InvalidArgument, item.Error.Code);
            else
                Assert.Equal(Convert.ToHexString((await raw.ScoreWorkAsync(request)).ToByteArray()), Convert.ToHexString(item.Response.ToByteArray()));
            i++;
        }
        await writing;
        Assert.Equal(requests.Count, i);
    }

    [Fact]
    public async Task Raw_stream_answers_each_request_and_tags_it()
    {
        var raw = new ScoringService.ScoringServiceClient(fixture.Channel);
        using var call = raw.ScoreWorks(deadline: DateTime.UtcNow.AddMinutes(1));
        var missing = new ScoreWorksRequest { RequestId = "empty" }; // no request at all: an error item
        var unknown = new ScoreWorksRequest { RequestId = "unknown-set", Request = Examples.FirstFeature() };
        unknown.Request.RuleSetId = "dm-1999";
        var good = new ScoreWorksRequest { RequestId = "good", Request = Examples.FirstFeature() };

        foreach (var r in new[] { missing, unknown, good }) await call.RequestStream.WriteAsync(r);
        await call.RequestStream.CompleteAsync();
        var answers = new List<ScoreWorksResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) answers.Add(call.ResponseStream.Current);

        Assert.Equal(["empty", "unknown-set", "good"], answers.Select(a => a.RequestId).ToArray());
        Assert.Equal((int)StatusCode.InvalidArgument, answers[0].Error.Code);
        Assert.NotEmpty(ContributiClient.FieldViolations(answers[0].Error));
        Assert.Equal((int)StatusCode.NotFound, answers[1].Error.Code);
        Examples.AssertMatches(Examples.ExpectedFor(2_400_000m), answers[2].Response, "good");
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task A_cancelled_stream_stops_on_the_client_and_on_the_server()
    {
        var stats = fixture.Server.Stats;
        var cancelledBefore = stats.CancelledStreams;
        var raw = new ScoringService.ScoringServiceClient(fixture.Channel);
        using var cts = new CancellationTokenSource();
        using var call = raw.ScoreWorks(cancellationToken: cts.Token);
        var requests = Requests(3, -1).ToList();
        foreach (var r in requests) await call.RequestStream.WriteAsync(r);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal($"r{i}", call.ResponseStream.Current.RequestId);
        }
        Assert.Equal(1, stats.ActiveStreams);

        await cts.CancelAsync();

        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        Assert.True(await Eventually.TrueAsync(() => stats.ActiveStreams == 0 && stats.CancelledStreams > cancelledBefore),
            "the server's stream handler is still running after the client cancelled");
        AssertNoServerErrors();
    }

    [Fact]
    public async Task Leaving_the_typed_stream_early_ends_the_call_on_the_server()
    {
        var stats = fixture.Server.Stats;
        var cancelledBefore = stats.CancelledStreams;
        using var client = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address });

        // An endless source: only the consumer stopping can end it.
        static IEnumerable<ScoreWorksRequest> Endless()
        {
            for (var i = 0; ; i++)
                foreach (var r in Requests(1, -1)) { r.RequestId = $"r{i}"; yield return r; }
        }

        var seen = 0;
        await foreach (var item in client.ScoreWorksAsync(Endless()))
        {
            Assert.Equal($"r{seen}", item.RequestId);
            if (++seen == 50) break;
        }

        Assert.Equal(50, seen);
        Assert.True(await Eventually.TrueAsync(() => stats.ActiveStreams == 0 && stats.CancelledStreams > cancelledBefore),
            "the server's stream handler is still running after the client left");
        AssertNoServerErrors();
    }

    [Fact]
    public async Task Cancelling_the_typed_stream_surfaces_CANCELLED()
    {
        using var client = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address });
        using var cts = new CancellationTokenSource();
        var seen = 0;
        var ex = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in client.ScoreWorksAsync(Requests(1_000_000, -1), cancellationToken: cts.Token))
                if (++seen == 10) await cts.CancelAsync();
        });
        Assert.True(ex is OperationCanceledException || ex is RpcException { StatusCode: StatusCode.Cancelled }, ex.ToString());
        Assert.True(seen < 1_000_000);
        Assert.True(await Eventually.TrueAsync(() => fixture.Server.Stats.ActiveStreams == 0));
        AssertNoServerErrors();
    }

    [Fact]
    public async Task A_failing_request_source_ends_the_typed_stream_with_its_own_exception()
    {
        using var client = new ContributiClient(new ContributiClientOptions { Address = fixture.Server.Address });

        static IEnumerable<ScoreWorksRequest> FailsAfterThree()
        {
            foreach (var r in Requests(3, -1)) yield return r;
            throw new InvalidOperationException("the source broke");
        }

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var _ in client.ScoreWorksAsync(FailsAfterThree()))
            {
            }
        });
        Assert.Equal("the source broke", ex.Message);
        Assert.True(await Eventually.TrueAsync(() => fixture.Server.Stats.ActiveStreams == 0));
        AssertNoServerErrors();
    }

    /// <summary>A caller leaving is not a server fault: nothing is logged as an error (no INTERNAL correlation id).</summary>
    private void AssertNoServerErrors() =>
        Assert.DoesNotContain(fixture.Server.Logs.Entries, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
}
