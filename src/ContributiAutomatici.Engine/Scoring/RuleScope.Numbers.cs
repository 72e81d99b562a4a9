using System.Globalization;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Engine.Scoring;

/// <summary>The numeric and date helpers of the rule language: proportional points, marginal tiers and scales, windows, slots.</summary>
public abstract partial class RuleScope
{
    // ---------------------------------------------------------------- numbers

    /// <summary>
    /// Whether a value is not zero (generated code: only a cell's non-zero points are added into its quota). decimal.Sign
    /// tests the magnitude's bits and is inlined, where != 0m is a call that compares two decimals.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    protected internal static bool NonZero(decimal value) => decimal.Sign(value) != 0;

    /// <summary>"1 punto ogni EUR X": amount / X, proportional, not floored (reading guide 4). Null or negative: 0.</summary>
    protected static decimal Per(decimal? amount, decimal unit) => amount is { } a && a > 0 ? a / unit : 0m;

    /// <summary>
    /// Marginal tiers with a ceiling: each (upTo, per) band scores its slice of the amount at 1 point
    /// per 'per' euro; the amount above the last 'upTo' is ignored (Tabella 1 A.1).
    /// </summary>
    protected static decimal Tiers(decimal? amount, params ReadOnlySpan<(decimal UpTo, decimal Per)> tiers)
    {
        if (amount is not { } a || a <= 0 || tiers.IsEmpty) return 0m;
        // The first band's slice is the amount up to its bound, and the points start at its points: the same numbers, scale
        // included, as subtracting a floor of 0m and adding to 0m (0m has scale 0; a sum or difference keeps the larger scale).
        var (firstUpTo, firstPer) = tiers[0];
        var points = Math.Min(a, firstUpTo) / firstPer;
        var floor = firstUpTo;
        for (var k = 1; k < tiers.Length; k++)
        {
            if (a <= floor) break;
            var (upTo, per) = tiers[k];
            points += (Math.Min(a, upTo) - floor) / per;
            floor = upTo;
        }
        return points;
    }

    /// <summary><see cref="Tiers(decimal?, ReadOnlySpan{ValueTuple{decimal, decimal}})"/> over a scale the rule file defines (<c>Tiers(producer_box_office, producer_scale)</c>).</summary>
    protected static decimal Tiers(decimal? amount, Scale scale) => Tiers(amount, scale.Bands);

    /// <summary><see cref="TiersOf(IReadOnlyList{DatedAmount}, Func{DatedAmount, bool}, ReadOnlySpan{ValueTuple{decimal, decimal}})"/> over a scale the rule file defines.</summary>
    protected static decimal TiersOf(IReadOnlyList<DatedAmount> entries, Func<DatedAmount, bool> select, Scale scale) =>
        TiersOf(entries, select, scale.Bands);

    /// <summary>
    /// The points that a selection of dated entries earns in marginal tiers that all the entries fill together, in date
    /// order (reading guide 7: box-office entries fill the tiers in date order; the Covid-19 +100% is on the points of
    /// the entries inside the window). Entries of zero or less fill nothing.
    /// </summary>
    protected static decimal TiersOf(IReadOnlyList<DatedAmount> entries, Func<DatedAmount, bool> select,
        params ReadOnlySpan<(decimal UpTo, decimal Per)> tiers) => TiersOf(entries, new Selected(select), tiers);

    /// <summary>
    /// <c>TiersOf(entries, e => InWindow(e.Date), scale)</c> without a delegate: the points the entries dated inside the window
    /// of the overlay that wrote the rule earn in marginal tiers that all the entries fill together, in date order (the
    /// Covid-19 +100% on the box office taken inside its window: <c>TiersInWindow(Work.BoxOffice, producer_scale)</c>).
    /// </summary>
    protected decimal TiersInWindow(IReadOnlyList<DatedAmount> entries, Scale scale) => TiersInWindow(entries, scale.Bands);

    /// <summary><see cref="TiersInWindow(IReadOnlyList{DatedAmount}, Scale)"/> with the bands spelt out.</summary>
    protected decimal TiersInWindow(IReadOnlyList<DatedAmount> entries, params ReadOnlySpan<(decimal UpTo, decimal Per)> tiers) =>
        TiersOf(entries, new InsideWindow(CurrentWindow), tiers);

    /// <summary>
    /// <c>entries.Where(e => InWindow(e.Date)).Sum(e => e.Amount)</c> without a delegate: the amounts of the entries dated inside
    /// the window of the overlay that wrote the rule, added in the list's order (<c>SumInWindow(Work.BoxOffice)</c>).
    /// </summary>
    protected decimal SumInWindow(IReadOnlyList<DatedAmount> entries)
    {
        var total = 0m;
        for (var i = 0; i < entries.Count; i++)
            if (InWindow(entries[i].Date)) total += entries[i].Amount;
        return total;
    }

    /// <summary>
    /// The amounts of the sales to media-service providers dated inside the window of the overlay that wrote the rule, in the
    /// list's order; with <paramref name="derogationOnly"/>, only those of the theatrical-release derogation (art. 17.1:
    /// <c>SumInWindow(Work.MediaSales, derogationOnly: true)</c>).
    /// </summary>
    protected decimal SumInWindow(IReadOnlyList<MediaSale> sales, bool derogationOnly = false)
    {
        var total = 0m;
        for (var i = 0; i < sales.Count; i++)
            if ((!derogationOnly || sales[i].TheatricalDerogation) && InWindow(sales[i].Date)) total += sales[i].Amount;
        return total;
    }

    /// <summary>Which dated entries a <see cref="TiersOf{TSelect}"/> scores: a struct, so no delegate is made per call.</summary>
    private interface IEntrySelection
    {
        bool Select(DatedAmount entry);
    }

    private readonly struct Selected(Func<DatedAmount, bool> select) : IEntrySelection
    {
        public bool Select(DatedAmount entry) => select(entry);
    }

    private readonly struct InsideWindow((DateOnly From, DateOnly To)? window) : IEntrySelection
    {
        public bool Select(DatedAmount entry) => window is { } w && entry.Date >= w.From && entry.Date <= w.To;
    }

    private static decimal TiersOf<TSelect>(IReadOnlyList<DatedAmount> entries, TSelect select,
        ReadOnlySpan<(decimal UpTo, decimal Per)> tiers) where TSelect : struct, IEntrySelection
    {
        // The entries above zero in date order, ties in the list's order (as a stable OrderBy): their (date, index) pairs
        // sorted, on the stack for a work's few entries, rented beyond. Nothing allocated per scoring.
        var count = 0;
        for (var i = 0; i < entries.Count; i++)
            if (entries[i].Amount > 0) count++;
        if (count == 0) return 0m;
        (DateOnly Date, int Index)[]? rented = null;
        var order = count <= 64
            ? stackalloc (DateOnly Date, int Index)[count]
            : (rented = System.Buffers.ArrayPool<(DateOnly, int)>.Shared.Rent(count)).AsSpan(0, count);
        try
        {
            for (int i = 0, k = 0; i < entries.Count; i++)
                if (entries[i].Amount > 0) order[k++] = (entries[i].Date, i);
            order.Sort();
            decimal filled = 0m, points = 0m;
            foreach (var (_, index) in order)
            {
                var e = entries[index];
                var before = Tiers(filled, tiers);
                filled += e.Amount;
                if (select.Select(e)) points += Tiers(filled, tiers) - before;
            }
            return points;
        }
        finally
        {
            if (rented is not null) System.Buffers.ArrayPool<(DateOnly, int)>.Shared.Return(rented);
        }
    }

    /// <summary>The window of dates of the overlay that wrote the rule being evaluated (set by the generated code).</summary>
    protected (DateOnly From, DateOnly To)? CurrentWindow;

    /// <summary>True when the date is given and inside the window of the overlay that wrote the rule (e.g. Covid-19's).</summary>
    protected bool InWindow(DateOnly? date) => date is { } d && CurrentWindow is { } w && d >= w.From && d <= w.To;

    /// <summary>
    /// True when the date is given and falls in the yearly period from..to ("MM-dd", both inclusive), in
    /// whatever year: <c>Within(Work.FirstReleaseDate, "06-01", "08-31")</c> is a summer release.
    /// </summary>
    protected static bool Within(DateOnly? date, [MonthDay] string from, [MonthDay] string to)
    {
        if (date is not { } d) return false;
        var md = d.Month * 100 + d.Day;
        return md >= MonthDayAttribute.Parse(from) && md <= MonthDayAttribute.Parse(to);
    }

    /// <summary>
    /// <see cref="Within(DateOnly?, string, string)"/> with the period's days as figures of unit month-day (601 for "06-01"):
    /// <c>Within(Work.FirstReleaseDate, summer_from, summer_to)</c>, the window an official edits in the row's figures.
    /// </summary>
    protected static bool Within(DateOnly? date, decimal from, decimal to) =>
        date is { } d && d.Month * 100 + d.Day is var md && md >= from && md <= to;

    /// <summary>True when the value is given and lo &lt;= value &lt;= hi.</summary>
    protected static bool Between(decimal? value, decimal lo, decimal hi) => value is { } v && v >= lo && v <= hi;

    /// <summary>
    /// Points of the time slot a start time falls in. Slots are given by their start time ("07:00");
    /// a slot runs to the next one's start, the last wraps past midnight to the first; start inclusive.
    /// No time given: 0.
    /// </summary>
    protected static decimal Slot(TimeOnly? time, [TimeOfDay] params ReadOnlySpan<(string From, decimal Points)> slots)
    {
        if (time is not { } t || slots.Length == 0) return 0m;
        var result = slots[^1].Points; // before the first start: still in the last slot (wraps midnight)
        foreach (var (from, points) in slots)
            if (t >= TimeOnly.ParseExact(from, "HH:mm", CultureInfo.InvariantCulture)) result = points;
        return result;
    }
}
