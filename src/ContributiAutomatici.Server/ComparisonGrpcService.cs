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
    public override Task<DiffRuleSetsResponse> DiffRuleSets(DiffRuleSetsRequest request, ServerCallContext context)
    {
        var diff = Comparisons.Diff(request, rules.Current);
        context.ResolvedRuleSet(diff.A, diff.AContentHash);
        context.ResolvedRuleSet(diff.B, diff.BContentHash);
        return Task.FromResult(diff);
    }

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
                foreach (var side in new[] { answer.Comparison.A, answer.Comparison.B })
                    if (catalog.Find(side) is { } ruleSet) context.ResolvedRuleSet(ruleSet);
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
        var catalog = rules.Current;
        var reader = new Comparisons.YearReader(catalog);
        while (await requestStream.MoveNext(context.CancellationToken)) reader.Add(requestStream.Current);
        var comparison = reader.Compare();
        foreach (var side in new[] { comparison.A, comparison.B })
            context.ResolvedRuleSet(catalog, side.ContentHash, side.RuleSetId);
        return comparison;
    }
}
