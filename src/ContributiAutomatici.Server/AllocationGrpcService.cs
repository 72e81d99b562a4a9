using System.Diagnostics;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Protocol;
using Grpc.Core;

namespace ContributiAutomatici.Server;

/// <summary>
/// contributi.v1.AllocationService: reads a whole year from the request stream (each item checked as it comes; Allocate one item
/// per message, AllocateBatches several), allocates it, then streams the result: summary, company statements, work
/// statements, exclusions (AllocateBatches: the same items, several per message). A bad year is one
/// INVALID_ARGUMENT naming every offending item and field (<see cref="ErrorInterceptor"/>); nothing is half-answered,
/// since nothing is written before the whole year is read and allocated.
/// </summary>
[BindServiceMethod(typeof(AllocationServiceBinding), nameof(AllocationServiceBinding.BindService))]
public sealed class AllocationGrpcService(LiveRules rules, ContributiMetrics metrics, ILogger<AllocationGrpcService> logger)
    : AllocationService.AllocationServiceBase
{
    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);
    private const int FlushEvery = 256;

    public override async Task Allocate(IAsyncStreamReader<AllocateRequest> requestStream,
        IServerStreamWriter<AllocateResponse> responseStream, ServerCallContext context)
    {
        var (outcome, statementsFor) = await ReadAndRun(requestStream, static (item, reader) =>
        {
            reader.Add(item);
            return 1;
        }, context);
        // Handed to the transport in batches: a flush every FlushEvery items, not one per message.
        await Write(responseStream, AllocationMapper.Frames(outcome, statementsFor), FlushEvery, context.CancellationToken);
    }

    /// <summary>
    /// Allocate with several items per message both ways: the batches' items, in order, are read as Allocate reads its items
    /// (so an error names an item by its index in the whole year), and the same items' bytes go back framed into batch
    /// messages (<see cref="AllocationFrames.Batches"/>), each flushed. A batch of more than
    /// <see cref="RequestLimits.MaxAllocateBatchItems"/> items ends the call with INVALID_ARGUMENT naming "items" when it comes.
    /// </summary>
    public override async Task AllocateBatches(IAsyncStreamReader<AllocateBatchesRequest> requestStream,
        IServerStreamWriter<AllocateBatchesResponse> responseStream, ServerCallContext context)
    {
        var (outcome, statementsFor) = await ReadAndRun(requestStream, static (batch, reader) =>
        {
            var items = batch.Items;
            RequestLimits.CheckBatch(items.Count, RequestLimits.MaxAllocateBatchItems);
            for (var i = 0; i < items.Count; i++) reader.Add(items[i]);
            return items.Count;
        }, context);
        await Write(responseStream, AllocationFrames.Batches(AllocationMapper.Frames(outcome, statementsFor)), 1, context.CancellationToken);
    }

    /// <summary>
    /// Reads the whole year from the request stream (<paramref name="add"/> gives a message's items to the reader and counts
    /// them), then allocates it (<see cref="Run"/>). The rules current when the call starts allocate the whole year, whatever a
    /// reload does meanwhile.
    /// </summary>
    private async Task<(AllocationOutcome Outcome, IReadOnlyList<string> StatementsFor)> ReadAndRun<TRequest>(IAsyncStreamReader<TRequest> requestStream,
        Func<TRequest, AllocationMapper.Reader, int> add, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var reader = new AllocationMapper.Reader(rules.Current);
        var items = 0;
        while (await requestStream.MoveNext(ct)) items += add(requestStream.Current, reader);
        return Run(reader, items, context);
    }

    /// <summary>
    /// Each message's bytes, written straight from the outcome (no message, no string per figure), handed to the transport through
    /// the call's one carrier message (<see cref="AllocationFrames"/>) before the next is written; a flush every
    /// <paramref name="flushEvery"/> messages.
    /// </summary>
    private static async Task Write<TResponse>(IServerStreamWriter<TResponse> responseStream, IEnumerable<ReadOnlyMemory<byte>> messages,
        int flushEvery, CancellationToken ct) where TResponse : class, Google.Protobuf.IMessage<TResponse>, new()
    {
        var written = 0;
        var (carrier, frame) = AllocationFrames.Carrier<TResponse>();
        foreach (var bytes in messages)
        {
            ct.ThrowIfCancellationRequested();
            frame.Bytes = bytes;
            responseStream.WriteOptions = ++written % flushEvery == 0 ? null : Buffered;
            await responseStream.WriteAsync(carrier, ct);
        }
    }

    /// <summary>The same allocation for a year in one message (and over JSON/HTTP: POST /v1/allocations:allocate).</summary>
    public override Task<AllocateYearResponse> AllocateYear(AllocateYearRequest request, ServerCallContext context)
    {
        var reader = new AllocationMapper.Reader(rules.Current);
        var items = 0;
        foreach (var item in AllocationMapper.Items(request.Year ?? new AllocationYear()))
        {
            reader.Add(item);
            items++;
        }
        var (outcome, statementsFor) = Run(reader, items, context);
        return Task.FromResult(new AllocateYearResponse { Result = AllocationMapper.Result(AllocationMapper.Items(outcome, statementsFor)) });
    }

    /// <summary>Allocates the year read, counts and logs the run; the outcome and the companies whose statements the header asks for.</summary>
    private (AllocationOutcome Outcome, IReadOnlyList<string> StatementsFor) Run(AllocationMapper.Reader reader, int items, ServerCallContext context)
    {
        var sw = Stopwatch.StartNew();
        var input = reader.Build();
        context.CancellationToken.ThrowIfCancellationRequested();
        var outcome = Allocator.Run(input);
        // The rule set used: the version with its overlays ("dm-2021+covid-19").
        context.ResolvedRuleSet(input.RuleSet);
        metrics.AllocationRun(input.RuleSet.Id);
        logger.LogInformation(
            "allocated {Year} under {RuleSet} ({Hash}): {Items} items, {Companies} companies, {Works} works, {Exclusions} exclusions, EUR {Allocated} in {Ms} ms",
            outcome.ApplicationYear, outcome.RuleSetId, outcome.ContentHash[..12], items, outcome.Companies.Count, outcome.Works.Count,
            outcome.Exclusions.Count, outcome.Allocated, sw.ElapsedMilliseconds);
        return (outcome, reader.StatementsFor);
    }
}
