using System.Diagnostics;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Protocol;
using Grpc.Core;

namespace ContributiAutomatici.Server;

/// <summary>
/// contributi.v1.AllocationService: reads a whole year from the request stream (each item checked as it comes), allocates
/// it, then streams the result: summary, company statements, work statements, exclusions. A bad year is one
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
        var ct = context.CancellationToken;
        // The rules current when the call starts allocate the whole year, whatever a reload does meanwhile.
        var reader = new AllocationMapper.Reader(rules.Current);
        var items = 0;
        while (await requestStream.MoveNext(ct))
        {
            reader.Add(requestStream.Current);
            items++;
        }
        var written = 0;
        // Each item's bytes written straight from the outcome (no message, no string per figure) and handed to the transport
        // through the call's one carrier message (AllocationFrames) before the next item is written.
        var (outcome, statementsFor) = Run(reader, items, context);
        var (carrier, frame) = AllocationFrames.Carrier();
        foreach (var bytes in AllocationMapper.Frames(outcome, statementsFor))
        {
            ct.ThrowIfCancellationRequested();
            frame.Bytes = bytes;
            // Handed to the transport in batches: a flush every FlushEvery items, not one per message.
            responseStream.WriteOptions = ++written % FlushEvery == 0 ? null : Buffered;
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
