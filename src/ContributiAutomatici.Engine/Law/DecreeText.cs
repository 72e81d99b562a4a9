using System.Text.RegularExpressions;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Engine.Law;

/// <summary>
/// One paragraph of a decree's text: a heading and the lines under it up to the next heading. <see cref="Address"/> is
/// the heading read as a citation ("### Art. 7.1" is art. 7.1), null for a heading that is none ("## Premesse").
/// </summary>
public sealed record LawParagraph(string Heading, LawAddress? Address, int Level, string File, int Line, IReadOnlyList<string> Lines)
{
    /// <summary>The file line of <see cref="Lines"/>' first line.</summary>
    public int BodyLine { get; init; }

    /// <summary>Its place in the text's paragraphs (document order).</summary>
    public int Index { get; init; }
}

/// <summary>A reference of a cite resolved: the address and its paragraph (null when the text has none).</summary>
public sealed record ResolvedAddress(LawReference Reference, LawAddress Address, LawParagraph? Paragraph, string? Problem);

/// <summary>
/// A decree's text as it lies beside its rule set (<c>decreto.md</c>): Markdown whose H1 names the decree
/// (<c># DM 15/07/2021 – title</c>) and whose every other heading is one paragraph's address, written as a cite writes it
/// (<c>## Art. 7 – Opere cinematografiche</c>, <c>### Art. 7.1</c>, <c>#### Tabella 1, A.1</c>). A list's numbered lines
/// ("1.  Mostra ... - Venezia (IT)") are addressed through their heading's address and <c>n. N</c>.
/// </summary>
public sealed partial class DecreeText
{
    /// <summary>The file name of a rule set's decree text.</summary>
    public const string FileName = "decreto.md";

    private readonly Dictionary<string, LawParagraph> _byKey;

    private DecreeText(string file, string decree, string title, IReadOnlyList<LawParagraph> paragraphs)
    {
        File = file;
        Decree = decree;
        Title = title;
        Paragraphs = paragraphs;
        _byKey = paragraphs.Where(p => p.Address is not null).GroupBy(p => p.Address!.Key).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
    }

    /// <summary>The path of the text file.</summary>
    public string File { get; }

    /// <summary>The decree's date as cites write it ("15/07/2021").</summary>
    public string Decree { get; }

    /// <summary>The H1's title, after the date.</summary>
    public string Title { get; }

    public IReadOnlyList<LawParagraph> Paragraphs { get; }

    /// <summary>The text beside the rule set in <paramref name="directory"/>, or null when it has none; problems of the file go to <paramref name="errors"/>.</summary>
    public static DecreeText? Load(string directory, List<RuleError> errors)
    {
        var path = Path.Combine(directory, FileName);
        if (!System.IO.File.Exists(path)) return null;
        if (new FileInfo(path).Length > YamlFile.MaxFileLength)
        {
            errors.Add(new RuleError(path, 1, $"a decree text is at most {YamlFile.MaxFileLength / 1024 / 1024} MiB"));
            return null;
        }
        return Parse(path, System.IO.File.ReadAllText(path), errors);
    }

    /// <summary>Reads a decree text (see the class); a missing H1, or an address given twice, is an error at its line.</summary>
    public static DecreeText? Parse(string file, string text, List<RuleError> errors)
    {
        var before = errors.Count;
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        string? decree = null, title = null;
        var paragraphs = new List<LawParagraph>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        (string Heading, int Level, int Line)? open = null;
        var body = new List<string>();
        var bodyLine = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd();
            if (Heading().Match(line) is not { Success: true } h)
            {
                if (open is null || (line.Length == 0 && body.Count == 0)) continue;
                if (body.Count == 0) bodyLine = i + 1;
                body.Add(line);
                continue;
            }
            Close();
            var level = h.Groups[1].Length;
            var heading = h.Groups[2].Value.Trim();
            if (level == 1)
            {
                if (decree is not null) errors.Add(new RuleError(file, i + 1, "a decree text has one title (# DM dd/mm/yyyy – title)"));
                else if (TitleLine().Match(heading) is { Success: true } t)
                {
                    decree = Citation.DecreeDate(t.Groups[1].Value, t.Groups[2].Value, t.Groups[3].Value);
                    title = t.Groups[4].Value.Trim();
                }
                else errors.Add(new RuleError(file, i + 1, $"the title names the decree as cites do: '# DM dd/mm/yyyy – title', got '# {heading}'"));
                continue;
            }
            open = (heading, level, i + 1);
        }
        Close();
        if (decree is null && errors.Count == before) errors.Add(new RuleError(file, 1, "a decree text starts with its title: '# DM dd/mm/yyyy – title'"));
        return errors.Count > before ? null : new DecreeText(file, decree!, title!, paragraphs);

        void Close()
        {
            if (open is not { } o) return;
            while (body.Count > 0 && body[^1].Length == 0) body.RemoveAt(body.Count - 1);
            var address = Citation.ParseAddress(o.Heading);
            if (address is not null && seen.TryGetValue(address.Key, out var first))
                errors.Add(new RuleError(file, o.Line, $"'{address}' is a heading twice (first at line {first})"));
            else if (address is not null) seen[address.Key] = o.Line;
            paragraphs.Add(new LawParagraph(o.Heading, address, o.Level, file, o.Line, [.. body]) { Index = paragraphs.Count, BodyLine = bodyLine });
            body.Clear();
            open = null;
        }
    }

    /// <summary>The paragraph at <paramref name="address"/>, or null; a list's line (n. 9) is the line of its heading's paragraph.</summary>
    public LawParagraph? Find(LawAddress address)
    {
        if (_byKey.TryGetValue(address.Key, out var found)) return found;
        if (!address.IsListLine || address.ParentKey is not { } parentKey || !_byKey.TryGetValue(parentKey, out var list)) return null;
        var number = address.Parts[^1]["n.".Length..] + ".";
        for (var i = 0; i < list.Lines.Count; i++)
            if (list.Lines[i].StartsWith(number, StringComparison.Ordinal) && list.Lines[i].Length > number.Length && char.IsWhiteSpace(list.Lines[i][number.Length]))
                return new LawParagraph(list.Heading + ", n. " + address.Parts[^1][2..], address, list.Level + 1, File, list.BodyLine + i, [list.Lines[i]])
                    { Index = list.Index, BodyLine = list.BodyLine + i };
        return null;
    }

    /// <summary>Each address of <paramref name="cite"/> with its paragraph, or with why it has none (not an address, another decree, no such paragraph).</summary>
    public IReadOnlyList<ResolvedAddress> Resolve(string cite, out List<string> problems)
    {
        problems = [];
        var resolved = new List<ResolvedAddress>();
        foreach (var reference in Citation.Parse(cite, problems))
        {
            if (reference.Decree is { } other && other != Decree)
            {
                var problem = $"'{reference.Text}' names DM {other}, and the text beside this rule set is DM {Decree} ({Path.GetFileName(File)})";
                problems.Add(problem);
                resolved.AddRange(reference.Addresses.Select(a => new ResolvedAddress(reference, a, null, problem)));
                continue;
            }
            var found = reference.Addresses.Select(a => (Address: a, Paragraph: Find(a))).ToList();
            var missing = found.Where(f => f.Paragraph is null).Select(f => f.Address).ToList();
            var why = missing.Count == 0 ? null
                : $"{(missing.Count == 1 ? missing[0] + " is no paragraph" : string.Join(", ", missing.Take(8)) + (missing.Count > 8 ? ", …" : "") + " are no paragraphs")} " +
                  $"of DM {Decree} ({Path.GetFileName(File)}){Nearest(missing[0])}";
            if (why is not null) problems.Add(why);
            resolved.AddRange(found.Select(f => new ResolvedAddress(reference, f.Address, f.Paragraph, f.Paragraph is null ? why : null)));
        }
        return resolved;
    }

    /// <summary>For an address not found: its nearest paragraph above and that paragraph's own parts ("; art. 7 has art. 7.1, ...").</summary>
    private string Nearest(LawAddress address)
    {
        for (var n = address.Parts.Count - 1; n >= 1; n--)
        {
            var key = string.Join("/", address.Parts.Take(n));
            if (!_byKey.TryGetValue(key, out var above)) continue;
            var children = _byKey.Values.Where(p => p.Address!.ParentKey == key).OrderBy(p => p.Index).Select(p => p.Address!.Display).ToList();
            return children.Count == 0 ? $"; {above.Address} has no parts"
                : $"; {above.Address} has {string.Join(", ", children.Take(20))}{(children.Count > 20 ? ", …" : "")}";
        }
        return "";
    }

    /// <summary>The paragraph and those under it (the following paragraphs of a deeper level), in document order.</summary>
    public IEnumerable<LawParagraph> WithParts(LawParagraph paragraph)
    {
        yield return paragraph;
        if (paragraph.Lines.Count == 1 && paragraph.Address?.IsListLine == true) yield break;
        for (var i = paragraph.Index + 1; i < Paragraphs.Count && Paragraphs[i].Level > paragraph.Level; i++) yield return Paragraphs[i];
    }

    /// <summary>The words of a paragraph and of its parts (each part's heading, then its lines), one line each as the text has them.</summary>
    public IEnumerable<string> Words(LawParagraph paragraph) =>
        WithParts(paragraph).SelectMany(p => p == paragraph ? p.Lines : [p.Heading, .. p.Lines]).Where(l => l.Length > 0);

    [GeneratedRegex(@"^(#{1,6})\s+(.+)$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"^DM\s+(\d{1,2})/(\d{1,2})/(\d{4})\s*[–-]\s*(.*)$")]
    private static partial Regex TitleLine();
}
