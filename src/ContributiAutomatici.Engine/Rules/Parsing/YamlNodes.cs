using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ContributiAutomatici.Engine.Rules;

/// <summary>
/// Reads YAML nodes into definitions while keeping every line number, and collects errors
/// (a missing field, an unknown field, a value of the wrong shape) instead of stopping at the first.
/// </summary>
public sealed class YamlFile(string path, List<RuleError> errors)
{
    public string Path { get; } = path;

    /// <summary>Errors reported so far (by any file sharing the list).</summary>
    public int ErrorCount => errors.Count;

    /// <summary>Largest rule file (the largest of DM 2021 is 30 KB).</summary>
    public const int MaxFileLength = 2 * 1024 * 1024;

    /// <summary>Deepest nesting of YAML flow collections ([ ] and { }): the YAML reader recurses on it.</summary>
    public const int MaxFlowNesting = 64;

    public static YamlNode? Load(string path, string text, List<RuleError> errors)
    {
        if (text.Length > MaxFileLength)
        {
            errors.Add(new RuleError(path, 1, $"a rule file is at most {MaxFileLength / 1024 / 1024} MiB"));
            return null;
        }
        int depth = 0, line = 1;
        foreach (var c in text)
        {
            if (c == '\n') line++;
            else if (c is '[' or '{' && ++depth > MaxFlowNesting)
            {
                errors.Add(new RuleError(path, line, $"YAML nested more than {MaxFlowNesting} levels deep"));
                return null;
            }
            else if (c is ']' or '}') depth = Math.Max(0, depth - 1);
        }
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count == 0)
            {
                errors.Add(new RuleError(path, 1, "empty file"));
                return null;
            }
            return stream.Documents[0].RootNode;
        }
        catch (YamlException ex)
        {
            errors.Add(new RuleError(path, (int)ex.Start.Line, "YAML syntax error: " + ex.Message, (int)ex.Start.Column));
            return null;
        }
        catch (InvalidOperationException ex)
        {
            errors.Add(new RuleError(path, 1, "YAML syntax error: " + ex.Message));
            return null;
        }
    }

    public SourceLocation At(YamlNode node) => new(Path, (int)node.Start.Line, (int)node.Start.Column);

    public void Error(YamlNode node, string message) => errors.Add(new RuleError(Path, (int)node.Start.Line, message, (int)node.Start.Column));

    /// <summary>A mapping of the kind <paramref name="keys"/> names: only its keys are read, every other key is refused.</summary>
    public YamlMap? Map(YamlNode? node, string what, YamlKeys keys)
    {
        if (node is YamlMappingNode m) return new YamlMap(this, m, keys);
        if (node is not null) Error(node, $"{what} must be a mapping (key: value lines)");
        return null;
    }

    /// <summary>A mapping whose keys are names the caller checks (figures, role columns, policies).</summary>
    public YamlMappingNode? Mapping(YamlNode? node, string what)
    {
        if (node is YamlMappingNode m) return m;
        if (node is not null) Error(node, $"{what} must be a mapping (key: value lines)");
        return null;
    }

    public IEnumerable<YamlNode> Seq(YamlNode? node, string what)
    {
        if (node is YamlSequenceNode s) return s.Children;
        if (node is not null) Error(node, $"{what} must be a list (lines starting with '- ')");
        return [];
    }
}

/// <summary>
/// The keys one kind of YAML mapping may have (a row, a quota, a golden case, ...): the single list the parser reads
/// and refuses the other keys by, and the one the JSON Schema under rules/schema/ must declare (SchemaTests).
/// </summary>
public sealed class YamlKeys(string kind, IEnumerable<string> keys)
{
    /// <summary>The kind, as the schema's definition names it (<c>row</c>, <c>quota</c>, ...).</summary>
    public string Kind { get; } = kind;

    public IReadOnlyList<string> Keys { get; } = keys.ToList();

    public bool Contains(string key) => Keys.Contains(key, StringComparer.Ordinal);

    public override string ToString() => Kind;

    /// <summary>"; did you mean 'points'?" for the known word nearest to <paramref name="word"/>, or "" when none is near.</summary>
    public static string Suggestion(string word, IEnumerable<string> known)
    {
        var best = known.Select(k => (Key: k, Distance: Distance(word.ToLowerInvariant(), k.ToLowerInvariant())))
            .Where(x => x.Distance <= Math.Max(1, word.Length / 3))
            .OrderBy(x => x.Distance).Select(x => x.Key).FirstOrDefault();
        return best is null ? "" : $"; did you mean '{best}'?";
    }

    /// <summary>Edit distance: insertions, deletions, substitutions and swaps of two neighbours ('pionts' is 1 from 'points').</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}

/// <summary>
/// A YAML mapping being read: only the keys of its kind are read, every key read is remembered, and <see cref="Done"/>
/// refuses the rest: a key of another kind as unknown (with the nearest known one), a known key this mapping does
/// not use (an overlay's 'window' in a version's manifest) as not applying.
/// </summary>
public sealed class YamlMap(YamlFile file, YamlMappingNode node, YamlKeys keys)
{
    private readonly HashSet<string> _read = [];
    public YamlMappingNode Node { get; } = node;
    public YamlKeys Keys { get; } = keys;
    public SourceLocation Location => file.At(Node);

    public YamlNode? Node_(string key)
    {
        if (!Keys.Contains(key)) throw new InvalidOperationException($"the parser reads '{key}', which is not a key of {Keys.Kind}");
        _read.Add(key);
        foreach (var (k, v) in Node.Children)
            if (k is YamlScalarNode s && s.Value == key) return v;
        return null;
    }

    public string? Str(string key, bool required = false)
    {
        var v = Node_(key);
        switch (v)
        {
            case null:
                if (required) file.Error(Node, $"missing required field '{key}'");
                return null;
            case YamlScalarNode s when s.Value is not null && (s.Style != YamlDotNet.Core.ScalarStyle.Plain || s.Value != "null" && s.Value != "~"):
                return s.Value;
            case YamlScalarNode:
                if (required) file.Error(v, $"field '{key}' must have a value");
                return null;
            default:
                file.Error(v, $"field '{key}' must be a single value");
                return null;
        }
    }

    public RuleExpression? Expr(string key, bool required = false)
    {
        var v = Node_(key);
        if (v is null)
        {
            if (required) file.Error(Node, $"missing required field '{key}'");
            return null;
        }
        return ExprOf(v, key);
    }

    public RuleExpression? ExprOf(YamlNode v, string what)
    {
        if (v is YamlScalarNode s && !string.IsNullOrWhiteSpace(s.Value))
        {
            // Block scalars (| and >) start on the line after the indicator.
            var offset = s.Style is ScalarStyle.Literal or ScalarStyle.Folded ? 1 : 0;
            return new RuleExpression(s.Value!, file.At(v), offset, FileLines: s.Style == ScalarStyle.Literal || !s.Value!.Contains('\n'));
        }
        file.Error(v, $"'{what}' must be a C# expression");
        return null;
    }

    public decimal? Dec(string key, bool required = false)
    {
        var s = Str(key, required);
        if (s is null) return null;
        if (decimal.TryParse(s, NumberStyles.Number, CultureInfo.InvariantCulture, out var d)) return d;
        file.Error(Node_(key)!, $"field '{key}' must be a number, got '{s}'");
        return null;
    }

    public int? Int(string key, bool required = false)
    {
        var s = Str(key, required);
        if (s is null) return null;
        if (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var d)) return d;
        file.Error(Node_(key)!, $"field '{key}' must be a whole number, got '{s}'");
        return null;
    }

    public bool Bool(string key)
    {
        var s = Str(key);
        if (s is null) return false;
        if (s is "true" or "yes") return true;
        if (s is "false" or "no") return false;
        file.Error(Node_(key)!, $"field '{key}' must be true or false, got '{s}'");
        return false;
    }

    public DateOnly? Date(string key, bool required = false)
    {
        var s = Str(key, required);
        if (s is null) return null;
        if (DateOnly.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)) return d;
        file.Error(Node_(key)!, $"field '{key}' must be a date yyyy-mm-dd, got '{s}'");
        return null;
    }

    public IReadOnlyList<string> StrList(string key)
    {
        var v = Node_(key);
        return v switch
        {
            null => [],
            YamlScalarNode s => (s.Value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            YamlSequenceNode seq => seq.Children.OfType<YamlScalarNode>().Select(x => x.Value ?? "").ToList(),
            _ => Fail(v),
        };

        IReadOnlyList<string> Fail(YamlNode n)
        {
            file.Error(n, $"field '{key}' must be a list of names");
            return [];
        }
    }

    /// <summary>Reports every key that was never read: a typo is an error, never silently ignored.</summary>
    public void Done(string what)
    {
        foreach (var k in Node.Children.Keys)
            if (k is YamlScalarNode s && !_read.Contains(s.Value ?? ""))
                file.Error(k, Keys.Contains(s.Value ?? "")
                    ? $"field '{s.Value}' does not apply in {what}"
                    : $"unknown field '{s.Value}' in {what}{YamlKeys.Suggestion(s.Value ?? "", Keys.Keys)}");
    }
}
