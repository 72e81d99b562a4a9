using System.Globalization;
using System.Text.RegularExpressions;

namespace ContributiAutomatici.Engine.Law;

/// <summary>
/// One paragraph's address in a decree: an article, its comma, letter and number (<c>art. 7.1.a</c>), or a table, its
/// section or band, item, group and numbered line (<c>Tabella 1, A.1</c>; <c>Tabella 6, fascia B, 1) tutte le opere, n. 9</c>).
/// <see cref="Key"/> is what two spellings of one address share ("Art. 7.1.a" and "art. 7.1.a").
/// </summary>
public sealed record LawAddress(IReadOnlyList<string> Parts, string Display)
{
    /// <summary>The address as one string ("art7/1/a", "T1/A/1", "T6/B/1)/n.9").</summary>
    public string Key { get; } = string.Join("/", Parts);

    /// <summary>The address of the paragraph that holds this one (null for an article or a table).</summary>
    public string? ParentKey => Parts.Count > 1 ? string.Join("/", Parts.Take(Parts.Count - 1)) : null;

    /// <summary>Whether the last part is a numbered line of a list ("n. 9"), which the paragraph above holds as a line.</summary>
    public bool IsListLine => Parts[^1].StartsWith("n.", StringComparison.Ordinal);

    public override string ToString() => Display;
}

/// <summary>One reference of a cite (the text between two ';'): the decree it names, if any, and the addresses it covers.</summary>
public sealed record LawReference(string Text, string? Decree, IReadOnlyList<LawAddress> Addresses);

/// <summary>
/// The grammar of a <c>cite</c> (rules/README.md, "The law beside its rows"):
/// <code>
/// cite      := part ( ";" part )*                  notes in parentheses are the author's words, not addresses
/// part      := [ "DM" dd/mm/yyyy [","] ] ( article | table )
/// article   := ("art." | "Art." | "articolo") N [ "." comma [ "." letter [ "." number ] ] ]     the last part may be a range: 7.1.b-c
/// table     := "Tabella" N [ [","] tail ( "," tail )* ]
/// tail      := S [ "." N ]  |  S "e" S  |  "fascia" S  |  "fasce" S "e" S  |  N ")" words  |  "n." N
/// </code>
/// S is a section or band letter (A-E), N a number. "B e C" and "b-c" cover each paragraph named; each must exist.
/// </summary>
public static partial class Citation
{
    /// <summary>The references of <paramref name="cite"/>; <paramref name="problems"/> gets each part that is not one.</summary>
    public static IReadOnlyList<LawReference> Parse(string cite, List<string> problems)
    {
        var references = new List<LawReference>();
        // Notes in parentheses first (they may hold ';' and other decrees' addresses): "Tabella 1 (valori da DM 2021 Tabella 1, A.1)".
        var text = cite;
        for (var previous = ""; previous != text;)
        {
            previous = text;
            text = Note().Replace(text, " ");
        }
        foreach (var raw in text.Split(';'))
        {
            var part = Spaces().Replace(raw, " ").Trim();
            if (part.Length == 0) continue;
            if (ParsePart(part, out var problem) is { } reference) references.Add(reference);
            else problems.Add(problem!);
        }
        if (references.Count == 0 && problems.Count == 0) problems.Add("names no article nor table");
        return references;
    }

    /// <summary>A heading's address ("Art. 7.1.a – ..." gives art. 7.1.a): one address, or null when the heading is not one (e.g. "Premesse").</summary>
    public static LawAddress? ParseAddress(string text)
    {
        var dash = text.IndexOf(" – ", StringComparison.Ordinal);
        var address = (dash >= 0 ? text[..dash] : text).Trim();
        return ParsePart(address, out _) is { Decree: null, Addresses: [var one] } ? one : null;
    }

    private static LawReference? ParsePart(string part, out string? problem)
    {
        problem = null;
        string? decree = null;
        var rest = part;
        if (Decree().Match(rest) is { Success: true } dm)
        {
            decree = DecreeDate(dm.Groups[1].Value, dm.Groups[2].Value, dm.Groups[3].Value);
            rest = rest[dm.Length..].Trim();
        }
        if (rest.Length == 0)
        {
            problem = $"'{part}' names no article nor table";
            return null;
        }
        var addresses = Article().Match(rest) is { Success: true } a ? ArticleAddresses(a, out problem)
            : Table().Match(rest) is { Success: true } t ? TableAddresses(t, out problem)
            : null;
        if (addresses is null)
        {
            problem ??= $"'{rest}' is not an address (art. N.comma.letter, or Tabella N, S.item)";
            return null;
        }
        return new LawReference(part, decree, addresses);
    }

    /// <summary>"15/07/2021" from the parts of "DM 15/7/2021".</summary>
    public static string DecreeDate(string day, string month, string year) =>
        $"{int.Parse(day, CultureInfo.InvariantCulture):00}/{int.Parse(month, CultureInfo.InvariantCulture):00}/{year}";

    private static List<LawAddress>? ArticleAddresses(Match m, out string? problem)
    {
        problem = null;
        var article = m.Groups[1].Value;
        var parts = m.Groups[2].Value.Length == 0 ? [] : m.Groups[2].Value.TrimStart('.').Split('.');
        var results = new List<List<string>> { new() { "art" + article } };
        for (var i = 0; i < parts.Length; i++)
        {
            if (Range(parts[i]) is not { } options)
            {
                problem = $"'{parts[i]}' in 'art. {article}{m.Groups[2].Value}' is not a comma, letter or number (nor a range such as b-c)";
                return null;
            }
            if (options.Count > 1 && i < parts.Length - 1)
            {
                problem = $"a range ('{parts[i]}') is only the last part of an article's address";
                return null;
            }
            results = [.. results.SelectMany(r => options.Select(o => (List<string>)[.. r, o]))];
        }
        return [.. results.Select(r => new LawAddress(r, "art. " + article + string.Concat(r.Skip(1).Select(p => "." + p))))];
    }

    private static List<LawAddress>? TableAddresses(Match m, out string? problem)
    {
        problem = null;
        var table = m.Groups[1].Value;
        var results = new List<(List<string> Parts, string Display)> { ([("T" + table)], "Tabella " + table) };
        var tails = m.Groups[2].Value.Trim().TrimStart(',').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (var tail in tails)
        {
            List<(string Part, string Display)> options;
            if (SectionItem().Match(tail) is { Success: true } si)
                options = [(si.Groups[1].Value + (si.Groups[2].Success ? "/" + si.Groups[2].Value : ""), tail)];
            else if (Band().Match(tail) is { Success: true } band)
                options = [(band.Groups[1].Value, tail)];
            else if (Sections().Match(tail) is { Success: true } ss)
                options = [.. new[] { ss.Groups[2].Value, ss.Groups[3].Value }.Select(s => (s, (ss.Groups[1].Success ? "fascia " : "") + s))];
            else if (Group().Match(tail) is { Success: true } g)
                options = [(g.Groups[1].Value + ")", tail.ToLowerInvariant())];
            else if (ListLine().Match(tail) is { Success: true } n)
                options = [("n." + n.Groups[1].Value, "n. " + n.Groups[1].Value)];
            else
            {
                problem = $"'{tail}' in 'Tabella {table}' is not a section (A.1), band (fascia B), group (1) tutte le opere) nor line (n. 9)";
                return null;
            }
            results = [.. results.SelectMany(r => options.Select(o => ((List<string>)[.. r.Parts, .. o.Part.Split('/')], r.Display + ", " + o.Display)))];
        }
        return [.. results.Select(r => new LawAddress(r.Parts, r.Display))];
    }

    /// <summary>"a" gives [a]; "b-c" gives [b, c]; "1-3" gives [1, 2, 3]; null when it is neither.</summary>
    private static List<string>? Range(string part)
    {
        if (RangePart().Match(part) is not { Success: true } r) return null;
        var (from, to) = (r.Groups[1].Value, r.Groups[2].Success ? r.Groups[2].Value : r.Groups[1].Value);
        if (int.TryParse(from, NumberStyles.None, CultureInfo.InvariantCulture, out var a) && int.TryParse(to, NumberStyles.None, CultureInfo.InvariantCulture, out var b))
            return a <= b && b - a < 30 ? [.. Enumerable.Range(a, b - a + 1).Select(i => i.ToString(CultureInfo.InvariantCulture))] : null;
        if (from.Length == 1 && to.Length == 1 && char.IsAsciiLetterLower(from[0]) && char.IsAsciiLetterLower(to[0]) && from[0] <= to[0])
            return [.. Enumerable.Range(from[0], to[0] - from[0] + 1).Select(c => ((char)c).ToString())];
        return null;
    }

    [GeneratedRegex(@"\([^()]*\)")]
    private static partial Regex Note();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"^DM\s+(\d{1,2})/(\d{1,2})/(\d{4})\b\s*,?")]
    private static partial Regex Decree();

    [GeneratedRegex(@"^(?:[Aa]rt\.|[Aa]rticolo)\s*(\d+)((?:\.[0-9a-z]+(?:-[0-9a-z]+)?)*)$")]
    private static partial Regex Article();

    [GeneratedRegex(@"^[Tt]abella\s+(\d+)(?![0-9])(.*)$")]
    private static partial Regex Table();

    [GeneratedRegex(@"^([A-E])(?:\.(\d+))?$")]
    private static partial Regex SectionItem();

    [GeneratedRegex(@"^fascia\s+([A-E])$")]
    private static partial Regex Band();

    [GeneratedRegex(@"^(?:(fascia|fasce)\s+)?([A-E])\s+e\s+([A-E])$")]
    private static partial Regex Sections();

    [GeneratedRegex(@"^(\d+)\)\s*\S.*$")]
    private static partial Regex Group();

    [GeneratedRegex(@"^n\.\s*(\d+)$")]
    private static partial Regex ListLine();

    [GeneratedRegex(@"^([0-9]+|[a-z])(?:-([0-9]+|[a-z]))?$")]
    private static partial Regex RangePart();
}
