using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Ledger;

/// <summary>A year of applications allocated in-process and turned into the posting of its credits (what the CLI and the service post).</summary>
public static class YearPosting
{
    /// <summary>Allocates the year (as the allocate verb and AllocationService do) and gives its posting; a bad year throws as they do.</summary>
    public static (PostingRequest Posting, AllocationOutcome Outcome) Allocate(RuleCatalog catalog, IEnumerable<V1.AllocateRequest> items, DateOnly postedOn)
    {
        var reader = new AllocationMapper.Reader(catalog);
        foreach (var item in items) reader.Add(item);
        var input = reader.Build();
        var outcome = Allocator.Run(input);
        return (AllocationPosting.From(outcome, input.RuleSet.Definition.Allocation?.AuthorsShares, postedOn), outcome);
    }
}
