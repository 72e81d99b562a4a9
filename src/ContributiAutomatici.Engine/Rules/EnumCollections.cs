using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace ContributiAutomatici.Engine.Rules;

/// <summary>
/// A small read-only set of enum values (a role's work kinds, the roles of the authors' shares), in the order they were
/// written. Not a HashSet: a HashSet over an enum is a generic instantiation no ReadyToRun image holds, so every start that
/// reads a rule set's allocation section paid for its JIT compilation; this class is compiled ahead of time with the
/// engine. Membership by linear scan: a few values at most.
/// </summary>
public sealed class EnumSet<T> : IReadOnlySet<T> where T : struct, Enum
{
    private readonly T[] _items;

    public EnumSet(IEnumerable<T> items) : this(items as T[] ?? [.. items])
    {
    }

    /// <summary>The values in order, each once. Arrays and indexes only (see the class's remarks).</summary>
    public EnumSet(T[] items) : this(items, items.Length)
    {
    }

    /// <summary>The first <paramref name="count"/> of <paramref name="items"/>, in order, each once.</summary>
    internal EnumSet(T[] items, int count)
    {
        if (Unsafe.SizeOf<T>() != sizeof(int)) throw new NotSupportedException($"{typeof(T)} is not an int enum");
        var kept = new T[count];
        var n = 0;
        for (var i = 0; i < count; i++)
            if (IndexOf(kept, n, items[i]) < 0) kept[n++] = items[i];
        _items = new T[n];
        for (var i = 0; i < n; i++) _items[i] = kept[i];
    }

    public int Count => _items.Length;

    public bool Contains(T item) => IndexOf(_items, _items.Length, item) >= 0;

    /// <summary>Where <paramref name="item"/> is among the first <paramref name="count"/> of <paramref name="items"/>, or -1.</summary>
    internal static int IndexOf(T[] items, int count, T item)
    {
        var value = Unsafe.As<T, int>(ref item);
        for (var i = 0; i < count; i++)
            if (Unsafe.As<T, int>(ref items[i]) == value) return i;
        return -1;
    }

    public IEnumerator<T> GetEnumerator()
    {
        foreach (var item in _items) yield return item;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool IsSubsetOf(IEnumerable<T> other) => IsSubsetOf(new EnumSet<T>(other));

    private bool IsSubsetOf(EnumSet<T> set)
    {
        foreach (var item in _items)
            if (!set.Contains(item)) return false;
        return true;
    }

    public bool IsSupersetOf(IEnumerable<T> other)
    {
        foreach (var item in other)
            if (!Contains(item)) return false;
        return true;
    }

    public bool IsProperSubsetOf(IEnumerable<T> other)
    {
        var set = new EnumSet<T>(other);
        return IsSubsetOf(set) && set.Count > Count;
    }

    public bool IsProperSupersetOf(IEnumerable<T> other)
    {
        var set = new EnumSet<T>(other);
        return set.IsSubsetOf(this) && set.Count < Count;
    }

    public bool Overlaps(IEnumerable<T> other)
    {
        foreach (var item in other)
            if (Contains(item)) return true;
        return false;
    }

    public bool SetEquals(IEnumerable<T> other)
    {
        var set = new EnumSet<T>(other);
        return set.Count == Count && IsSubsetOf(set);
    }

    public override string ToString() => string.Join(", ", _items);
}

/// <summary>
/// A small read-only map keyed by an enum (who may claim in each role), in the order written; compiled ahead of time with
/// the engine, unlike a Dictionary over an enum key (see <see cref="EnumSet{T}"/>).
/// </summary>
public sealed class EnumMap<TKey, TValue> : IReadOnlyDictionary<TKey, TValue> where TKey : struct, Enum
{

    private readonly TKey[] _keys;
    private readonly TValue[] _values;

    /// <summary>The keys and their values, in order (a key at most once).</summary>
    public EnumMap(TKey[] keys, TValue[] values)
    {
        if (keys.Length != values.Length) throw new ArgumentException("as many values as keys", nameof(values));
        var distinct = new EnumSet<TKey>(keys);
        if (distinct.Count != keys.Length) throw new ArgumentException("a key given twice", nameof(keys));
        _keys = keys;
        _values = values;
    }

    private static int IndexOf(TKey[] keys, TKey key) => EnumSet<TKey>.IndexOf(keys, keys.Length, key);

    public int Count => _keys.Length;

    public IEnumerable<TKey> Keys => Each(_keys);

    public IEnumerable<TValue> Values => Each(_values);

    // The arrays are never handed out: a caller cannot cast them back and write into them.
    private static IEnumerable<TItem> Each<TItem>(TItem[] items)
    {
        foreach (var item in items) yield return item;
    }

    public TValue this[TKey key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"no entry for {key}");

    public bool ContainsKey(TKey key) => IndexOf(_keys, key) >= 0;

    public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        var at = IndexOf(_keys, key);
        value = at >= 0 ? _values[at] : default;
        return at >= 0;
    }

    public IEnumerator<KeyValuePair<TKey, TValue>> GetEnumerator()
    {
        for (var i = 0; i < _keys.Length; i++) yield return new(_keys[i], _values[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
