using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Engine.Rules;

/// <summary>A place in a rule file: what every error and every compiled expression points back to.</summary>
public sealed record SourceLocation(string File, int Line, int Column = 1)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>A rule expression (C#) as written in a rule file, with where it was written.</summary>
public sealed record RuleExpression(string Text, SourceLocation Location, int LineOffset = 0, bool FileLines = true)
{
    /// <summary>
    /// The file line of line <paramref name="inner"/> (0-based) of the expression. Only a literal block scalar (|)
    /// keeps the file's lines; any other multi-line value (a "\n" escape, folded lines) reports its first line.
    /// </summary>
    public int LineOf(int inner) => Location.Line + LineOffset + (FileLines ? inner : 0);
}

public sealed record QuotaDefinition(
    string Id, string Title, decimal SharePercent, string? ParentId, bool Reserved, string Citation, SourceLocation Location);

public sealed record ListEntry(
    string Id, string Name, string? Band, string Category, decimal IncrementPercent, string Citation, SourceLocation Location);

/// <summary>One of the decree's lists (Tabelle 6, 7, 8): festivals, prizes, markets.</summary>
public sealed record ListDefinition(
    string Kind, string Title, string Citation, string File, IReadOnlyList<ListEntry> Entries);

/// <summary>A role column of a row: its own condition and points expression.</summary>
public sealed record CellDefinition(Role Role, RuleExpression? When, RuleExpression Points, SourceLocation Location);

public sealed record RowDefinition(
    string Id, string Label, string Citation, string TableId, string SectionId, string QuotaId,
    RuleExpression? When, IReadOnlyList<string> BasePatterns, Role? BaseRole, bool WholePoints,
    IReadOnlyList<CellDefinition> Cells, SourceLocation Location);

public sealed record SectionDefinition(
    string Id, string Title, RuleExpression? When, IReadOnlyList<RowDefinition> Rows, SourceLocation Location);

public sealed record TableDefinition(
    string Id, string Title, string Citation, RuleExpression? Applies, IReadOnlyList<SectionDefinition> Sections,
    string File)
{
    public IEnumerable<RowDefinition> Rows => Sections.SelectMany(s => s.Rows);
}

/// <summary>A decree version or an overlay: a folder under rules/ with a ruleset.yaml manifest.</summary>
public sealed record RuleSetDefinition(
    string Id, string Title, string Decree, string Kind, string? Patches,
    DateOnly InForceFrom, DateOnly? InForceTo, int ApplicationYearFrom, int? ApplicationYearTo,
    IReadOnlyList<QuotaDefinition> Quotas, IReadOnlyList<TableDefinition> Tables, IReadOnlyList<ListDefinition> Lists,
    IReadOnlyDictionary<string, string> Policies, string Directory, string ContentHash, DateOnly? AdmissibleResultsFrom = null);

/// <summary>One problem in a rule file, as <c>file:line: reason</c>.</summary>
public sealed record RuleError(string File, int Line, string Message)
{
    public override string ToString() => $"{File}:{Line}: {Message}";
}

/// <summary>A rule set (or the whole rules folder) was refused. Nothing of it is loaded.</summary>
public sealed class RuleLoadException(IReadOnlyList<RuleError> errors)
    : Exception(string.Join(Environment.NewLine, errors.Select(e => e.ToString())))
{
    public IReadOnlyList<RuleError> Errors { get; } = errors;
}

/// <summary>Maps the role keys of rule files to roles.</summary>
public static class RoleNames
{
    public static readonly IReadOnlyDictionary<string, Role> ByKey = new Dictionary<string, Role>
    {
        ["producer"] = Role.Producer,
        ["theatrical_distributor"] = Role.TheatricalDistributor,
        ["international_distributor"] = Role.InternationalDistributor,
        ["home_entertainment_publisher"] = Role.HomeEntertainmentPublisher,
    };

    public static string Key(Role role) => ByKey.First(kv => kv.Value == role).Key;
}
