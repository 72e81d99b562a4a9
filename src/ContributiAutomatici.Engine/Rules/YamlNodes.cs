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
            errors.Add(new RuleError(path, (int)ex.Start.Line, "YAML syntax error: " + ex.Message));
            return null;
        }
        catch (InvalidOperationException ex)
        {
            errors.Add(new RuleError(path, 1, "YAML syntax error: " + ex.Message));
            return null;
        }
    }

    public SourceLocation At(YamlNode node) => new(Path, (int)node.Start.Line, (int)node.Start.Column);

    public void Error(YamlNode node, string message) => errors.Add(new RuleError(Path, (int)node.Start.Line, message));

    public YamlMap? Map(YamlNode? node, string what)
    {
        if (node is YamlMappingNode m) return new YamlMap(this, m);
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

/// <summary>A YAML mapping being read: every key read is remembered, and <see cref="Done"/> reports the rest as unknown.</summary>
public sealed class YamlMap(YamlFile file, YamlMappingNode node)
{
    private readonly HashSet<string> _read = [];
    public YamlMappingNode Node { get; } = node;
    public SourceLocation Location => file.At(Node);

    public YamlNode? Node_(string key)
    {
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
                file.Error(k, $"unknown field '{s.Value}' in {what}");
    }
}
