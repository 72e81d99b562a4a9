using System.Globalization;
using System.Runtime.CompilerServices;
using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Engine.Scoring;

/// <summary>A work's list entries looked up once per scoring, and the memos each call site of a list helper keeps.</summary>
public abstract partial class RuleScope
{
    // ---------------------------------------------------------------- a work's list entries, resolved once

    private readonly CallSites<FestivalSite> _festivalSites = new();
    private readonly CallSites<PrizeSite> _prizeSites = new();
    private readonly CallSites<MarketSite> _marketSites = new();
    private readonly ListResolution _resolution = new();

    /// <summary>The work's festival, prize and market entries looked up in the lists once per scoring (not per row).</summary>
    private ListResolution Resolved()
    {
        if (!ReferenceEquals(_resolution.For, Work)) _resolution.Resolve(Work, _lists);
        return _resolution;
    }

    /// <summary>
    /// A helper's list arguments are constant strings of the rule (the sandbox refuses anything else): what they select is
    /// built once by the catalog and kept here by the strings' references. Each call also names the expression it is made
    /// from (<see cref="CurrentExpression"/>, set by the generated code): the site that expression found last is checked
    /// first (two reference compares), and only an expression calling one helper with two sets of lists looks further.
    /// </summary>
    private sealed class CallSites<T> where T : class
    {
        private string[] _a = new string[8];
        private string[] _b = new string[8];
        private T[] _v = new T[8];
        private int _n;
        private int[] _byExpression = new int[64]; // per expression: 1 + the site it found last (0: none yet)

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public T? Get(int expression, string a, string b)
        {
            if ((uint)expression < (uint)_byExpression.Length && _byExpression[expression] - 1 is var k and >= 0 &&
                ReferenceEquals(_a[k], a) && ReferenceEquals(_b[k], b)) return _v[k];
            return Find(expression, a, b);
        }

        private T? Find(int expression, string a, string b)
        {
            for (var i = 0; i < _n; i++)
                if (ReferenceEquals(_a[i], a) && ReferenceEquals(_b[i], b))
                {
                    Remember(expression, i);
                    return _v[i];
                }
            return null;
        }

        private void Remember(int expression, int site)
        {
            if (expression < 0) return;
            if (expression >= _byExpression.Length) Array.Resize(ref _byExpression, Math.Max(expression + 1, _byExpression.Length * 2));
            _byExpression[expression] = site + 1;
        }

        public T Add(int expression, string a, string b, T v)
        {
            if (_n == _a.Length)
            {
                Array.Resize(ref _a, _n * 2);
                Array.Resize(ref _b, _n * 2);
                Array.Resize(ref _v, _n * 2);
            }
            (_a[_n], _b[_n], _v[_n]) = (a, b, v);
            Remember(expression, _n);
            _n++;
            return v;
        }

        public void Clear()
        {
            _n = 0;
            Array.Clear(_byExpression);
        }
    }

    /// <summary>
    /// One work's entries against the lists: each entry's index in its list (-1: not listed), the first entry of each
    /// festival or prize (a festival or prize counts once per row), and, on that first entry, the bits of what any of
    /// its entries matches (<see cref="FestivalMatch"/>, <see cref="PrizeMatch"/>), also under a claimant's contract.
    /// The buffers grow to the longest work seen and are reused: no allocation per work.
    /// </summary>
    private sealed class ListResolution
    {
        public Work? For;
        public int[] FestivalIndex = [], FestivalHead = [], FestivalMasks = [], PrizeIndex = [], PrizeHead = [], PrizeMasks = [], MarketIndex = [];
        private int[] _festivalContract = [], _prizeContract = [];
        private RoleInput? _festivalContractFor, _prizeContractFor;
        private int[] _stamp = [], _first = [];
        private int _generation;

        /// <summary>Which resolution this is (one more at each): what per-work sums built on it are valid for.</summary>
        public int Generation;

        public void Resolve(Work work, ListCatalog lists)
        {
            For = work;
            Generation++;
            _festivalContractFor = _prizeContractFor = null;
            // Each kind through its own struct accessor (the JIT specializes the loops, no delegate per entry), its entries read
            // as a span (no interface call per entry).
            // Each list's type checked here, on its own type (in the generic Entries, shared by the kinds, it costs a lookup).
            // The exact type compared (one compare of the method tables, inlined), not `as` (a call of the runtime's cast helper):
            // a list of another type, a List's subclass included, is copied instead, and reads the same.
            var (festivals, prizes, marketEntries) = (work.Festivals, work.Prizes, work.Markets);
            ResolveKind<FestivalEntry, FestivalKind>(Entries(festivals, festivals.GetType() == typeof(List<FestivalEntry>)
                ? Unsafe.As<List<FestivalEntry>>(festivals) : null, ref _festivalScratch), lists.Festivals, ref FestivalIndex, ref FestivalHead, ref FestivalMasks);
            ResolveKind<PrizeEntry, PrizeKind>(Entries(prizes, prizes.GetType() == typeof(List<PrizeEntry>)
                ? Unsafe.As<List<PrizeEntry>>(prizes) : null, ref _prizeScratch), lists.Prizes, ref PrizeIndex, ref PrizeHead, ref PrizeMasks);
            var ms = Entries(marketEntries, marketEntries.GetType() == typeof(List<MarketEntry>) ? Unsafe.As<List<MarketEntry>>(marketEntries) : null, ref _marketScratch);
            Grow(ref MarketIndex, ms.Length);
            var markets = lists.Markets;
            for (var i = 0; i < ms.Length; i++) MarketIndex[i] = markets.IndexOf(ms[i].MarketId, ms[i].ListPosition);
        }

        private FestivalEntry[] _festivalScratch = [];
        private PrizeEntry[] _prizeScratch = [];
        private MarketEntry[] _marketScratch = [];

        /// <summary>A work's entries as a span: a list's own (<paramref name="list"/>, the same list when it is a List), else copied into a reused buffer.</summary>
        private static ReadOnlySpan<T> Entries<T>(IReadOnlyList<T> items, List<T>? list, ref T[] scratch)
        {
            if (list is not null) return System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list);
            if (items.Count == 0) return default;
            if (scratch.Length < items.Count) scratch = new T[Math.Max(items.Count, scratch.Length * 2)];
            for (var i = 0; i < items.Count; i++) scratch[i] = items[i];
            return scratch.AsSpan(0, items.Count);
        }

        private interface IKind<T>
        {
            static abstract string Id(T entry);
            static abstract int Position(T entry);
            static abstract int Bits(T entry);
        }

        private struct FestivalKind : IKind<FestivalEntry>
        {
            public static string Id(FestivalEntry entry) => entry.FestivalId;
            public static int Position(FestivalEntry entry) => entry.ListPosition;
            public static int Bits(FestivalEntry entry) => ListResolution.Bits(entry);
        }

        private struct PrizeKind : IKind<PrizeEntry>
        {
            public static string Id(PrizeEntry entry) => entry.PrizeId;
            public static int Position(PrizeEntry entry) => entry.ListPosition;
            public static int Bits(PrizeEntry entry) => ListResolution.Bits(entry);
        }

        /// <summary>One kind's entries: their list indexes, first entries and masks.</summary>
        private void ResolveKind<T, TKind>(ReadOnlySpan<T> entries, ListCatalog.DenseList list, ref int[] index, ref int[] head, ref int[] masks)
            where TKind : struct, IKind<T>
        {
            var count = entries.Length;
            Grow(ref index, count);
            Grow(ref head, count);
            Grow(ref masks, count);
            // A mapped entry's position is read (checked against the list), any other's id looked up.
            for (var i = 0; i < count; i++) index[i] = list.IndexOf(TKind.Id(entries[i]), TKind.Position(entries[i]));
            Heads(count, list.Count, index, head, masks);
            for (var i = 0; i < count; i++)
                if (head[i] >= 0) masks[head[i]] |= TKind.Bits(entries[i]);
        }

        /// <summary>The festival masks counting only the entries selected after the claimant's contract.</summary>
        public int[] FestivalMasksUnderContract(RuleScope scope) =>
            UnderContract(scope, For!.Festivals, FestivalHead, ref _festivalContract, ref _festivalContractFor, static e => e.SelectionDate, Bits);

        public int[] PrizeMasksUnderContract(RuleScope scope) =>
            UnderContract(scope, For!.Prizes, PrizeHead, ref _prizeContract, ref _prizeContractFor, static e => e.SelectionDate, Bits);

        /// <summary>The masks on the first entries, of the entries selected after the claimant's contract; once per claimant.</summary>
        private static int[] UnderContract<T>(RuleScope scope, IReadOnlyList<T> entries, int[] head, ref int[] masks, ref RoleInput? of,
            Func<T, DateOnly?> selection, Func<T, int> bits)
        {
            if (ReferenceEquals(of, scope.Claimant)) return masks;
            of = scope.Claimant;
            Grow(ref masks, entries.Count);
            for (var i = 0; i < entries.Count; i++) masks[i] = 0;
            for (var i = 0; i < entries.Count; i++)
                if (head[i] >= 0 && scope.ContractBefore(selection(entries[i]))) masks[head[i]] |= bits(entries[i]);
            return masks;
        }

        /// <summary>For each entry, the position of the first entry with the same list index (-1: not listed), and its mask cleared. Linear.</summary>
        private void Heads(int count, int listCount, int[] index, int[] head, int[] masks)
        {
            if (_stamp.Length < listCount)
            {
                _stamp = new int[listCount];
                _first = new int[listCount];
            }
            // _stamp[f] == _generation: festival (or prize) f was met in this pass, first at _first[f].
            if (++_generation == int.MaxValue)
            {
                Array.Clear(_stamp);
                _generation = 1;
            }
            for (var i = 0; i < count; i++)
            {
                var f = index[i];
                masks[i] = 0;
                if (f < 0) { head[i] = -1; continue; }
                if (_stamp[f] != _generation) { _stamp[f] = _generation; _first[f] = i; }
                head[i] = _first[f];
            }
        }

        private static void Grow(ref int[] buffer, int count)
        {
            if (buffer.Length < count) buffer = new int[Math.Max(count, buffer.Length * 2)];
        }

        internal static int Bits(FestivalEntry e)
        {
            var bits = 1 << (int)FestivalMatch.Participation;
            var competition = e.Section == FestivalSection.Competition;
            var outOfCompetition = e.Section == FestivalSection.OfficialOutOfCompetition;
            if (competition) bits |= 1 << (int)FestivalMatch.Competition;
            if (outOfCompetition) bits |= 1 << (int)FestivalMatch.OutOfCompetition;
            if (e.AnyPrize)
            {
                bits |= 1 << (int)FestivalMatch.AnyPrize;
                if (competition) bits |= 1 << (int)FestivalMatch.CompetitionPrize;
                if (outOfCompetition) bits |= 1 << (int)FestivalMatch.OutOfCompetitionPrize;
            }
            if (e.BestFilmPrize) bits |= 1 << (int)FestivalMatch.BestFilmPrize;
            if (e.OtherPrizes > 0) bits |= 1 << (int)FestivalMatch.OtherPrize;
            return bits;
        }

        internal static int Bits(PrizeEntry e)
        {
            var bits = 1 << (int)PrizeMatch.Any;
            var win = e.Outcome == PrizeOutcome.Win;
            if (e.Category == PrizeCategory.BestFilm)
            {
                bits |= 1 << (int)PrizeMatch.BestFilmNomination;
                if (win) bits |= 1 << (int)PrizeMatch.BestFilmWin;
            }
            else if (e.Category == PrizeCategory.Artistic)
            {
                bits |= 1 << (int)PrizeMatch.ArtisticNomination;
                if (win) bits |= 1 << (int)PrizeMatch.ArtisticWin;
            }
            return bits;
        }
    }
}
