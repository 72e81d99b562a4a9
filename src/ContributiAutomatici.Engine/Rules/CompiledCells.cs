using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Engine.Rules;

/// <summary>One role column of one row, as compiled: index into the points/status arrays.</summary>
public sealed record CellInfo(int Index, RowDefinition Row, CellDefinition Cell, int[] BaseCells, string QuotaId,
    SectionDefinition Section, TableDefinition Table)
{
    public Role Role => Cell.Role;
}

/// <summary>Where a rule set's load time went (elapsed since the start of its compilation).</summary>
public sealed class CompileTimings
{
    /// <summary>
    /// Compiled: expressions parsed alone and syntax-checked, source generated. From the cache: the cached assembly
    /// read and verified (no expression is parsed: nothing of Roslyn runs).
    /// </summary>
    public TimeSpan Checked { get; set; }
    /// <summary>Roslyn compiled and emitted (zero when taken from the cache).</summary>
    public TimeSpan Emitted { get; set; }
    /// <summary>Symbols of every expression checked against the sandbox (zero when taken from the cache).</summary>
    public TimeSpan Sandboxed { get; set; }
    /// <summary>Loaded and ready.</summary>
    public TimeSpan Total { get; set; }
}

/// <summary>How a rule set came to be loaded: compiled now, taken from the user's cache, or from the images shipped with the program.</summary>
public enum CompileSource { Compiled, Cache, Shipped }
