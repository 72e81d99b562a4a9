using System.Collections.Concurrent;
using System.Collections.Frozen;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Engine.Scoring;

/// <summary>The Tabelle 6-8 lists of a rule set, indexed for the helpers and for request validation.</summary>
public sealed class ListCatalog
{
    private readonly Dictionary<string, ListDefinition> _byKind;
    private readonly Dictionary<string, Dictionary<string, ListEntry[]>> _entries;

    public ListCatalog(IEnumerable<ListDefinition> lists)
    {
        // Loops rather than LINQ's ToDictionary over key/value pairs: this runs on every start (see below).
        _byKind = [];
        _entries = [];
        foreach (var list in lists)
        {
            _byKind.Add(list.Kind, list); // a kind twice is refused by the parser
            var byId = new Dictionary<string, List<ListEntry>>(StringComparer.Ordinal);
            foreach (var e in list.Entries)
                if (byId.TryGetValue(e.Id, out var same)) same.Add(e);
                else byId.Add(e.Id, [e]);
            var entries = new Dictionary<string, ListEntry[]>(byId.Count, StringComparer.Ordinal);
            foreach (var (id, same) in byId) entries.Add(id, [.. same]);
            _entries.Add(list.Kind, entries);
        }
    }

    // What only scoring needs (the dense numberings, the matchers and their memos) is built at the first score, not at
    // load: a warm start, and validate, which scores nothing, do not pay for it (their generic instantiations over value
    // types are compiled by the JIT at first use: about 15 ms of a warm load).
    private DenseList? _festivals, _prizes, _markets;
    private Memos? _memos;

    /// <summary>The festival ids numbered 0..n-1, so a work's entries are looked up once and the rows read arrays.</summary>
    internal DenseList Festivals => _festivals ?? Init(ref _festivals, "festivals");

    internal DenseList Prizes => _prizes ?? Init(ref _prizes, "prizes");

    internal DenseList Markets => _markets ?? Init(ref _markets, "markets");

    // Two threads may both build one: the same numbering, and the first one stored is the one every caller gets.
    private DenseList Init(ref DenseList? field, string kind) =>
        Interlocked.CompareExchange(ref field, new DenseList(_byKind.GetValueOrDefault(kind)), null) ?? field!;

    private Memos M => _memos ?? Interlocked.CompareExchange(ref _memos, new Memos(), null) ?? _memos!;

    /// <summary>The catalog's memos of what rules ask of its lists, keyed by their constant arguments.</summary>
    private sealed class Memos
    {
        public readonly ConcurrentDictionary<string, HashSet<string>> Split = new(StringComparer.Ordinal);
        public readonly ConcurrentDictionary<(string, string), decimal[]> FestivalMultipliers = new(ReferencePair.Comparer);
        public readonly ConcurrentDictionary<(string, string, string), bool[]> IdSets = new();
        // Matchers built once per (bands, lists) argument pair of a rule. The arguments are constant strings
        // (the sandbox refuses anything else), so they are keyed by reference: no string hashing per call.
        public readonly ConcurrentDictionary<(string, string), FrozenDictionary<string, decimal>> FestivalMatchers = new(ReferencePair.Comparer);
        public readonly ConcurrentDictionary<string, ConcurrentDictionary<(string, string), FrozenSet<string>>> IdMatchers = new();
    }

    /// <summary>
    /// <see cref="FestivalMatcher"/> as an array over <see cref="Festivals"/>' numbering: what a festival in the named lists of
    /// the named bands multiplies a row's points by (1 + its increment %), 0 for the festivals not in them.
    /// </summary>
    internal decimal[] FestivalMultipliers(string bands, string lists)
    {
        if (M.FestivalMultipliers.TryGetValue((bands, lists), out var known)) return known;
        var matcher = FestivalMatcher(bands, lists);
        var multipliers = new decimal[Festivals.Count];
        for (var i = 0; i < multipliers.Length; i++) multipliers[i] = matcher.TryGetValue(Festivals.Ids[i], out var inc) ? 1m + inc / 100m : 0m;
        return M.FestivalMultipliers.GetOrAdd((bands, lists), multipliers);
    }

    /// <summary><see cref="IdMatcher"/> as an array over the kind's numbering (prizes or markets).</summary>
    internal bool[] IdSet(string kind, string ids, string categories)
    {
        if (M.IdSets.TryGetValue((kind, ids, categories), out var known)) return known;
        var matcher = IdMatcher(kind, ids, categories);
        var dense = kind == "prizes" ? Prizes : Markets;
        var set = new bool[dense.Count];
        for (var i = 0; i < set.Length; i++) set[i] = matcher.Contains(dense.Ids[i]);
        return M.IdSets.GetOrAdd((kind, ids, categories), set);
    }

    public IReadOnlyCollection<ListDefinition> Lists => _byKind.Values;

    public bool HasList(string kind) => _byKind.ContainsKey(kind);

    /// <summary>The named group of a list's ids (<c>premi_miglior_film</c>), or null.</summary>
    public ListGroup? Group(string kind, string name) =>
        _byKind.TryGetValue(kind, out var l) ? l.Groups.FirstOrDefault(g => g.Name == name) : null;

    /// <summary>The group names of a list kind.</summary>
    public IEnumerable<string> GroupNames(string kind) => _byKind.TryGetValue(kind, out var l) ? l.Groups.Select(g => g.Name) : [];

    /// <summary>The entries with that id in the list of that kind (a festival may sit in several lists).</summary>
    public ListEntry[] Entries(string kind, string id) =>
        _entries.TryGetValue(kind, out var d) && d.TryGetValue(id, out var e) ? e : [];

    public bool Contains(string kind, string id) => Entries(kind, id).Length > 0;

    // A request's entries as the mapper makes them: each id looked up once (FestivalPosition: -1 when not in the list, what
    // Contains says), and the entry made with the list's own id string and its position in the list
    // (FestivalEntry.ListPosition), which scoring then reads instead of looking the id up again.

    /// <summary>Where <paramref name="id"/> sits in the Tabella 6 festivals, -1 when it is not one.</summary>
    public int FestivalPosition(string id) => Festivals.IndexOf(id);

    /// <summary>Where <paramref name="id"/> sits in the Tabella 7 prizes, -1 when it is not one.</summary>
    public int PrizePosition(string id) => Prizes.IndexOf(id);

    /// <summary>Where <paramref name="id"/> sits in the Tabella 8 markets and labs, -1 when it is not one.</summary>
    public int MarketPosition(string id) => Markets.IndexOf(id);

    /// <summary>The festival entry of the festival at <paramref name="position"/> (<see cref="FestivalPosition"/>).</summary>
    public Model.FestivalEntry Festival(int position, Model.FestivalSection section, DateOnly? selectionDate, bool bestFilmPrize, int otherPrizes) =>
        new(Festivals.Ids[position], section, selectionDate, bestFilmPrize, otherPrizes) { ListPosition = position };

    /// <summary>The prize entry of the prize at <paramref name="position"/> (<see cref="PrizePosition"/>).</summary>
    public Model.PrizeEntry Prize(int position, Model.PrizeCategory category, Model.PrizeOutcome outcome, DateOnly? selectionDate) =>
        new(Prizes.Ids[position], category, outcome, selectionDate) { ListPosition = position };

    /// <summary>The market entry of the market at <paramref name="position"/> (<see cref="MarketPosition"/>).</summary>
    public Model.MarketEntry Market(int position, DateOnly? selectionDate) => new(Markets.Ids[position], selectionDate) { ListPosition = position };

    // The same entries made in an instance a request's mapper reuses (Model.Work.Refill: only by the mapper that owns it), or
    // made anew when it has none (into null).

    internal Model.FestivalEntry Festival(Model.FestivalEntry? into, int position, Model.FestivalSection section, DateOnly? selectionDate, bool bestFilmPrize,
        int otherPrizes) =>
        into?.Refill(Festivals.Ids[position], position, section, selectionDate, bestFilmPrize, otherPrizes) ??
        Festival(position, section, selectionDate, bestFilmPrize, otherPrizes);

    internal Model.PrizeEntry Prize(Model.PrizeEntry? into, int position, Model.PrizeCategory category, Model.PrizeOutcome outcome, DateOnly? selectionDate) =>
        into?.Refill(Prizes.Ids[position], position, category, outcome, selectionDate) ?? Prize(position, category, outcome, selectionDate);

    internal Model.MarketEntry Market(Model.MarketEntry? into, int position, DateOnly? selectionDate) =>
        into?.Refill(Markets.Ids[position], position, selectionDate) ?? Market(position, selectionDate);

    public IEnumerable<string> Categories(string kind) =>
        _byKind.TryGetValue(kind, out var l) ? l.Entries.Select(e => e.Category).Distinct() : [];

    public IEnumerable<string> Bands(string kind) =>
        _byKind.TryGetValue(kind, out var l) ? l.Entries.Select(e => e.Band ?? "").Distinct() : [];

    /// <summary>A comma-separated set written in a rule ("a, b" or "*"), split once and cached.</summary>
    internal HashSet<string> Set(string csv) =>
        M.Split.GetOrAdd(csv, s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal));

    /// <summary>Festival id -> its increment (%), for the festivals in the named lists of the named bands.</summary>
    internal FrozenDictionary<string, decimal> FestivalMatcher(string bands, string lists) =>
        M.FestivalMatchers.TryGetValue((bands, lists), out var known) ? known : M.FestivalMatchers.GetOrAdd((bands, lists), k =>
        {
            var b = Set(k.Item1);
            var l = Set(k.Item2);
            return (_byKind.TryGetValue("festivals", out var list) ? list.Entries : [])
                .Where(e => (b.Contains("*") || b.Contains(e.Band ?? "")) && (l.Contains("*") || l.Contains(e.Category)))
                .GroupBy(e => e.Id)
                .ToFrozenDictionary(g => g.Key, g => g.Max(e => e.IncrementPercent), StringComparer.Ordinal);
        });

    /// <summary>
    /// For a festival some of whose entries hold only for some works (printed in two bands, counting in one per work): its
    /// entries in the named lists of the named bands, in the list's order, found once per call site of a rule; a work's
    /// scoring keeps those whose work facts hold for it (its increment there: the largest of theirs).
    /// </summary>
    internal ListEntry[] FestivalEntriesIn(string bands, string lists, string id)
    {
        var b = Set(bands);
        var l = Set(lists);
        return [.. Entries("festivals", id).Where(e => (b.Contains("*") || b.Contains(e.Band ?? "")) && (l.Contains("*") || l.Contains(e.Category)))];
    }

    /// <summary>Whether some entry with that id holds only for some works.</summary>
    internal bool Conditional(string kind, string id) => Entries(kind, id).Any(e => e.ForWorks is not null || e.NotForWorks is not null);

    /// <summary>The ids of a list kind named by a rule (ids "*" or "a, b") that sit in the named categories.</summary>
    internal FrozenSet<string> IdMatcher(string kind, string ids, string categories) =>
        M.IdMatchers.GetOrAdd(kind, _ => new(ReferencePair.Comparer)) is var byKind && byKind.TryGetValue((ids, categories), out var known)
            ? known
            : byKind.GetOrAdd((ids, categories), _ =>
        {
            // A group's name stands for its ids.
            var i = Set(ids).SelectMany(x => Group(kind, x)?.Ids ?? [x]).ToHashSet(StringComparer.Ordinal);
            var c = Set(categories);
            return (_byKind.TryGetValue(kind, out var list) ? list.Entries : [])
                .Where(e => (i.Contains("*") || i.Contains(e.Id)) && (c.Contains("*") || c.Contains(e.Category)))
                .Select(e => e.Id).ToFrozenSet(StringComparer.Ordinal);
        });

    /// <summary>The ids of one list kind numbered in order of first appearance, with each one's entries.</summary>
    internal sealed class DenseList
    {
        public DenseList(ListDefinition? list)
        {
            var groups = (list?.Entries ?? []).GroupBy(e => e.Id, StringComparer.Ordinal).ToArray();
            Ids = groups.Select(g => g.Key).ToArray();
            Index = groups.Select((g, i) => KeyValuePair.Create(g.Key, i)).ToFrozenDictionary(StringComparer.Ordinal);
            Conditional = groups.Select(g => g.Any(e => e.ForWorks is not null || e.NotForWorks is not null)).ToArray();
            Bands = groups.Select(g => string.Join("/", g.Select(e => e.Band).Distinct())).ToArray();
        }

        /// <summary>Per id: the bands its entries are printed in ("B/C"), as explanations name them.</summary>
        public string[] Bands { get; }

        public string[] Ids { get; }

        public FrozenDictionary<string, int> Index { get; }

        /// <summary>Per id: some entry holds only for some works (the band is decided per work).</summary>
        public bool[] Conditional { get; }

        public int Count => Ids.Length;

        public int IndexOf(string id) => Index.TryGetValue(id, out var i) ? i : -1;

        /// <summary>
        /// An entry's position: the one it was mapped with when this list holds that very id string there (the mapper's, see
        /// <see cref="Model.FestivalEntry.ListPosition"/>), else looked up.
        /// </summary>
        public int IndexOf(string id, int mapped) => (uint)mapped < (uint)Ids.Length && ReferenceEquals(Ids[mapped], id) ? mapped : IndexOf(id);
    }

    private sealed class ReferencePair : IEqualityComparer<(string, string)>
    {
        public static readonly ReferencePair Comparer = new();
        public bool Equals((string, string) x, (string, string) y) => ReferenceEquals(x.Item1, y.Item1) && ReferenceEquals(x.Item2, y.Item2) ||
                                                                      x.Item1 == y.Item1 && x.Item2 == y.Item2;
        public int GetHashCode((string, string) obj) => obj.Item1.Length * 31 + obj.Item2.Length;
    }
}
