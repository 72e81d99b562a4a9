using System.Globalization;

namespace ContributiAutomatici.Protocol;

/// <summary>
/// Where a field sits in a request (proto field names: <c>work.box_office[2].amount</c>), kept as its parts and written out
/// only when an error names it: mapping a request that is right builds no path, per field or per entry. A root (a name,
/// optionally indexed: <c>roles[1]</c>, or a path the caller already holds: <c>items[3].work</c>), then at most two
/// named, optionally indexed, steps (<c>.foreign_sales[0].countries[2]</c>), then the leaf an error names.
/// </summary>
public readonly struct FieldPath
{
    private readonly string _root;
    private readonly int _rootIndex;
    private readonly string? _name1;
    private readonly int _index1;
    private readonly string? _name2;
    private readonly int _index2;

    /// <param name="root">The path of the message the fields belong to ("work", "roles", "items[3].claim.role").</param>
    /// <param name="index">The root's index in its list (<c>roles[1]</c>); -1: none.</param>
    public FieldPath(string root, int index = -1)
        : this(root, index, null, -1, null, -1)
    {
    }

    private FieldPath(string root, int rootIndex, string? name1, int index1, string? name2, int index2)
    {
        _root = root;
        _rootIndex = rootIndex;
        _name1 = name1;
        _index1 = index1;
        _name2 = name2;
        _index2 = index2;
    }

    /// <summary>The field <paramref name="name"/> of this message, item <paramref name="index"/> of it when it is a list (-1: not).</summary>
    public FieldPath Field(string name, int index = -1) =>
        _name1 is null ? new(_root, _rootIndex, name, index, null, -1)
        : _name2 is null ? new(_root, _rootIndex, _name1, _index1, name, index)
        : throw new InvalidOperationException($"a field path of more than two steps below {_root}");

    /// <summary>The path as an error names it, with <paramref name="leaf"/> (a field of this message) after a point when given.</summary>
    public string Text(string? leaf = null)
    {
        var text = Step(_root, _rootIndex);
        if (_name1 is not null) text = Join(text, Step(_name1, _index1));
        if (_name2 is not null) text = Join(text, Step(_name2, _index2));
        return leaf is null ? text : Join(text, leaf);
    }

    public override string ToString() => Text();

    private static string Step(string name, int index) =>
        index < 0 ? name : string.Concat(name, "[", index.ToString(CultureInfo.InvariantCulture), "]");

    private static string Join(string path, string name) => string.Concat(path, ".", name);
}
