using ContributiAutomatici.Engine.Allocation;
using M = ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Protocol;

/// <summary>
/// The engine's model of one scoring request kept to be made again: the work, its entries and their lists, the roles with
/// facts of their own, the lists of errors and exclusions, the mapping's context and the mapped request itself, in instances
/// that <see cref="RequestMapper.Map(Contracts.V1.ScoreWorkRequest, Engine.Loading.RuleCatalog, RequestScratch?)"/> refills
/// request after request. Once it has seen a request as large, mapping one allocates nothing (issue 27 item 1: 0 bytes per
/// request after the request's own message).
/// <para>
/// One scratch serves one request at a time, and what a mapping into it gives (the <see cref="ScoringRequest"/>, its work,
/// its roles) stays valid until the next request is mapped into it: its owner scores the request and writes the answer out
/// first. The server's pooled totals answers and its scoring streams each own one. Nothing is kept beyond a few requests'
/// worth: after a large request, the instances and list capacities past <see cref="KeptItems"/> are left to the collector.
/// </para>
/// </summary>
public sealed class RequestScratch
{
    /// <summary>How many instances of each kind, and how large a list, a scratch keeps from one request to the next.</summary>
    public const int KeptItems = 64;

    internal readonly Reused<M.DatedAmount> Amounts = new(static () => new M.DatedAmount(default, 0m));
    internal readonly Reused<M.MediaSale> MediaSales = new(static () => new M.MediaSale(default, 0m));
    internal readonly Reused<M.ForeignSale> ForeignSales = new(static () => new M.ForeignSale(default, 0m, ""));
    internal readonly Reused<M.FestivalEntry> Festivals = new(static () => new M.FestivalEntry("", default));
    internal readonly Reused<M.PrizeEntry> Prizes = new(static () => new M.PrizeEntry("", default, default));
    internal readonly Reused<M.MarketEntry> Markets = new(static () => new M.MarketEntry(""));
    internal readonly Reused<M.CoProducer> CoProducers = new(static () => new M.CoProducer("", ""));
    internal readonly Reused<M.RoleInput> RoleInputs = new(static () => new M.RoleInput(default));

    internal readonly ReusedLists<M.DatedAmount> AmountLists = new();
    internal readonly ReusedLists<M.MediaSale> MediaSaleLists = new();
    internal readonly ReusedLists<M.ForeignSale> ForeignSaleLists = new();
    internal readonly ReusedLists<M.FestivalEntry> FestivalLists = new();
    internal readonly ReusedLists<M.PrizeEntry> PrizeLists = new();
    internal readonly ReusedLists<M.MarketEntry> MarketLists = new();
    internal readonly ReusedLists<M.CoProducer> CoProducerLists = new();
    internal readonly ReusedLists<M.ProcessingPhase> PhaseLists = new();
    internal readonly ReusedLists<string> CountryLists = new();
    internal readonly ReusedLists<M.RoleInput> RoleLists = new();
    internal readonly HashSet<string> CoProducerIds = new(StringComparer.Ordinal);

    internal readonly List<FieldError> Errors = [];
    internal readonly List<Exclusion> Excluded = [];
    internal readonly M.Work Work = new();
    internal readonly MapContext Context;
    internal readonly ScoringRequest Request;

    public RequestScratch()
    {
        Context = new MapContext(null!, Errors) { Scratch = this };
        Request = new ScoringRequest(null!, Work, [], Engine.Scoring.ScoreOptions.TotalsOnly, Excluded);
    }

    /// <summary>Every instance free again for the next request (what the last one made larger than kept is let go).</summary>
    internal void Reset()
    {
        Amounts.Reset();
        MediaSales.Reset();
        ForeignSales.Reset();
        Festivals.Reset();
        Prizes.Reset();
        Markets.Reset();
        CoProducers.Reset();
        RoleInputs.Reset();
        AmountLists.Reset();
        MediaSaleLists.Reset();
        ForeignSaleLists.Reset();
        FestivalLists.Reset();
        PrizeLists.Reset();
        MarketLists.Reset();
        CoProducerLists.Reset();
        PhaseLists.Reset();
        CountryLists.Reset();
        RoleLists.Reset();
        if (CoProducerIds.Count > KeptItems) CoProducerIds.TrimExcess();
        CoProducerIds.Clear();
        Trim(Errors);
        Trim(Excluded);
    }

    private static void Trim<T>(List<T> list)
    {
        list.Clear();
        if (list.Capacity > KeptItems) list.Capacity = KeptItems;
    }

    /// <summary>Instances of one kind handed out in turn, request after request.</summary>
    internal sealed class Reused<T>(Func<T> make) where T : class
    {
        private readonly List<T> _items = [];
        private int _used;

        public T Next()
        {
            if (_used == _items.Count) _items.Add(make());
            return _items[_used++];
        }

        /// <summary>How many it holds (for tests).</summary>
        public int Made => _items.Count;

        public void Reset()
        {
            _used = 0;
            if (_items.Count <= KeptItems) return;
            _items.RemoveRange(KeptItems, _items.Count - KeptItems);
            _items.Capacity = KeptItems;
        }
    }

    /// <summary>Lists of one kind handed out empty in turn, request after request.</summary>
    internal sealed class ReusedLists<T>
    {
        private readonly List<List<T>> _lists = [];
        private int _used;

        public List<T> Next()
        {
            if (_used == _lists.Count) _lists.Add([]);
            var list = _lists[_used++];
            list.Clear();
            return list;
        }

        /// <summary>The capacity of the largest list it holds (for tests).</summary>
        public int LargestCapacity => _lists.Count == 0 ? 0 : _lists.Max(l => l.Capacity);

        public void Reset()
        {
            for (var i = 0; i < _used; i++)
                if (_lists[i].Capacity > KeptItems) _lists[i] = [];
            _used = 0;
            if (_lists.Count > KeptItems) _lists.RemoveRange(KeptItems, _lists.Count - KeptItems);
        }
    }
}
