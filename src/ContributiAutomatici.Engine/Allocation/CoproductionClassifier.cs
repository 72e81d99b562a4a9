using System.Globalization;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Engine.Allocation;

/// <summary>
/// A work's category by its producers' States (art. 2.f-h) and the Italian-share threshold of art. 5.8 it answers to.
/// <see cref="Label"/> is the decree's name for it, <see cref="Article"/> the letter of art. 2 that defines it,
/// <see cref="Reason"/> how the lists placed it. <see cref="ThresholdPercent"/>: null for a national work.
/// </summary>
public sealed record CoproductionStatus(
    CoproductionCategory Category, string Label, string Article, string Reason,
    decimal? ThresholdPercent, string ThresholdArticle, string ThresholdReason)
{
    public override string ToString() => ThresholdPercent is null
        ? $"{Label} [{Article}]: {Reason}"
        : $"{Label} [{Article}]: {Reason}; {ThresholdReason} [{ThresholdArticle}]";
}

/// <summary>
/// Derives a work's category from the rule set's dated lists of States, on the date the work was recognised as Italian
/// (reading guide, art. 5.8): with every foreign producer's State bound to Italy by an agreement in force (its bilateral
/// agreement, or the Council of Europe's convention with both States parties) a coproduzione (art. 2.f), multilateral with
/// two or more such States or under the convention alone; otherwise a compartecipazione (art. 2.g, cinema) or a produzione
/// internazionale (art. 2.h, other works). The figures of art. 5.8 (the shares and the cost) and the lists are the rule
/// set's; this class only applies them. A work that names no co-producer keeps the request's flag (category Declared).
/// </summary>
public sealed class CoproductionClassifier(CoproductionThreshold? rules, ListCatalog lists)
{
    /// <summary>The rule set's co-production block (art. 5.8, and art. 2.f-h when it has categories).</summary>
    public CoproductionThreshold? Rules { get; } = rules;

    private CoproductionStatus? _national;

    // The declared statuses (a year's co-productions are mostly declared), by multilateral, no State named and the cost's class
    // (not given, at least the reduced share's cost, less): immutable, so a status made twice by two calls at once is harmless.
    private readonly CoproductionStatus?[] _declared = new CoproductionStatus?[12];

    public CoproductionStatus Classify(Work work)
    {
        // Most works: no co-producer named, no flag. One status for all of them, nothing allocated per work.
        if (work.CoProducers.Count == 0 && work.Coproduction == CoproductionKind.None)
            return _national ??= With(CoproductionCategory.National, "nazionale", "", "no foreign producer", work);
        return ClassifyNamed(work);
    }

    /// <summary>A work that names co-producers or declares itself a co-production.</summary>
    private CoproductionStatus ClassifyNamed(Work work)
    {
        var categories = Rules?.Categories;
        var home = categories?.HomeCountry ?? Work.ItalyCountryCode;
        // The foreign producers' States, each once, in ordinal order (none named: the flag alone, nothing allocated).
        var foreign = work.CoProducers.Count == 0 ? [] : (IReadOnlyList<string>)ForeignStates(work, home);
        if (foreign.Count == 0 && work.Coproduction == CoproductionKind.None)
            return With(CoproductionCategory.National, "nazionale", "", "no foreign producer", work);
        if (foreign.Count == 0 || categories is null)
        {
            var multi = work.Coproduction == CoproductionKind.Multilateral || work.Coproduction == CoproductionKind.None && foreign.Count > 1;
            // What a declared status says depends on these alone (no date, no State named): one status for each, made once.
            var cost = work.ProductionCost is not { } c ? 0 : Rules is { } r && c >= r.ReducedFromCost ? 1 : 2;
            ref var known = ref _declared[(multi ? 1 : 0) + (foreign.Count == 0 ? 2 : 0) + 4 * cost];
            return known ??= With(CoproductionCategory.Declared, multi ? "coproduzione multilaterale (dichiarata)" : "coproduzione bilaterale (dichiarata)",
                Rules?.Citation ?? "", foreign.Count == 0
                    ? "as the request declares it (no co-producers named: the agreements are not checked)"
                    : "as the request declares it (the rule set has no lists of agreements)", work, declaredMultilateral: multi);
        }

        return ByAgreements(work, foreign, categories, home);
    }

    /// <summary>
    /// A work naming foreign producers, by the agreements in force on the day it was recognised as Italian. Apart from
    /// <see cref="ClassifyNamed"/>: its lambdas' captures would be allocated on entry, for every declared co-production too.
    /// </summary>
    private CoproductionStatus ByAgreements(Work work, IReadOnlyList<string> foreign, CoproductionCategories categories, string home)
    {
        var cinema = work.Kind == WorkKind.Cinema;
        if (work.NationalityRecognisedOn is not { } day)
            return cinema
                ? With(CoproductionCategory.Participation, "compartecipazione internazionale", categories.ParticipationCitation,
                    "no date of recognition as Italian: no agreement can be shown in force", work)
                : With(CoproductionCategory.InternationalProduction, "produzione internazionale", categories.InternationalProductionCitation,
                    "no date of recognition as Italian: no agreement can be shown in force", work);

        var on = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var bilateral = new List<string>();
        var convention = new List<(string Country, string Convention)>();
        var without = new List<string>();
        foreach (var country in foreign)
        {
            if (InForce(lists.Entries(categories.Agreements, country), day) is { } agreement)
                bilateral.Add($"{country} (agreement in force from {agreement.InForceFrom:yyyy-MM-dd}, {agreement.Citation})");
            else if (Party(lists.Entries(categories.Conventions, country), lists.Entries(categories.Conventions, home), day) is { } party)
                convention.Add((country, party.Category));
            else without.Add(country);
        }
        if (without.Count > 0)
        {
            var reason = $"no co-production agreement in force with {string.Join(", ", without)} on {on}, the date of recognition as Italian" +
                         Pending(without, categories);
            return cinema
                ? With(CoproductionCategory.Participation, "compartecipazione internazionale", categories.ParticipationCitation, reason, work)
                : With(CoproductionCategory.InternationalProduction, "produzione internazionale", categories.InternationalProductionCitation, reason, work);
        }
        var basis = string.Join("; ", bilateral.Concat(convention.Select(c => $"{c.Country} (party with Italy to the Council of Europe's convention {c.Convention} on {on})")));
        // Two or more agreement States, or a work made under the (multilateral) convention: multilateral (reading guide, art. 5.8).
        return foreign.Count > 1 || convention.Count > 0
            ? With(CoproductionCategory.MultilateralCoproduction, "coproduzione multilaterale", categories.CoproductionCitation + "; " + categories.MultilateralCitation,
                $"recognised on {on} with producers of {basis}", work)
            : With(CoproductionCategory.BilateralCoproduction, "coproduzione bilaterale", categories.CoproductionCitation,
                $"recognised on {on} with producers of {basis}", work);
    }

    private static List<string> ForeignStates(Work work, string home)
    {
        var foreign = new List<string>(work.CoProducers.Count);
        foreach (var c in work.CoProducers)
            if (c.Country != home && !foreign.Contains(c.Country)) foreign.Add(c.Country);
        foreign.Sort(StringComparer.Ordinal);
        return foreign;
    }

    /// <summary>The first entry in force on the day, or null.</summary>
    private static ListEntry? InForce(ListEntry[] entries, DateOnly day)
    {
        foreach (var e in entries)
            if (e.InForceOn(day)) return e;
        return null;
    }

    /// <summary>The first of a State's conventions in force on the day to which Italy is also party that day, or null.</summary>
    private static ListEntry? Party(ListEntry[] entries, ListEntry[] home, DateOnly day)
    {
        foreach (var e in entries)
            if (e.InForceOn(day))
                foreach (var h in home)
                    if (h.Category == e.Category && h.InForceOn(day)) return e;
        return null;
    }

    /// <summary>", KR's agreement being prepared (no date)" for the States listed without a date, with their note.</summary>
    private string Pending(List<string> countries, CoproductionCategories categories)
    {
        var notes = countries.SelectMany(c => lists.Entries(categories.Agreements, c).Where(e => e.InForceFrom is null)
            .Select(e => $"{c}: listed, not in force ({e.Note})")).ToList();
        return notes.Count == 0 ? "" : "; " + string.Join("; ", notes);
    }

    private CoproductionStatus With(CoproductionCategory category, string label, string article, string reason, Work work, bool declaredMultilateral = false)
    {
        if (category == CoproductionCategory.National || Rules is not { } cp)
            return new CoproductionStatus(category, label, article, reason, null, Rules?.Citation ?? "", "");
        var costly = work.ProductionCost >= cp.ReducedFromCost;
        var (reduced, why) = category switch
        {
            CoproductionCategory.MultilateralCoproduction => (true, "a multilateral coproduzione"),
            CoproductionCategory.BilateralCoproduction or CoproductionCategory.Declared when declaredMultilateral => (true, "a multilateral coproduzione"),
            CoproductionCategory.BilateralCoproduction or CoproductionCategory.Declared => costly
                ? (true, $"a bilateral coproduzione costing at least EUR {Dec(cp.ReducedFromCost)}")
                : (false, work.ProductionCost is null ? "a bilateral coproduzione whose cost is not given" : $"a bilateral coproduzione costing less than EUR {Dec(cp.ReducedFromCost)}"),
            // Art. 5.8 lowers the share for coproduzioni only (reading guide): a compartecipazione or produzione internazionale needs the minimum.
            _ => (false, $"a {label}, whatever its cost"),
        };
        var threshold = reduced ? cp.ReducedShare : cp.MinimumShare;
        return new CoproductionStatus(category, label, article, reason, threshold, cp.Citation, $"Italian share of at least {Dec(threshold)}% for {why}");
    }

    private static string Dec(decimal d) => d.ToString("0.############", CultureInfo.InvariantCulture);
}
