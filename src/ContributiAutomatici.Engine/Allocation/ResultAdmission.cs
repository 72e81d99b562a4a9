using ContributiAutomatici.Engine.Model;
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
/// Which dated results count (art. 5.2, 5.10, and with an application year art. 5.3-5.6): each result is judged alone, so
/// one inadmissible entry is kept out, with its article, while the work's other results count. The engine applies it
/// wherever it scores: <see cref="Scoring.CompiledRuleSet.Score"/> and <see cref="Scoring.CompiledRuleSet.ScoreTotals"/>
/// (art. 5.2, 5.10) and the allocation (<see cref="Allocator"/>, with the year), so a caller of the engine gets the decree's
/// answer whatever it passes in.
/// </summary>
public sealed class ResultAdmission
{
    /// <summary>The path of each kind of result in an <see cref="Exclusion"/>, relative to the work or the claim.</summary>
    public const string BoxOfficeField = "box_office", MediaSalesField = "media_sales", ForeignSalesField = "foreign_sales",
        ClaimantForeignSalesField = "role.foreign_sales", ClaimantHomeEntertainmentField = "role.home_entertainment_sales";

    private readonly RuleSetDefinition _rules;
    private readonly int? _applicationYear;
    private readonly int? _firstExploitationYear;
    private readonly string? _declaredOnce;
    // What Rule reads for every result, read once: the first admissible day, and whether the year's rules (5.3-5.6) apply.
    private readonly DateOnly _admissibleFrom;
    private readonly bool _yearRules;
    // The days that count (Rule gives none of its reasons): one window, its first and last day (empty when the first is after the last).
    private readonly DateOnly _countsFrom, _countsTo;

    /// <param name="rules">The rule set: its admissible_results_from (5.2) and, for the allocation, its results block.</param>
    /// <param name="applicationYear">The year whose results are declared; null when scoring a single work.</param>
    /// <param name="firstExploitation">The work's first public release in Italy (art. 2.5.f), when known.</param>
    public ResultAdmission(RuleSetDefinition rules, int? applicationYear = null, DateOnly? firstExploitation = null)
    {
        _rules = rules;
        _applicationYear = applicationYear;
        _firstExploitationYear = firstExploitation?.Year;
        // A result declared twice counts once (art. 5.10), where the rule set cites it.
        _declaredOnce = string.IsNullOrEmpty(rules.Allocation?.DeclaredOnceCitation) ? null : rules.Allocation.DeclaredOnceCitation;
        _admissibleFrom = rules.AdmissibleResultsFrom ?? DateOnly.MinValue;
        _yearRules = applicationYear is not null && rules.Allocation is not null;
        (_countsFrom, _countsTo) = (_admissibleFrom, DateOnly.MaxValue);
        if (_yearRules)
        {
            // Rule's years as a window: up to the application year; before it, only the years after the too-early ones of a work
            // first exploited in the application year, none for a work first exploited in another, all when not known.
            var year = applicationYear.GetValueOrDefault();
            var fromYear = int.MinValue;
            if (_firstExploitationYear is { } first && rules.Allocation!.FirstExploitation is { } fe)
                fromYear = year == first ? Math.Min(year, first - fe.TooEarlyYears + 1) : year;
            if (year < DateOnly.MinValue.Year) (_countsFrom, _countsTo) = (DateOnly.MaxValue, DateOnly.MinValue); // no day counts
            else
            {
                if (fromYear > DateOnly.MinValue.Year) _countsFrom = Later(_countsFrom, new DateOnly(Math.Min(fromYear, DateOnly.MaxValue.Year), 1, 1));
                _countsTo = year >= DateOnly.MaxValue.Year ? DateOnly.MaxValue : new DateOnly(year, 12, 31);
            }
        }
    }

    private static DateOnly Later(DateOnly a, DateOnly b) => a > b ? a : b;

    /// <summary>The article and reason that keep out a result dated <paramref name="date"/>, or null if it counts.</summary>
    public (string Article, string Reason)? Reject(DateOnly date)
    {
        switch (Rule(date))
        {
            case Out.BeforeAdmissible:
                return (_rules.AdmissibleResultsCitation,
                    $"obtained on {date:yyyy-MM-dd}, before {_rules.AdmissibleResultsFrom.GetValueOrDefault():yyyy-MM-dd}: results before then are inadmissible");
            case Out.NotYetObtained:
                return (_rules.Allocation!.NotYetObtainedCitation,
                    $"obtained in {date.Year}: it belongs to the application for {date.Year}, not {_applicationYear}");
            case Out.TooEarly:
                var fe = _rules.Allocation!.FirstExploitation!;
                return (fe.TooEarlyCitation,
                    $"obtained in {date.Year}, in or before the {Ordinal(fe.TooEarlyYears)} year before the first exploitation ({_firstExploitationYear})");
            case Out.OtherYear:
                return (_rules.Allocation!.FirstExploitation!.OtherYearCitation,
                    $"obtained in {date.Year}: results of years before the first exploitation are declared in the application for {_firstExploitationYear}, results of other years in their own year's");
            default:
                return null;
        }
    }

    /// <summary>Whether a result dated <paramref name="date"/> counts (<see cref="Reject"/> without its words: no allocation).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public bool Admits(DateOnly date) => date >= _countsFrom && date <= _countsTo; // (Rule(date) == Out.None, as one window)

    private enum Out { None, BeforeAdmissible, NotYetObtained, TooEarly, OtherYear }

    private Out Rule(DateOnly date)
    {
        if (date < _admissibleFrom) return Out.BeforeAdmissible;
        if (!_yearRules) return Out.None;
        var (year, a) = (_applicationYear.GetValueOrDefault(), _rules.Allocation!);
        if (date.Year > year) return Out.NotYetObtained;
        if (date.Year < year && _firstExploitationYear is { } first && a.FirstExploitation is { } fe)
        {
            if (date.Year <= first - fe.TooEarlyYears) return Out.TooEarly;
            if (year != first) return Out.OtherYear;
        }
        return Out.None;
    }

    /// <summary>
    /// The work with only its results that count; each kept out is added to <paramref name="excluded"/> (when given) with
    /// its article and its path ("box_office[1]"). The same instance when all count: nothing is allocated then.
    /// </summary>
    public Work Admit(Work work, List<Exclusion>? excluded)
    {
        // Each list's type checked here, on its own type (in AllCount, shared by the kinds, a check against List<T> costs a lookup).
        if (AllCount<DatedAmount, AmountDate>(work.BoxOffice, work.BoxOffice as List<DatedAmount>, byDate: true) &&
            AllCount<MediaSale, MediaDate>(work.MediaSales, work.MediaSales as List<MediaSale>) &&
            AllCount<ForeignSale, SaleDate>(work.ForeignSales, work.ForeignSales as List<ForeignSale>))
            return work;
        // A box-office period is one result per date; a sale, one per identical entry (art. 5.10).
        var boxOffice = Admitted(work.BoxOffice, static e => e.Date, static e => e.Date, BoxOfficeField, "", work.Id, null, excluded);
        var media = Admitted(work.MediaSales, static e => e.Date, static e => e, MediaSalesField, "", work.Id, null, excluded);
        var foreign = Admitted(work.ForeignSales, static e => e.Date, static e => e, ForeignSalesField, "", work.Id, null, excluded);
        return ReferenceEquals(boxOffice, work.BoxOffice) && ReferenceEquals(media, work.MediaSales) && ReferenceEquals(foreign, work.ForeignSales)
            ? work
            : work with { BoxOffice = boxOffice, MediaSales = media, ForeignSales = foreign };
    }

    /// <summary>As <see cref="Admit(Work, List{Exclusion}?)"/>, for a claimant's own results ("role.foreign_sales[0]").</summary>
    public RoleInput Admit(RoleInput claimant, string companyId, string workId, List<Exclusion>? excluded)
    {
        if (AllCount<ForeignSale, SaleDate>(claimant.ForeignSales, claimant.ForeignSales as List<ForeignSale>) &&
            AllCount<DatedAmount, AmountDate>(claimant.HomeEntertainmentSales, claimant.HomeEntertainmentSales as List<DatedAmount>)) return claimant;
        var foreign = Admitted(claimant.ForeignSales, static e => e.Date, static e => e, ClaimantForeignSalesField, companyId, workId,
            claimant.Role, excluded);
        var home = Admitted(claimant.HomeEntertainmentSales, static e => e.Date, static e => e, ClaimantHomeEntertainmentField, companyId,
            workId, claimant.Role, excluded);
        return ReferenceEquals(foreign, claimant.ForeignSales) && ReferenceEquals(home, claimant.HomeEntertainmentSales)
            ? claimant
            : claimant with { ForeignSales = foreign, HomeEntertainmentSales = home };
    }

    /// <summary>
    /// A work and its claimants as <see cref="Admit(Work, List{Exclusion}?)"/> and <see cref="Admit(RoleInput, string, string, List{Exclusion}?)"/>
    /// leave them, in that order (the work's results, then each claimant's); <paramref name="roles"/> itself when all count.
    /// </summary>
    public (Work Work, IReadOnlyList<RoleInput> Roles) Admit(Work work, IReadOnlyList<RoleInput> roles, List<Exclusion>? excluded)
    {
        var admitted = Admit(work, excluded);
        RoleInput[]? copy = null;
        for (var k = 0; k < roles.Count; k++)
        {
            var r = Admit(roles[k], "", work.Id, excluded);
            if (ReferenceEquals(r, roles[k])) continue;
            copy ??= [.. roles];
            copy[k] = r;
        }
        return (admitted, (IReadOnlyList<RoleInput>?)copy ?? roles);
    }

    /// <summary>
    /// A year's works and claims with only their results that count, each work's (and each claim's) judged with the
    /// application year and the work's first exploitation (art. 5.3-5.6): each work or claim with a result kept out replaced,
    /// in place, by its copy without it; the lists' order is kept. <paramref name="claimWork"/>: a claim's work as its position
    /// in <paramref name="works"/> (-1: not given).
    /// </summary>
    public static void Admit(RuleSetDefinition rules, int applicationYear, List<YearWork> works, List<YearClaim> claims,
        Func<int, int> claimWork, List<Exclusion> excluded)
    {
        // The judge depends on the year of the first exploitation only: one per such year (a year has a few), not per work and claim.
        var judges = new Dictionary<int, ResultAdmission>();
        ResultAdmission? unknown = null;
        ResultAdmission Judge(DateOnly? first) => first is { } d
            ? judges.TryGetValue(d.Year, out var j) ? j : judges[d.Year] = new ResultAdmission(rules, applicationYear, d)
            : unknown ??= new ResultAdmission(rules, applicationYear);
        // The first exploitations read from the works as given (a work's copy keeps its own).
        for (var i = 0; i < works.Count; i++)
        {
            var yw = works[i];
            var work = Judge(yw.FirstExploitation).Admit(yw.Work, excluded);
            if (!ReferenceEquals(work, yw.Work)) works[i] = yw with { Work = work };
        }
        for (var i = 0; i < claims.Count; i++)
        {
            var c = claims[i];
            // Most claimants declare no results of their own: nothing to judge (Admit would give the same claimant back).
            if (c.Role.ForeignSales.Count == 0 && c.Role.HomeEntertainmentSales.Count == 0) continue;
            var w = claimWork(i);
            var role = Judge(w >= 0 ? works[w].FirstExploitation : null).Admit(c.Role, c.CompanyId, c.WorkId, excluded);
            if (!ReferenceEquals(role, c.Role)) claims[i] = c with { Role = role };
        }
    }

    /// <summary>
    /// The entries that count, in their order: each judged by its date, and one declared again (the same key as an earlier
    /// entry that counts) kept out the second time (art. 5.10). <paramref name="items"/> itself when all count.
    /// </summary>
    private IReadOnlyList<T> Admitted<T, TKey>(IReadOnlyList<T> items, Func<T, DateOnly> date, Func<T, TKey> key, string field,
        string companyId, string workId, Role? role, List<Exclusion>? excluded) where T : class
    {
        // Most lists are empty or of one entry: no pair to compare.
        if (items.Count == 0 || items.Count == 1 && Admits(date(items[0]))) return items;
        // Declared twice is only asked when there are two entries; a long list is checked with a set, a short one by pairs.
        var once = items.Count > 1 ? _declaredOnce : null;
        var seen = once is not null && items.Count > PairwiseUpTo ? new HashSet<TKey>() : null;
        var first = -1;
        for (var i = 0; i < items.Count && first < 0; i++)
            if (!Admits(date(items[i])) || once is not null && Again(items, i, date, key, seen)) first = i;
        if (first < 0) return items;

        seen?.Clear();
        var kept = new List<T>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var e = items[i];
            if (Reject(date(e)) is { } why) excluded?.Add(new Exclusion(companyId, workId, role, $"{field}[{i}]", why.Article, why.Reason));
            else if (once is not null && Again(items, i, date, key, seen))
                excluded?.Add(new Exclusion(companyId, workId, role, $"{field}[{i}]", once, $"the same result is declared twice ({e}): it counts once"));
            else kept.Add(e);
        }
        return kept;
    }

    private const int PairwiseUpTo = 16;

    // The common case, on every scoring's path (the totals path among them), judged without a delegate, a set or a string:
    // every entry counts by its date and none is declared again. Anything else goes to Admitted, which says why.

    // Each kind's date through a struct accessor (the JIT specializes the loop: no delegate call per entry).
    private interface IDated<T>
    {
        static abstract DateOnly Date(T entry);
    }

    private struct AmountDate : IDated<DatedAmount>
    {
        public static DateOnly Date(DatedAmount entry) => entry.Date;
    }

    private struct MediaDate : IDated<MediaSale>
    {
        public static DateOnly Date(MediaSale entry) => entry.Date;
    }

    private struct SaleDate : IDated<ForeignSale>
    {
        public static DateOnly Date(ForeignSale entry) => entry.Date;
    }

    private bool AllCount<T, TDate>(IReadOnlyList<T> items, List<T>? list, bool byDate = false) where T : class, IEquatable<T> where TDate : struct, IDated<T>
    {
        if (items.Count == 0) return true;
        // A list's own entries (<paramref name="list"/>: the same list, when it is a List), read as a span (no interface call
        // per entry); any other kind of list goes to Admitted, which gives the same answer (the same instance when all count),
        // only slower.
        if (list is null) return false;
        var entries = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list);
        var n = entries.Length;
        // One pass: every entry counts by its date, and whether the days rise. Entries in date order (as results are usually
        // given) share no day, so none is declared again: no pair to compare, however long the list.
        var rising = true;
        var previous = TDate.Date(entries[0]);
        if (!Admits(previous)) return false;
        for (var i = 1; i < n; i++)
        {
            var day = TDate.Date(entries[i]);
            if (!Admits(day)) return false;
            if (day <= previous) rising = false;
            previous = day;
        }
        if (rising || _declaredOnce is null) return true;
        if (!Pairwise(n)) return false;
        for (var i = 1; i < n; i++)
        {
            var day = TDate.Date(entries[i]);
            for (var j = 0; j < i; j++)
                if (TDate.Date(entries[j]) == day && (byDate || entries[j].Equals(entries[i]))) return false;
        }
        return true;
    }

    /// <summary>Whether a list this long is judged by pairs here (a long one with art. 5.10 goes to <see cref="Admitted"/>'s set).</summary>
    private bool Pairwise(int count) => count <= PairwiseUpTo || _declaredOnce is null;

    /// <summary>
    /// Whether entry <paramref name="i"/> has the key of an earlier entry that counts by its date. With <paramref name="seen"/>
    /// (entries visited in order), the keys of those earlier entries; without, the earlier entries are compared one by one.
    /// </summary>
    private bool Again<T, TKey>(IReadOnlyList<T> items, int i, Func<T, DateOnly> date, Func<T, TKey> key, HashSet<TKey>? seen)
    {
        var k = key(items[i]);
        if (seen is not null) return Admits(date(items[i])) && !seen.Add(k);
        var comparer = EqualityComparer<TKey>.Default;
        for (var j = 0; j < i; j++)
            if (comparer.Equals(key(items[j]), k) && Admits(date(items[j]))) return true;
        return false;
    }

    private static string Ordinal(int n) => n switch { 1 => "1st", 2 => "2nd", 3 => "3rd", _ => $"{n}th" };
}
