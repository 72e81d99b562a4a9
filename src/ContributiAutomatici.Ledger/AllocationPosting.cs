using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Ledger;

/// <summary>
/// An allocation's credits as the ledger posts them: one per company, work and sub-quota. The allocation credits each
/// company per sub-quota, rounded once (reading guide 7), with one line per claim to 10 decimals; the ledger splits that
/// amount over the works to the cent by largest remainder (ties by work id), so the works' credits sum to the company's
/// credit exactly. The authors' shares of art. 14.3 are set aside from a work's credit for the roles the rule set names,
/// each category's percent of the credit, rounded to the cent.
/// </summary>
public static class AllocationPosting
{
    private static readonly StringComparer Ord = StringComparer.Ordinal;

    public static PostingRequest From(AllocationOutcome outcome, AuthorsSharesDefinition? authors, DateOnly postedOn)
    {
        var titles = outcome.Works.ToDictionary(w => w.Id, w => w.Title, Ord);
        var credits = new List<PostingCredit>();
        foreach (var company in outcome.Companies.OrderBy(c => c.Id, Ord))
        foreach (var credit in company.Credits)
        {
            var byWork = credit.Lines.GroupBy(l => l.WorkId, Ord).Select(g => (Work: g.Key, Exact: g.Sum(l => l.Exact),
                Authors: authors is not null && g.Any(l => authors.Roles.Contains(l.Role)))).OrderBy(x => x.Work, Ord).ToList();
            var cents = Split(credit.Amount, byWork.Select(x => x.Exact).ToList());
            for (var i = 0; i < byWork.Count; i++)
            {
                var amount = cents[i];
                if (amount == 0) continue;
                var share = byWork[i].Authors
                    ? authors!.Categories.Sum(_ => Math.Round(amount * authors.Percent / 100m, 2, MidpointRounding.AwayFromZero))
                    : 0m;
                credits.Add(new PostingCredit(company.Id, company.Name, byWork[i].Work, titles.GetValueOrDefault(byWork[i].Work, byWork[i].Work),
                    credit.QuotaId, credit.CreditingYear, credit.ExpiresOn, amount, share));
            }
        }
        return new PostingRequest(outcome.ApplicationYear, outcome.CreditingYear, outcome.RuleSetId, outcome.ContentHash, postedOn, credits);
    }

    /// <summary>
    /// <paramref name="total"/> (to the cent) in parts proportional to <paramref name="weights"/>, each to the cent,
    /// summing to the total: each part truncated, the cents left to the largest remainders, earliest first on ties.
    /// </summary>
    public static IReadOnlyList<decimal> Split(decimal total, IReadOnlyList<decimal> weights)
    {
        var sum = weights.Sum();
        if (weights.Count == 0) return [];
        if (sum == 0) return weights.Select((_, i) => i == 0 ? total : 0m).ToList();
        var totalCents = (long)Math.Round(total * 100m, MidpointRounding.AwayFromZero);
        var raw = weights.Select(w => totalCents * (w / sum)).ToList();
        var parts = raw.Select(r => (long)Math.Floor(r)).ToArray();
        var left = totalCents - parts.Sum();
        var order = Enumerable.Range(0, raw.Count).OrderByDescending(i => raw[i] - Math.Floor(raw[i])).ThenBy(i => i).ToList();
        for (var k = 0; left > 0; k = (k + 1) % order.Count, left--) parts[order[k]]++;
        return parts.Select(p => p / 100m).ToList();
    }
}
