using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using ContributiAutomatici.Contracts.V1;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Status = Grpc.Core.Status;

namespace ContributiAutomatici.Client;

/// <summary>
/// Typed client of contributi.v1.ScoringService.
/// <list type="bullet">
/// <item>Every unary attempt carries a gRPC deadline of <see cref="ContributiClientOptions.PerCallTimeout"/>.</item>
/// <item>The idempotent calls (ListRuleSets, GetRuleSet, ScoreWork) are retried with jittered exponential back-off
/// when an attempt fails with UNAVAILABLE or DEADLINE_EXCEEDED, or meets an open circuit. Nothing else is retried:
/// INVALID_ARGUMENT, NOT_FOUND, INTERNAL... reach the caller at once.</item>
/// <item>A circuit breaker, shared by the three calls, stops calling a server that keeps failing with UNAVAILABLE or
/// DEADLINE_EXCEEDED and lets a trial call through after the break.</item>
/// <item>A call that failed in the HTTP layer before any response (connection refused, or closed under it by a server
/// shutting down) is UNAVAILABLE, whatever code Grpc.Net.Client gave it.</item>
/// <item>The bulk-scoring stream (ScoreWorkBatches, or ScoreWorks) is never retried (its items may already have been
/// answered); it goes straight to the server.</item>
/// </list>
/// Every failure surfaces as an <see cref="RpcException"/> (an open circuit as UNAVAILABLE). Thread-safe: share one
/// instance; it owns its channel unless built on a channel of yours.
/// </summary>
public sealed class ContributiClient : IDisposable
{
    private readonly ScoringService.ScoringServiceClient _client;
    private readonly AllocationService.AllocationServiceClient _allocation;
    private readonly GrpcChannel? _ownedChannel;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger _logger;
    private volatile bool _batchesUnimplemented; // the server answered ScoreWorkBatches with UNIMPLEMENTED: ScoreWorks then
    private volatile bool _allocateBatchesUnimplemented; // the server answered AllocateBatches with UNIMPLEMENTED: Allocate then

    /// <summary>A client with its own channel to <see cref="ContributiClientOptions.Address"/>.</summary>
    public ContributiClient(ContributiClientOptions options)
        : this(CreateChannel(options), options, ownsChannel: true)
    {
    }

    /// <summary>A client over a channel of yours (not disposed with the client).</summary>
    public ContributiClient(GrpcChannel channel, ContributiClientOptions options)
        : this(channel, options, ownsChannel: false)
    {
    }

    private ContributiClient(GrpcChannel channel, ContributiClientOptions options, bool ownsChannel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        Options = options ?? throw new ArgumentNullException(nameof(options));
        _ownedChannel = ownsChannel ? channel : null;
        _client = new ScoringService.ScoringServiceClient(channel);
        _allocation = new AllocationService.AllocationServiceClient(channel);
        _logger = options.LoggerFactory?.CreateLogger<ContributiClient>() ?? NullLogger<ContributiClient>.Instance;
        _pipeline = BuildPipeline(options, _logger);
    }

    /// <summary>The settings this client was made with.</summary>
    public ContributiClientOptions Options { get; }

    /// <summary>The generated client, for what this one does not wrap (no retries, no breaker).</summary>
    public ScoringService.ScoringServiceClient Raw => _client;

    /// <summary>Every loaded decree version and overlay. Idempotent: retried.</summary>
    public async Task<ListRuleSetsResponse> ListRuleSetsAsync(CancellationToken cancellationToken = default) =>
        await Execute("ListRuleSets", new ListRuleSetsRequest(), static (c, r, o) => c.ListRuleSetsAsync(r, o), cancellationToken);

    /// <summary>One rule set's tables and rows. NOT_FOUND for an id that is not loaded. Idempotent: retried.</summary>
    public async Task<GetRuleSetResponse> GetRuleSetAsync(string id, CancellationToken cancellationToken = default) =>
        await Execute("GetRuleSet", new GetRuleSetRequest { RuleSetId = id }, static (c, r, o) => c.GetRuleSetAsync(r, o), cancellationToken);

    /// <summary>Scores one work. INVALID_ARGUMENT (see <see cref="FieldViolations(RpcException)"/>) for a bad request, NOT_FOUND
    /// for an unknown rule set or year. Idempotent: retried.</summary>
    public async Task<ScoreWorkResponse> ScoreWorkAsync(ScoreWorkRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await Execute("ScoreWork", request, static (c, r, o) => c.ScoreWorkAsync(r, o), cancellationToken);
    }

    /// <summary>
    /// Bulk scoring over one bidirectional stream: sends <paramref name="requests"/> as they come and yields one
    /// response per request, in order, each with its request_id; a bad item is a response whose <c>error</c> is set,
    /// and the stream goes on. Requests are sent while responses are read, so memory stays constant whatever the
    /// count. Not retried. No deadline unless <paramref name="deadline"/> is given (a long stream has no natural one);
    /// cancel <paramref name="cancellationToken"/> or stop enumerating to end the call.
    /// <para>The requests travel in batches on the ScoreWorkBatches stream: those already at hand, up to
    /// <see cref="ContributiClientOptions.StreamBatchSize"/> works (and <see cref="ContributiClientOptions.StreamBatchBytes"/>),
    /// leave in one message, and whatever is gathered leaves as soon as <paramref name="requests"/> pauses, so a slow
    /// source still gets its answers promptly. A request is held (not copied) until its batch is sent: do not change
    /// it after yielding it. The answers are those ScoreWorks gives, item for item. A server without ScoreWorkBatches
    /// (UNIMPLEMENTED before any answer) is asked again on ScoreWorks, one work per message, with the requests already
    /// taken first; the client remembers it. <see cref="ContributiClientOptions.StreamBatchSize"/> 1: ScoreWorks always.</para>
    /// </summary>
    public async IAsyncEnumerable<ScoreWorksResponse> ScoreWorksAsync(IAsyncEnumerable<ScoreWorksRequest> requests,
        DateTime? deadline = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var batchSize = Math.Clamp(Options.StreamBatchSize, 1, ContributiClientOptions.MaxStreamBatchSize);
        var batched = batchSize > 1 && !_batchesUnimplemented;
        var source = new RequestSource(requests.GetAsyncEnumerator(cts.Token), cts, record: batched);
        await using var _ = source.ConfigureAwait(false);
        var utcDeadline = deadline?.ToUniversalTime();
        if (batched)
        {
            var unimplemented = false;
            using (var call = _client.ScoreWorkBatches(deadline: utcDeadline, cancellationToken: cts.Token))
            {
                await foreach (var answer in Exchange(call, (stream, ct) => WriteBatches(stream, source, batchSize, ct), source, cts, cancellationToken,
                                   ex => unimplemented = ex.StatusCode == StatusCode.Unimplemented && source.Recording).ConfigureAwait(false))
                {
                    source.StopRecording();
                    foreach (var item in answer.Items) yield return item;
                }
            }
            if (!unimplemented) yield break;
            // A server older than ScoreWorkBatches: the same works on ScoreWorks, those already taken from the source first.
            _batchesUnimplemented = true;
            _logger.LogInformation("the server does not serve ScoreWorkBatches: bulk scoring goes through ScoreWorks, one work per message");
            source.Replay();
        }
        using var single = _client.ScoreWorks(deadline: utcDeadline, cancellationToken: cts.Token);
        await foreach (var item in Exchange(single, (stream, ct) => WriteEach(stream, source, ct), source, cts, cancellationToken).ConfigureAwait(false))
            yield return item;
    }

    /// <summary>
    /// The answers of a bulk-scoring call, read here while <paramref name="write"/> sends the requests from a pool thread.
    /// A failure of the request source ends the call and is what the caller gets; a call that never reached the server is
    /// UNAVAILABLE (<see cref="NeverStarted"/>); a status <paramref name="stop"/> accepts ends the answers quietly (the
    /// writer is left to run into the ended call).
    /// </summary>
    private static async IAsyncEnumerable<TAnswer> Exchange<TRequest, TAnswer>(AsyncDuplexStreamingCall<TRequest, TAnswer> call,
        Func<IClientStreamWriter<TRequest>, CancellationToken, Task> write, RequestSource source, CancellationTokenSource cts,
        [EnumeratorCancellation] CancellationToken caller, Func<RpcException, bool>? stop = null)
    {
        async Task WriteAll()
        {
            try
            {
                await write(call.RequestStream, cts.Token).ConfigureAwait(false);
                await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RpcException or IOException or OperationCanceledException or InvalidOperationException)
            {
                // The call ended under the writer (the server's status, the connection lost, the caller gone, the source
                // failed): the reader reports the call's status (UNAVAILABLE for a lost connection) or the source's error,
                // not this write's transport error.
            }
        }

        var writer = Task.Run(WriteAll, CancellationToken.None);
        var stopped = false;
        try
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await call.ResponseStream.MoveNext(cts.Token).ConfigureAwait(false);
                }
                catch (RpcException) when (source.Failure is { } failure && failure is not RpcException && !caller.IsCancellationRequested)
                {
                    // The call was ended because the request source threw: that is the error to report, whatever status
                    // the ended call came back with (CANCELLED, or UNAVAILABLE when the transport saw the abort first).
                    ExceptionDispatchInfo.Throw(failure);
                    throw;
                }
                catch (RpcException ex) when (stop?.Invoke(ex) == true)
                {
                    stopped = true;
                    break;
                }
                catch (RpcException ex) when (NeverStarted(ex) is { } unavailable)
                {
                    throw unavailable;
                }
                if (!more) break;
                yield return call.ResponseStream.Current;
            }
        }
        finally
        {
            if (!stopped && !writer.IsCompleted) await cts.CancelAsync().ConfigureAwait(false);
            await writer.ConfigureAwait(false);
        }
    }

    /// <summary>ScoreWorks: one request per message, each sent before the next is taken.</summary>
    private static async Task WriteEach(IClientStreamWriter<ScoreWorksRequest> stream, RequestSource source, CancellationToken ct)
    {
        while (await source.MoveNextAsync().ConfigureAwait(false))
            await stream.WriteAsync(source.Current, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// ScoreWorkBatches: the requests gathered into batches of at most <paramref name="maxItems"/> works (of which at most
    /// <see cref="ContributiClientOptions.StreamBatchExplained"/> explained) and <see cref="ContributiClientOptions.StreamBatchBytes"/> bytes; a batch leaves when full or when the source has no
    /// request ready (its next one is not at hand), and the next is gathered while it is written (two batch messages
    /// in turn: one being written, one filling).
    /// </summary>
    private static async Task WriteBatches(IClientStreamWriter<ScoreWorkBatchesRequest> stream, RequestSource source, int maxItems, CancellationToken ct)
    {
        var batch = new ScoreWorkBatchesRequest();
        var spare = new ScoreWorkBatchesRequest();
        var bytes = 0;
        var explained = 0;
        var maxExplained = Math.Min(maxItems, ContributiClientOptions.StreamBatchExplained);
        var sending = Task.CompletedTask;

        async Task Send()
        {
            await sending.ConfigureAwait(false); // the spare's write is over: it can be filled again
            sending = stream.WriteAsync(batch, ct);
            (batch, spare) = (spare, batch);
            batch.Items.Clear();
            bytes = 0;
            explained = 0;
        }

        try
        {
            while (true)
            {
                var move = source.MoveNextAsync();
                if (!move.IsCompleted && batch.Items.Count > 0) await Send().ConfigureAwait(false); // the source pauses: what is here leaves
                if (!await move.ConfigureAwait(false)) break;
                var item = source.Current;
                var size = item.CalculateSize();
                if (batch.Items.Count > 0 && bytes + size > ContributiClientOptions.StreamBatchBytes) await Send().ConfigureAwait(false);
                batch.Items.Add(item);
                bytes += size;
                if (item.Request is { TotalsOnly: false }) explained++;
                if (batch.Items.Count >= maxItems || explained >= maxExplained) await Send().ConfigureAwait(false);
            }
            if (batch.Items.Count > 0) await Send().ConfigureAwait(false);
            await sending.ConfigureAwait(false);
        }
        finally
        {
            await sending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // observed, whatever ended the loop
        }
    }

    /// <summary>Bulk scoring of an in-memory or lazy sequence; see the IAsyncEnumerable overload.</summary>
    public IAsyncEnumerable<ScoreWorksResponse> ScoreWorksAsync(IEnumerable<ScoreWorksRequest> requests,
        DateTime? deadline = null, CancellationToken cancellationToken = default) =>
        ScoreWorksAsync(AsAsync(requests), deadline, cancellationToken);

    /// <summary>The google.rpc.BadRequest field violations of an INVALID_ARGUMENT (empty for any other error).</summary>
    public static IReadOnlyList<BadRequest.Types.FieldViolation> FieldViolations(RpcException exception) =>
        exception.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.ToList() ?? [];

    /// <summary>The field violations of an error item of ScoreWorks (empty when the item has none).</summary>
    public static IReadOnlyList<BadRequest.Types.FieldViolation> FieldViolations(Google.Rpc.Status? status) =>
        status?.GetDetail<BadRequest>()?.FieldViolations.ToList() ?? [];

    /// <summary>
    /// Allocates a year: streams <paramref name="items"/> (a header first, then companies, works and claims) and
    /// collects the streamed result. Idempotent (same year, same result), so retried like the unary calls: each attempt
    /// streams the whole year again, under a deadline of <see cref="ContributiClientOptions.AllocationTimeout"/>.
    /// <para>The year travels on the AllocateBatches stream, up to <see cref="ContributiClientOptions.AllocationBatchItems"/>
    /// items (and <see cref="ContributiClientOptions.AllocationBatchBytes"/>) a message, and its result comes back in batches:
    /// the same result as Allocate's, item for item. A server without AllocateBatches (UNIMPLEMENTED before any answer) is asked
    /// again on Allocate, one item per message, in the same attempt; the client remembers it.</para>
    /// </summary>
    public async Task<AllocationResult> AllocateAsync(IReadOnlyList<AllocateRequest> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        // The whole call in each attempt: a call that fails while its result comes back is retried too (the year is idempotent).
        return await Resilient(static async (self, year, ct) =>
        {
            var (call, answers) = await self.StartAllocation(year, ct).ConfigureAwait(false);
            using (call)
            await using (answers.ConfigureAwait(false))
            {
                var result = new AllocationResult();
                do Collect(result, answers.Current);
                while (await answers.MoveNextAsync().ConfigureAwait(false));
                return result;
            }
        }, items, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Allocates a year as <see cref="AllocateAsync(IReadOnlyList{AllocateRequest}, CancellationToken)"/> does, but hands out the
    /// result's items as they arrive instead of collecting them: the summary first, then the company statements, the work
    /// statements and the exclusions, each an <see cref="AllocateResponse"/> (the items Allocate streams), so that a caller
    /// that stores or forwards them never holds the whole result (for the 50,000-work year, about 640 MB in a collecting
    /// caller's process against 300 here; benchmark results, (d)).
    /// <para>Retried as <see cref="AllocateAsync(IReadOnlyList{AllocateRequest}, CancellationToken)"/> is up to the first item (the
    /// summary, which the server sends once the whole year is read and allocated); once an item has been handed out a failure
    /// is not retried: it ends the enumeration with its <see cref="RpcException"/>. The deadline,
    /// <see cref="ContributiClientOptions.AllocationTimeout"/>, covers the whole call, the caller's time between items
    /// included. Stop enumerating, or cancel <paramref name="cancellationToken"/>, to end the call.</para>
    /// </summary>
    public async IAsyncEnumerable<AllocateResponse> AllocateItemsAsync(IReadOnlyList<AllocateRequest> items,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var (call, answers) = await Resilient(static (self, year, ct) => self.StartAllocation(year, ct), items, cancellationToken).ConfigureAwait(false);
        using (call)
        await using (answers.ConfigureAwait(false))
        {
            do yield return answers.Current;
            while (await answers.MoveNextAsync().ConfigureAwait(false));
        }
    }

    /// <summary>
    /// <paramref name="attempt"/> under the client's retries and circuit breaker, as the allocation calls run: a call that never
    /// reached the server is UNAVAILABLE, an open circuit too.
    /// </summary>
    private async Task<T> Resilient<T>(Func<ContributiClient, IReadOnlyList<AllocateRequest>, CancellationToken, Task<T>> attempt,
        IReadOnlyList<AllocateRequest> items, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get("Allocate", cancellationToken);
        try
        {
            return await _pipeline.ExecuteAsync(static async (ctx, state) =>
            {
                var (self, year, attempt, ct) = state;
                try
                {
                    return await attempt(self, year, ct).ConfigureAwait(false);
                }
                catch (RpcException ex) when (NeverStarted(ex) is { } unavailable)
                {
                    throw unavailable;
                }
            }, context, (this, items, attempt, cancellationToken)).ConfigureAwait(false);
        }
        catch (BrokenCircuitException ex)
        {
            throw new RpcException(new Status(StatusCode.Unavailable,
                $"circuit open: the server failed too often lately; retry after {ex.RetryAfter?.TotalSeconds:0.#} s", ex));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// One allocation call, up to its first answer item: the year written (AllocateBatches, or Allocate on a server without it)
    /// while the answers are awaited; the call, and its answer items positioned on the first (the summary). The caller disposes
    /// both. A failure before the first item disposes the call and throws the call's status.
    /// </summary>
    private async Task<(IDisposable Call, IAsyncEnumerator<AllocateResponse> Answers)> StartAllocation(IReadOnlyList<AllocateRequest> year,
        CancellationToken ct)
    {
        var options = new CallOptions(deadline: DateTime.UtcNow + Options.AllocationTimeout, cancellationToken: ct);
        if (!_allocateBatchesUnimplemented)
        {
            var batches = _allocation.AllocateBatches(options);
            var started = await Start(batches, AllocationBatches(year), static answer => answer.Items, fallible: true, ct).ConfigureAwait(false);
            if (started is not null) return (batches, started);
            // A server older than AllocateBatches: the same year on Allocate.
            _allocateBatchesUnimplemented = true;
            _logger.LogInformation("the server does not serve AllocateBatches: allocations go through Allocate, one item per message");
        }
        var call = _allocation.Allocate(options);
        return (call, (await Start(call, year, static answer => [answer], fallible: false, ct).ConfigureAwait(false))!);
    }

    /// <summary>
    /// <paramref name="messages"/> written while the first answer is awaited (on a pool thread); the answers' items positioned
    /// on the first. Null when <paramref name="fallible"/> and the server answered UNIMPLEMENTED (the call then disposed). A
    /// write that fails because the call ended gives way to the call's status, which the reading reports. On any failure the
    /// call is disposed.
    /// </summary>
    private static async Task<IAsyncEnumerator<AllocateResponse>?> Start<TRequest, TResponse>(AsyncDuplexStreamingCall<TRequest, TResponse> call,
        IEnumerable<TRequest> messages, Func<TResponse, IEnumerable<AllocateResponse>> items, bool fallible, CancellationToken ct)
    {
        var answers = Items(call.ResponseStream, items, ct).GetAsyncEnumerator(ct);
        Task<bool>? first = null;
        try
        {
            first = Task.Run(() => answers.MoveNextAsync().AsTask(), ct);
            Exception? writeFailure = null;
            try
            {
                foreach (var message in messages) await call.RequestStream.WriteAsync(message, ct).ConfigureAwait(false);
                await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException)
            {
                writeFailure = ex; // the call ended under the writer: its status is what the reading gets
            }
            bool any;
            try
            {
                any = await first.ConfigureAwait(false);
            }
            catch (RpcException ex) when (fallible && ex.StatusCode == StatusCode.Unimplemented)
            {
                await answers.DisposeAsync().ConfigureAwait(false);
                call.Dispose();
                return null;
            }
            if (writeFailure is not null) ExceptionDispatchInfo.Throw(writeFailure);
            if (!any) throw new RpcException(new Status(StatusCode.Internal, "the allocation call ended without its summary"));
            return answers;
        }
        catch
        {
            // The call ended first (its reading stops), then the answers once no reading is in flight (a write cancelled
            // by the caller leaves the first answer's reading running until the call ends).
            call.Dispose();
            if (first is not null) await Task.WhenAny(first).ConfigureAwait(false);
            await answers.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The answer items of an allocation call, message after message.</summary>
    private static async IAsyncEnumerable<AllocateResponse> Items<TResponse>(IAsyncStreamReader<TResponse> stream,
        Func<TResponse, IEnumerable<AllocateResponse>> items, [EnumeratorCancellation] CancellationToken ct)
    {
        while (await stream.MoveNext(ct).ConfigureAwait(false))
            foreach (var item in items(stream.Current)) yield return item;
    }

    /// <summary>An answer item of the allocation put where it goes in the result.</summary>
    private static void Collect(AllocationResult result, AllocateResponse item)
    {
        switch (item.ItemCase)
        {
            case AllocateResponse.ItemOneofCase.Summary: result.Summary = item.Summary; break;
            case AllocateResponse.ItemOneofCase.Company: result.Companies.Add(item.Company); break;
            case AllocateResponse.ItemOneofCase.Work: result.Works.Add(item.Work); break;
            case AllocateResponse.ItemOneofCase.Exclusion: result.Exclusions.Add(item.Exclusion); break;
        }
    }

    /// <summary>
    /// The year's items in AllocateBatches messages of at most <see cref="ContributiClientOptions.AllocationBatchItems"/> items and
    /// <see cref="ContributiClientOptions.AllocationBatchBytes"/> bytes (a larger item alone), in order. One message, refilled
    /// once the previous batch is written.
    /// </summary>
    private static IEnumerable<AllocateBatchesRequest> AllocationBatches(IReadOnlyList<AllocateRequest> items)
    {
        var batch = new AllocateBatchesRequest();
        var bytes = 0;
        foreach (var item in items)
        {
            var size = item.CalculateSize();
            size += 1 + Google.Protobuf.CodedOutputStream.ComputeLengthSize(size);
            if (batch.Items.Count > 0 && (batch.Items.Count == ContributiClientOptions.AllocationBatchItems ||
                                          bytes + size > ContributiClientOptions.AllocationBatchBytes))
            {
                yield return batch;
                batch.Items.Clear();
                bytes = 0;
            }
            batch.Items.Add(item);
            bytes += size;
        }
        if (batch.Items.Count > 0) yield return batch;
    }

    /// <summary>Allocates a year given as one message (see <see cref="AllocateAsync(IReadOnlyList{AllocateRequest}, CancellationToken)"/>).</summary>
    public Task<AllocationResult> AllocateAsync(AllocationYear year, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(year);
        var items = new List<AllocateRequest> { new() { Header = year.Header ?? new AllocationHeader() } };
        items.AddRange(year.Companies.Select(c => new AllocateRequest { Company = c }));
        items.AddRange(year.Works.Select(w => new AllocateRequest { Work = w }));
        items.AddRange(year.Claims.Select(c => new AllocateRequest { Claim = c }));
        return AllocateAsync(items, cancellationToken);
    }

    /// <summary>Disposes the channel when the client owns it.</summary>
    public void Dispose() => _ownedChannel?.Dispose();

    private async Task<TResponse> Execute<TRequest, TResponse>(string operation, TRequest request,
        Func<ScoringService.ScoringServiceClient, TRequest, CallOptions, AsyncUnaryCall<TResponse>> invoke,
        CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(operation, cancellationToken);
        try
        {
            return await _pipeline.ExecuteAsync(static async (ctx, state) =>
            {
                var (self, req, call) = state;
                // A fresh deadline for each attempt: a retry is not starved by the attempts before it.
                var options = new CallOptions(deadline: DateTime.UtcNow + self.Options.PerCallTimeout,
                    cancellationToken: ctx.CancellationToken);
                using var unary = call(self._client, req, options);
                try
                {
                    return await unary.ResponseAsync.ConfigureAwait(false);
                }
                catch (RpcException ex) when (NeverStarted(ex) is { } unavailable)
                {
                    throw unavailable;
                }
            }, context, (this, request, invoke)).ConfigureAwait(false);
        }
        catch (BrokenCircuitException ex)
        {
            throw new RpcException(new Status(StatusCode.Unavailable,
                $"circuit open: the server failed too often lately; retry after {ex.RetryAfter?.TotalSeconds:0.#} s", ex));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// A call that failed in the HTTP layer before any response came back (Grpc.Net.Client puts the
    /// HttpRequestException in DebugException): the server was unreachable or went away under the call. Grpc.Net.Client
    /// reports most of these as UNAVAILABLE, but a connection closed by a server shutting down (HTTP/2 NO_ERROR) as
    /// INTERNAL: it is UNAVAILABLE in fact, and reported so (retrying it is safe only because the retried calls are
    /// idempotent). An INTERNAL sent by the server has no such exception and is left alone.
    /// </summary>
    private static RpcException? NeverStarted(RpcException ex) =>
        ex.StatusCode is not StatusCode.Unavailable and not StatusCode.Cancelled and not StatusCode.DeadlineExceeded &&
        ex.Status.DebugException is HttpRequestException transport
            ? new RpcException(new Status(StatusCode.Unavailable, $"the call did not reach the server: {ex.Status.Detail}", transport), ex.Trailers)
            : null;

    /// <summary>The codes worth another attempt: the server was not reached or did not answer in time.</summary>
    private static bool IsTransient(StatusCode code) => code is StatusCode.Unavailable or StatusCode.DeadlineExceeded;

    private static ResiliencePipeline BuildPipeline(ContributiClientOptions options, ILogger logger)
    {
        var builder = new ResiliencePipelineBuilder();
        if (options.RetryCount > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.RetryCount,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = options.UseJitter,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                ShouldHandle = new PredicateBuilder()
                    .Handle<RpcException>(e => IsTransient(e.StatusCode))
                    .Handle<BrokenCircuitException>(),
                // An open circuit says when it will let a call through: wait that long rather than a guess.
                DelayGenerator = args => new ValueTask<TimeSpan?>(
                    args.Outcome.Exception is BrokenCircuitException { RetryAfter: { } after } ? after : null),
                OnRetry = args =>
                {
                    var (code, reason) = args.Outcome.Exception switch
                    {
                        RpcException rpc => (rpc.StatusCode, rpc.Status.Detail),
                        BrokenCircuitException b => (StatusCode.Unavailable, b.Message),
                        var other => (StatusCode.Unknown, other?.Message ?? ""),
                    };
                    var operation = args.Context.OperationKey ?? "call";
                    logger.LogWarning("{Operation} attempt {Attempt} failed with {StatusCode} ({Reason}); retrying in {DelayMs:0} ms",
                        operation, args.AttemptNumber + 1, code, reason, args.RetryDelay.TotalMilliseconds);
                    options.OnRetry?.Invoke(new ContributiRetryEvent(operation, args.AttemptNumber, args.RetryDelay, code, reason));
                    return default;
                },
            });
        }
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            FailureRatio = options.CircuitBreakerFailureRatio,
            MinimumThroughput = options.CircuitBreakerMinimumThroughput,
            SamplingDuration = options.CircuitBreakerSamplingDuration,
            BreakDuration = options.CircuitBreakerBreakDuration,
            ShouldHandle = new PredicateBuilder().Handle<RpcException>(e => IsTransient(e.StatusCode)),
            OnOpened = args =>
            {
                logger.LogWarning("circuit opened for {BreakMs:0} ms", args.BreakDuration.TotalMilliseconds);
                options.OnCircuitChange?.Invoke(new ContributiCircuitEvent("open", args.BreakDuration));
                return default;
            },
            OnHalfOpened = _ =>
            {
                options.OnCircuitChange?.Invoke(new ContributiCircuitEvent("half-open", null));
                return default;
            },
            OnClosed = _ =>
            {
                logger.LogInformation("circuit closed");
                options.OnCircuitChange?.Invoke(new ContributiCircuitEvent("closed", null));
                return default;
            },
        });
        return builder.Build();
    }

    /// <summary>
    /// A <see cref="SocketsHttpHandler.ConnectCallback"/> for a handler of your own: connects over TCP as
    /// SocketsHttpHandler does and sends from a background loop, as the default handler does
    /// (<see cref="ContributiClientOptions.WriteBehind"/>). TLS, when the address is https, runs over it as usual.
    /// </summary>
    public static ValueTask<Stream> ConnectWithWriteBehindAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken) =>
        WriteBehindStream.ConnectAsync(context, cancellationToken);

    private static GrpcChannel CreateChannel(ContributiClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var handler = options.HttpHandler ?? new SocketsHttpHandler
        {
            // 64+ concurrent calls exceed one connection's HTTP/2 stream limit (100 on Kestrel) under load.
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            // The balancer connects to each replica itself (and refuses a ConnectCallback): write-behind is for one server.
            ConnectCallback = options.WriteBehind && !options.Balanced ? WriteBehindStream.ConnectAsync : null,
        };
        var channelOptions = new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            LoggerFactory = options.LoggerFactory,
            MaxReceiveMessageSize = options.MaxReceiveMessageSize,
            MaxSendMessageSize = options.MaxSendMessageSize,
        };
        if (!options.Balanced) return GrpcChannel.ForAddress(options.Address, channelOptions);

        // Grpc.Net.Client's own client-side balancing: round robin over the replicas that are up (a failed one is
        // skipped until it reconnects), from DNS (dns:///) or from the static list.
        channelOptions.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } };
        var tls = options.Replicas is { Count: > 0 } list ? list[0].Scheme == Uri.UriSchemeHttps : options.Tls || options.Address.Scheme == Uri.UriSchemeHttps;
        channelOptions.Credentials = tls ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure;
        if (options.Replicas is not { Count: > 0 } replicas) return GrpcChannel.ForAddress(options.Address, channelOptions);
        var addresses = replicas.Select(r => new BalancerAddress(r.Host, r.Port)).ToList();
        channelOptions.ServiceProvider = new Services(new StaticResolverFactory(_ => addresses));
        return GrpcChannel.ForAddress("static:///contributi-replicas", channelOptions);
    }

    /// <summary>What the channel asks its service provider for: the static list's resolver, nothing else (its defaults).</summary>
    private sealed class Services(ResolverFactory resolver) : IServiceProvider
    {
        public object? GetService(Type serviceType) =>
            serviceType == typeof(ResolverFactory) ? resolver
            : serviceType == typeof(IEnumerable<ResolverFactory>) ? new[] { resolver }
            : null;
    }

    /// <summary>
    /// The caller's requests as the bulk-scoring writers take them: a failure of the source is kept (<see cref="Failure"/>),
    /// ends the call, and reaches the writer as a cancellation. Until the first answer it records what it gave, so that a
    /// server without ScoreWorkBatches can be asked again on ScoreWorks from the first request (<see cref="Replay"/>).
    /// </summary>
    private sealed class RequestSource(IAsyncEnumerator<ScoreWorksRequest> inner, CancellationTokenSource cts, bool record) : IAsyncDisposable
    {
        private readonly Lock _gate = new();
        private List<ScoreWorksRequest>? _recorded = record ? [] : null; // guarded by _gate
        private List<ScoreWorksRequest>? _replay;
        private int _replayed;

        /// <summary>The request last taken.</summary>
        public ScoreWorksRequest Current { get; private set; } = null!;

        /// <summary>What the source threw, if it did.</summary>
        public Exception? Failure { get; private set; }

        /// <summary>Still recording: no answer came yet.</summary>
        public bool Recording => Volatile.Read(ref _recorded) is not null;

        /// <summary>The next request; completes synchronously when the source has one at hand.</summary>
        public ValueTask<bool> MoveNextAsync()
        {
            if (_replay is { } replay)
            {
                if (_replayed < replay.Count)
                {
                    Current = replay[_replayed++];
                    return new ValueTask<bool>(true);
                }
                _replay = null;
            }
            ValueTask<bool> move;
            try
            {
                move = inner.MoveNextAsync();
            }
            catch (Exception ex)
            {
                return ValueTask.FromException<bool>(Failed(ex));
            }
            return move.IsCompletedSuccessfully ? new ValueTask<bool>(Took(move.Result)) : Awaited(move);
        }

        private async ValueTask<bool> Awaited(ValueTask<bool> move)
        {
            try
            {
                return Took(await move.ConfigureAwait(false));
            }
            catch (Exception ex)
            {
                throw Failed(ex);
            }
        }

        private bool Took(bool more)
        {
            if (!more) return false;
            Current = inner.Current;
            if (Recording)
                lock (_gate)
                    _recorded?.Add(Current);
            return true;
        }

        private OperationCanceledException Failed(Exception ex)
        {
            // The source of requests failed: end the call so the reader stops too, and report this error.
            Failure = ex;
            cts.Cancel();
            return new OperationCanceledException("the source of requests failed", ex, cts.Token);
        }

        /// <summary>An answer came: the server serves the call, nothing will be asked again.</summary>
        public void StopRecording()
        {
            if (!Recording) return;
            lock (_gate)
                _recorded = null;
        }

        /// <summary>The requests taken so far are given again, in order, before the source's next ones.</summary>
        public void Replay()
        {
            lock (_gate)
            {
                _replay = _recorded;
                _replayed = 0;
                _recorded = null;
            }
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private static async IAsyncEnumerable<T> AsAsync<T>(IEnumerable<T> items)
    {
        foreach (var item in items)
        {
            yield return item;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }
}
