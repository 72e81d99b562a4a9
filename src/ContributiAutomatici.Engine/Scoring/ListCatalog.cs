using System.Collections.Concurrent;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Engine.Scoring;

/// <summary>The Tabelle 6-8 lists of a rule set, indexed for the helpers and for request validation.</summary>
public sealed class ListCatalog
{
    private readonly Dictionary<string, ListDefinition> _byKind;
    private readonly Dictionary<string, Dictionary<string, ListEntry[]>> _entries;
    private readonly ConcurrentDictionary<string, HashSet<string>> _split = new(StringComparer.Ordinal);

    public ListCatalog(IEnumerable<ListDefinition> lists)
    {
        _byKind = lists.ToDictionary(l => l.Kind);
        _entries = _byKind.ToDictionary(kv => kv.Key,
            kv => kv.Value.Entries.GroupBy(e => e.Id).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal));
    }

    public IReadOnlyCollection<ListDefinition> Lists => _byKind.Values;

    public bool HasList(string kind) => _byKind.ContainsKey(kind);

    /// <summary>The entries with that id in the list of that kind (a festival may sit in several lists).</summary>
    public ListEntry[] Entries(string kind, string id) =>
        _entries.TryGetValue(kind, out var d) && d.TryGetValue(id, out var e) ? e : [];

    public bool Contains(string kind, string id) => Entries(kind, id).Length > 0;

    public IEnumerable<string> Categories(string kind) =>
        _byKind.TryGetValue(kind, out var l) ? l.Entries.Select(e => e.Category).Distinct() : [];

    public IEnumerable<string> Bands(string kind) =>
        _byKind.TryGetValue(kind, out var l) ? l.Entries.Select(e => e.Band ?? "").Distinct() : [];

    /// <summary>A comma-separated set written in a rule ("a, b" or "*"), split once and cached.</summary>
    internal HashSet<string> Set(string csv) =>
        _split.GetOrAdd(csv, s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal));
}

/// <summary>
/// Marks a helper parameter whose constant argument names entries of a list; the loader checks every
/// name exists, so a typo in a rule is refused at load time with its file and line.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class ListReferenceAttribute(string kind, ListField field) : Attribute
{
    public string Kind { get; } = kind;
    public ListField Field { get; } = field;
}

public enum ListField { Id, Band, Category }
