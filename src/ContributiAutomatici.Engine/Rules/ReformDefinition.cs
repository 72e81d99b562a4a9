namespace ContributiAutomatici.Engine.Rules;

/// <summary>
/// A what-if reform (issue 28): a proposed change of a rule set that travels with a request, applied on top of the rule
/// set it names (or the one the request selects) as an overlay in force on every date. Every change names what it
/// changes (a figure by path, a row by id, a list entry, a quota, a cap, a policy) and where it was written, so a refusal
/// names the reform's line (YAML) or field (protobuf, through Loading.ReformSource).
/// </summary>
public sealed record ReformDefinition(string Id, string Title, string? Base, IReadOnlyList<ReformChange> Changes, string ContentHash, string File)
{
    /// <summary>
    /// Whether the reform changes only data the law's compiled class reads at run time (figures without a date, list
    /// entries, quotas, caps, policies): then it is scored with the law's compiled image and another figure table, no Roslyn.
    /// </summary>
    public bool FigureOnly => Changes.All(c => c is FigureChange { From: null } or ListChange or QuotaChange or AllocationChange);

    /// <summary>The largest reform taken (characters of its YAML) and the most changes (README: per-request limits).</summary>
    public const int MaxLength = 256 * 1024;

    /// <summary>The most changes one reform makes.</summary>
    public const int MaxChanges = 200;
}

/// <summary>One change of a reform, with where it was written.</summary>
public abstract record ReformChange(SourceLocation Location);

/// <summary>
/// A figure set to a value: <c>T1.A.1.tier_1_eur_per_point</c> (ROW.figure, where the figure is defined; every row that
/// refers to it follows). With <see cref="From"/>: for the results dated from that day only (then compiled: the row
/// reads the figure inside and outside that window).
/// </summary>
public sealed record FigureChange(string Path, decimal Value, DateOnly? From, string Citation, SourceLocation Location) : ReformChange(Location)
{
    /// <summary>The value as written (a EUR figure's is checked against the Italian way of writing thousands when applied).</summary>
    public string Text { get; init; } = "";
}

/// <summary>A row switched off, added (after a row) or its expressions replaced: an overlay's row patch.</summary>
public sealed record RowChange(RowPatch Patch, SourceLocation Location) : ReformChange(Location);

/// <summary>A list entry added (<see cref="Entry"/>) or every entry of an id removed (<see cref="RemoveId"/>).</summary>
public sealed record ListChange(string Kind, ListEntry? Entry, string? RemoveId, SourceLocation Location) : ReformChange(Location);

/// <summary>A quota's (or sub-quota's) share of its parent, in percent.</summary>
public sealed record QuotaChange(string QuotaId, decimal SharePercent, SourceLocation Location) : ReformChange(Location);

/// <summary>What an allocation change sets: a cap's percent or the excess policy.</summary>
public enum AllocationItem { WorkCap, CompanyCap, ExcessPolicy }

/// <summary>An allocation figure or policy: <c>work_cap: 25</c>, <c>company_cap: 40</c>, <c>excess: redistribute</c>.</summary>
public sealed record AllocationChange(AllocationItem Item, decimal Percent, string Policy, SourceLocation Location) : ReformChange(Location);

/// <summary>What a reform applied to a rule set is called in answers: its id and content hash, and its title.</summary>
public sealed record AppliedReform(string Id, string Title, string ContentHash, bool FigureOnly);
