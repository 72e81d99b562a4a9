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
        var catalog = rules.Current;
        var reader = new AllocationMapper.Reader(catalog);
        var items = 0;
        while (await requestStream.MoveNext(ct))
        {
            reader.Add(requestStream.Current);
            items++;
        }
        var sw = Stopwatch.StartNew();
        var input = reader.Build();
        ct.ThrowIfCancellationRequested();
        var outcome = Allocator.Run(input);
        metrics.AllocationRun(context.ResolvedRuleSet(catalog, outcome.ContentHash, outcome.RuleSetId));
        logger.LogInformation(
            "allocated {Year} under {RuleSet} ({Hash}): {Items} items, {Companies} companies, {Works} works, {Exclusions} exclusions, EUR {Allocated} in {Ms} ms",
            outcome.ApplicationYear, outcome.RuleSetId, outcome.ContentHash[..12], items, outcome.Companies.Count, outcome.Works.Count,
            outcome.Exclusions.Count, outcome.Allocated, sw.ElapsedMilliseconds);
        var written = 0;
        foreach (var item in AllocationMapper.Items(outcome))
        {
            ct.ThrowIfCancellationRequested();
            // Handed to the transport in batches: a flush every FlushEvery items, not one per message.
            responseStream.WriteOptions = ++written % FlushEvery == 0 ? null : Buffered;
            await responseStream.WriteAsync(item, ct);
        }
    }
}
