using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Engine.Allocation;

/// <summary>
/// Something the decree keeps out of the points or the money, with the article that does: a result entry (a
/// box-office period dated before art. 5.2's date), a claim (a company without the requirements of art. 4), or a
/// whole work (below the co-production threshold of art. 5.8). <paramref name="Field"/> is the path of the item kept
/// out, relative to the work or the claim ("box_office[0]"), empty for a whole claim or work.
/// </summary>
public sealed record Exclusion(string CompanyId, string WorkId, Model.Role? Role, string Field, string Article, string Reason);

/// <summary>
/// Which dated results count, by their date (art. 5.2, and with an application year art. 5.3-5.6): each result is
/// judged alone, so one inadmissible entry is kept out while the work's other results count.
/// </summary>
public sealed class ResultAdmission
{
    private readonly RuleSetDefinition _rules;
    private readonly int? _applicationYear;
    private readonly int? _firstExploitationYear;

    /// <param name="rules">The rule set: its admissible_results_from (5.2) and, for the allocation, its results block.</param>
    /// <param name="applicationYear">The year whose results are declared; null when scoring a single work.</param>
    /// <param name="firstExploitation">The work's first public release in Italy (art. 2.5.f), when known.</param>
    public ResultAdmission(RuleSetDefinition rules, int? applicationYear = null, DateOnly? firstExploitation = null)
    {
        _rules = rules;
        _applicationYear = applicationYear;
        _firstExploitationYear = firstExploitation?.Year;
    }

    /// <summary>The article and reason that keep out a result dated <paramref name="date"/>, or null if it counts.</summary>
    public (string Article, string Reason)? Reject(DateOnly date)
    {
        if (_rules.AdmissibleResultsFrom is { } from && date < from)
            return (_rules.AdmissibleResultsCitation,
                $"obtained on {date:yyyy-MM-dd}, before {from:yyyy-MM-dd}: results before then are inadmissible");
        if (_applicationYear is not { } year || _rules.Allocation is not { } a) return null;
        if (date.Year > year)
            return (a.NotYetObtainedCitation, $"obtained in {date.Year}: it belongs to the application for {date.Year}, not {year}");
        if (date.Year < year && _firstExploitationYear is { } first && a.FirstExploitation is { } fe)
        {
            if (date.Year <= first - fe.TooEarlyYears)
                return (fe.TooEarlyCitation,
                    $"obtained in {date.Year}, in or before the {Ordinal(fe.TooEarlyYears)} year before the first exploitation ({first})");
            if (year != first)
                return (fe.OtherYearCitation,
                    $"obtained in {date.Year}: results of years before the first exploitation are declared in the application for {first}, results of other years in their own year's");
        }
        return null;
    }

    private static string Ordinal(int n) => n switch { 1 => "1st", 2 => "2nd", 3 => "3rd", _ => $"{n}th" };
}
