using System.Globalization;

namespace ContributiAutomatici.Engine.Scoring;

/// <summary>
/// How every request, REST route and CLI verb names a rule set, one grammar everywhere:
/// <code>
///   selector := (VERSION | YEAR) modifier*
///   modifier := '+' OVERLAY     the overlay on
///             | '~' OVERLAY     the overlay off
///             | '~*'            every overlay the version applies by default off
/// </code>
/// A version alone means the version as in force: with the overlays it applies by default (DM 2021 with its art. 17,
/// the covid-19 overlay). So <c>dm-2021</c> and <c>dm-2021+covid-19</c> are the same rule set, and <c>dm-2021~covid-19</c>
/// (or <c>dm-2021~*</c>) is the version without it. A year (<c>2021</c>) means the version in force for that application
/// year, with its defaults. Modifiers apply in order after the defaults, then a request's own without_overlays, then its
/// with_overlays. Every answer names the rule set by its canonical form (<see cref="Canonical"/>), which this
/// grammar reads back to the same rule set.
/// </summary>
public sealed record RuleSetSelector(string? Version, int? Year, IReadOnlyList<(bool On, string Overlay)> Modifiers)
{
    /// <summary>Parses a selector; null with <paramref name="error"/> when it is not one.</summary>
    public static RuleSetSelector? TryParse(string text, out string? error)
    {
        error = null;
        // Scanned as spans: a bare version ("dm-2021", what most requests send) allocates only the selector.
        var cut = text.AsSpan().IndexOfAny('+', '~');
        var head = cut < 0 ? text : text[..cut];
        if (head.Length == 0)
        {
            error = $"'{text}' names no version: write a version (dm-2021) or an application year (2021), then '+overlay' or '~overlay'";
            return null;
        }
        var modifiers = cut < 0 ? null : new List<(bool, string)>();
        var rest = cut < 0 ? "" : text[cut..];
        while (rest.Length > 0)
        {
            var on = rest[0] == '+';
            var next = rest.AsSpan(1).IndexOfAny('+', '~') is var at and >= 0 ? at + 1 : -1;
            var name = next < 0 ? rest[1..] : rest[1..next];
            if (name.Length == 0 || name == "*" && on)
            {
                error = $"'{text}': '{rest[0]}' is followed by an overlay id{(on ? "" : " or '*'")}";
                return null;
            }
            modifiers!.Add((on, name));
            rest = next < 0 ? "" : rest[next..];
        }
        var version = Bare(head, out var year);
        return new RuleSetSelector(version, year, (IReadOnlyList<(bool, string)>?)modifiers ?? []);
    }

    /// <summary>
    /// A selector without modifiers read as <see cref="TryParse"/> reads its head, without a selector: a year (four digits)
    /// gives null and <paramref name="year"/>, anything else is a version's id, given back.
    /// </summary>
    public static string? Bare(string head, out int? year)
    {
        var isYear = head.Length == 4 && !head.AsSpan().ContainsAnyExceptInRange('0', '9');
        year = isYear ? int.Parse(head, CultureInfo.InvariantCulture) : null;
        return isYear ? null : head;
    }

    /// <summary>
    /// The overlays applied to <paramref name="version"/>: its defaults, then each modifier, then <paramref name="without"/> off
    /// ("*": every default) and <paramref name="with"/> on. Null with the unknown overlay's id when one is not the version's.
    /// </summary>
    public IReadOnlyList<string>? Overlays(string version, IReadOnlyList<(string Id, bool OnByDefault)> known, IEnumerable<string> with,
        IEnumerable<string> without, out string? unknown)
    {
        unknown = null;
        var on = known.Where(o => o.OnByDefault).Select(o => o.Id).ToHashSet(StringComparer.Ordinal);
        // A request's own fields after the selector's modifiers: what it leaves off, then what it asks for (an overlay named
        // in both is on, as ever: "without *, with covid-19" is the version with exactly that overlay).
        foreach (var (add, id) in Modifiers.Concat(without.Select(w => (false, w))).Concat(with.Select(w => (true, w))))
        {
            if (!add && id == "*") { on.RemoveWhere(x => known.Any(k => k.Id == x && k.OnByDefault)); continue; }
            if (known.All(k => k.Id != id)) { unknown = id; return null; }
            if (add) on.Add(id); else on.Remove(id);
        }
        return [.. on.Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// The canonical name of a version with these overlays applied: the version, '+' each overlay applied, '~' each default
    /// left off (<c>dm-2021+covid-19</c>, <c>dm-2021~covid-19</c>, <c>dm-2017</c>).
    /// </summary>
    public static string Canonical(string version, IReadOnlyList<string> applied, IEnumerable<(string Id, bool OnByDefault)> known) =>
        version + string.Concat(applied.Order(StringComparer.Ordinal).Select(o => "+" + o)) +
        string.Concat(known.Where(k => k.OnByDefault && !applied.Contains(k.Id)).Select(k => k.Id).Order(StringComparer.Ordinal).Select(o => "~" + o));

    public override string ToString() =>
        (Version ?? Year?.ToString(CultureInfo.InvariantCulture) ?? "") + string.Concat(Modifiers.Select(m => (m.On ? "+" : "~") + m.Overlay));
}
