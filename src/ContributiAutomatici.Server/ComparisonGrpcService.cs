using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Protocol;
using Grpc.Core;

namespace ContributiAutomatici.Server;

/// <summary>
/// contributi.v1.ComparisonService: regression runs over the loaded rule sets. DiffRuleSets compares definitions;
/// CompareWorks answers each work in order (a bad item is an error item, as in ScoreWorks); CompareAllocations reads a
/// whole year, allocates it under both sides, and answers once.
/// </summary>
[BindServiceMethod(typeof(ComparisonServiceBinding), nameof(ComparisonServiceBinding.BindService))]
public sealed class ComparisonGrpcService(LiveRules rules, ILogger<ComparisonGrpcService> logger) : ComparisonService.ComparisonServiceBase
{
    public override Task<DiffRuleSetsResponse> DiffRuleSets(DiffRuleSetsRequest request, ServerCallContext context) =>
        Task.FromResult(Comparisons.Diff(request, rules.Current));

    public override async Task CompareWorks(IAsyncStreamReader<CompareWorksRequest> requestStream,
        IServerStreamWriter<CompareWorksResponse> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var catalog = rules.Current; // a stream finishes on the rules it started with
        while (await requestStream.MoveNext(ct))
        {
            var item = requestStream.Current;
            var answer = new CompareWorksResponse { RequestId = item.RequestId };
            try
            {
                answer.Comparison = Comparisons.CompareWork(item, catalog);
            }
            catch (Exception ex) when (GrpcErrors.ForKnown(ex) is { } status)
            {
                answer.Error = status;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                var id = GrpcErrors.NewCorrelationId();
                logger.LogError(ex, "internal error, correlation id {CorrelationId}, in {Method} item {RequestId}", id, context.Method, item.RequestId);
                answer.Error = GrpcErrors.Internal(id);
            }
            await responseStream.WriteAsync(answer, ct);
        }
    }

    public override async Task<CompareAllocationsResponse> CompareAllocations(IAsyncStreamReader<CompareAllocationsRequest> requestStream,
        ServerCallContext context)
    {
        var reader = new Comparisons.YearReader(rules.Current);
        while (await requestStream.MoveNext(context.CancellationToken)) reader.Add(requestStream.Current);
        return reader.Compare();
    }
}
