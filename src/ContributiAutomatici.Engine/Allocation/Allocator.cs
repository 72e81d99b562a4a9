using System.Globalization;
using System.Runtime.CompilerServices;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using Part = ContributiAutomatici.Engine.Allocation.ClaimOutcome;

namespace ContributiAutomatici.Engine.Allocation;

/// <summary>
/// The yearly allocation (arts. 3-6, 12.5, 14.3, as the reading guide settles them): admission of companies, works
/// and claims; scoring by the rule set (or the caller's points); per paying (sub-)quota the point value, the short-film
/// limit, the per-work and per-company caps under the excess policy; rounding to the cent with the one-cent
/// give-back; credits with their expiry; authors' shares. Every quota, share, cap and citation comes from the rule
/// set's manifest. Deterministic: the items are put in id order first, so every sum runs in the same order whatever
/// the order of the input.
/// </summary>
public static class Allocator
{
    private static readonly StringComparer Ord = StringComparer.Ordinal;

    public static AllocationOutcome Run(AllocationInput input) => Run(input, Environment.ProcessorCount);

    /// <param name="workers">
    /// The threads the year's independent pieces run on (the claims' scorings, their parts, each paying quota's money, the works'
    /// statements), the calling thread among them; 1: the calling thread alone. The outcome is the same, byte for byte.
    /// </param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static AllocationOutcome Run(AllocationInput input, int workers)
    {
        var rs = input.RuleSet;
        var def = rs.Definition;
        var a = def.Allocation ?? throw new AllocationNotSupportedException(
            $"rule set {def.Id} has no 'allocation' block in its manifest: it can score, not allocate");
        var excess = input.ExcessOverride ?? a.DefaultExcess;

        var companies = SortedById(input.Companies, static c => c.Id);
        var works = SortedById(input.Works, static w => w.Work.Id);
        var companyIndex = new Dictionary<string, int>(companies.Count, Ord);
        for (var i = 0; i < companies.Count; i++) companyIndex.Add(companies[i].Id, i); // a company given twice throws, as ever
        // Result admission keeps the works' ids and order: their positions are known before it.
        var workIndex = new Dictionary<string, int>(works.Count, Ord);
        for (var i = 0; i < works.Count; i++) workIndex.Add(works[i].Work.Id, i); // a work given twice throws, as ever
        var (claims, at, spare) = SortedClaims(input.Claims, companyIndex, workIndex);

        var exclusions = new List<Exclusion>();
        // Art. 5.2-5.6, 5.10: each work's and claim's dated results that do not count in this year, kept out with their article.
        ResultAdmission.Admit(def, input.ApplicationYear, works, claims, i => at[i].Work, exclusions);
        // Art. 2.f-h: each work's category on its recognition date, from the rule set's lists (or a golden case's test lists).
        var classifier = input.Coproductions ?? rs.Coproductions;
        var categories = new CoproductionStatus[works.Count]; // by the work's index
        for (var i = 0; i < works.Count; i++) categories[i] = classifier.Classify(works[i].Work);
        var (admitted, shared) = Admit(claims, at, spare, companies, companyIndex, works, workIndex, categories, input.ApplicationYear, a, exclusions);

        // ---- points per paying quota
        var quotas = def.Quotas;
        var resources = new Dictionary<string, decimal>(Ord);
        foreach (var q in quotas)
            resources[q.Id] = (q.ParentId is null ? input.Budget : resources[q.ParentId]) * q.SharePercent / 100m;
        var pays = quotas.Where(q => !q.Reserved && quotas.All(s => s.ParentId != q.Id)).Select(q => q.Id).ToHashSet(Ord);
        // By the quota's position in the manifest: whether it pays.
        var paysAt = new bool[quotas.Count];
        for (var i = 0; i < quotas.Count; i++) paysAt[i] = pays.Contains(quotas[i].Id);
        // The caps a claim's line names: one list per combination, shared by every line (a year has some 100,000).
        string workCapName = $"work cap ({a.WorkCap.Citation})", companyCapName = $"company cap ({a.CompanyCap.Citation})";
        IReadOnlyList<string>[] capsOf = [[], [workCapName], [companyCapName], [workCapName, companyCapName]];
        var sharedAt = new QuotaParts[quotas.Count];
        for (var i = 0; i < quotas.Count; i++) sharedAt[i] = new QuotaParts(quotas[i].Id, i, capsOf);
        var scoring = new Scoring(rs, quotas, works, claims, at, admitted, shared);
        var flags = new Dictionary<int, (SortedSet<string> Provisional, SortedSet<string> Missing)>(); // by the work's index
        var upTo = scoring.ScoreOnce(workers);
        // Every part in the claims' order: each block of claims scored and its parts made in a list of its own (side by side),
        // counted per quota; then each quota's list made to its size, its parts in that order.
        var made = new List<Part>?[(upTo + ClaimBlock - 1) / ClaimBlock];
        InParallel(made.Length, workers, scoring.NewScorer, (b, scorer) =>
        {
            // The block's parts' points first (in the worker's buffer), then its parts, in a list of their number.
            var points = scorer.Parts;
            points.Clear();
            for (var i = b * ClaimBlock; i < Math.Min(upTo, (b + 1) * ClaimBlock); i++)
            {
                if (!admitted[i]) continue;
                var share = claims[i].SharePercent;
                foreach (var (quota, scored) in scoring.PointsOf(i, scorer))
                {
                    var p = scored * share / 100m;
                    if (p == 0m || quota < 0 || !paysAt[quota]) continue;
                    points.Add((i, quota, p));
                }
            }
            if (points.Count == 0) return;
            var mine = made[b] = new List<Part>(points.Count);
            foreach (var (i, quota, p) in points)
            {
                var (c, company, w) = (claims[i], at[i].Company, at[i].Work);
                mine.Add(new Part(c, sharedAt[quota], w, company, works[w].Work.ShortFilm, p));
            }
        });
        scoring.ThrowIfFailed();
        scoring.Flags(flags);
        var counts = new int[quotas.Count];
        foreach (var block in made)
            foreach (var p in block ?? [])
                counts[p.Of.Position]++;
        var partsAt = new List<Part>[quotas.Count];
        var parts = new Dictionary<string, List<Part>>(quotas.Count, Ord);
        for (var q = 0; q < quotas.Count; q++) parts.Add(quotas[q].Id, partsAt[q] = new List<Part>(counts[q]));
        foreach (var block in made)
            foreach (var p in block ?? [])
                partsAt[p.Of.Position].Add(p);

        // ---- money per paying quota: each quota's on its own (side by side, each worker with its scratch arrays), then the
        // outcomes and each company's credits in the quotas' order.
        var outcomeAt = new QuotaOutcome[quotas.Count];
        var creditsAt = new List<(string CompanyId, CreditOutcome Credit)>[quotas.Count];
        var expires = new DateOnly(input.CreditingYear + (int)a.CreditExpiryYears.Value, 12, 31);
        var maxParts = MaxCount(partsAt);
        InParallel(quotas.Count, maxParts < QuotasSideBySideFrom ? 1 : workers, () => new Scratch(works.Count, companies.Count, maxParts), (position, scratch) =>
        {
            var q = quotas[position];
            var r = resources[q.Id];
            creditsAt[position] = [];
            if (!pays.Contains(q.Id))
            {
                // A reserved quota (video games) or a quota paid through its sub-quotas: reported, never spread.
                outcomeAt[position] = new QuotaOutcome(q, r, false, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, null);
                return;
            }
            var pool = new Pool(parts[q.Id], r, r * a.WorkCap.Value / 100m, r * a.CompanyCap.Value / 100m, q.ShortFilmsLimitPercent, excess,
                scratch);
            pool.Solve();
            var rounding = Round(pool, r);
            for (var k = 0; k < rounding.Ids.Length; k++)
            {
                var (companyId, group, exact, amount, giveBack) =
                    (rounding.Ids[k], rounding.Groups[k], rounding.Exact[k], rounding.Amounts[k], rounding.GiveBack[k]);
                // The company's parts in the pool's order (the sums' order); its lines the same parts by work and role (each
                // (work, role) once in a quota: a claim made twice is kept out).
                var mine = pool.Companies[group];
                var lines = new Part[mine.Count];
                var n = 0;
                var points = 0m;
                List<string>? caps = null;
                var companyCapped = false;
                foreach (var p in mine)
                {
                    lines[n++] = p;
                    points += p.Points;
                    companyCapped |= p.CompanyCapped;
                    if (p.WorkCapped && $"work cap ({a.WorkCap.Citation}): {p.WorkId}" is var cap && !(caps ??= []).Contains(cap)) caps.Add(cap);
                }
                if (companyCapped) (caps ??= []).Add(companyCapName);
                if (!InOrder(lines, ByWorkAndRole)) Array.Sort(lines, ByWorkAndRole); // the claims' order is already by work and role
                var quantized = 0m;
                foreach (var l in lines) quantized += Account.Quantize(l.Exact);
                creditsAt[position].Add((companyId, new CreditOutcome(q.Id, points, exact, amount, caps ?? [], giveBack, input.CreditingYear, expires)
                {
                    Lines = lines, Rounding = amount - quantized,
                }));
            }
            var pools = pool.Money.Select(m => Account.OfPool(m, excess == ExcessPolicy.Redistribute)).ToList();
            outcomeAt[position] = new QuotaOutcome(q, r, true, pool.TotalPoints, pool.PointValue, rounding.Allocated, pool.Allocated,
                pool.CutByWorkCap, pool.CutByCompanyCap, r - pool.Allocated, pool.Allocated - rounding.Allocated,
                pool.WorkCap, pool.CompanyCap, pool.ShortFilms)
            {
                Account = Account.OfQuota(pools, rounding.Allocated),
                Pools = pools.Count < 2 ? [] :
                [
                    new PoolAccount("short_films", pool.Money[0].Points, pool.ShortFilms!.PointValue, pools[0]),
                    new PoolAccount("other_works", pool.Money[1].Points, pool.ShortFilms!.OtherPointValue, pools[1]),
                ],
            };
        });
        var outcomes = new List<QuotaOutcome>(outcomeAt);
        var credits = new Dictionary<string, List<CreditOutcome>>(Ord);
        foreach (var list in creditsAt)
            foreach (var (companyId, credit) in list)
                (credits.TryGetValue(companyId, out var mine) ? mine : credits[companyId] = []).Add(credit);

        // ---- statements
        var companyOutcomes = new List<CompanyOutcome>(companies.Count);
        foreach (var c in companies)
        {
            var list = credits.GetValueOrDefault(c.Id) ?? [];
            var total = 0m;
            foreach (var x in list) total += x.Amount;
            companyOutcomes.Add(new CompanyOutcome(c.Id, c.Name, total, list));
        }
        // Each work's parts, in the quotas' order and each quota's in its list's order (the order its sums add them), then sorted
        // by company, role and quota (the position breaks ties): one array of every part, a segment per work.
        var start = new int[works.Count + 1];
        foreach (var list in parts.Values)
            foreach (var p in list) start[p.Work + 1]++;
        for (var i = 0; i < works.Count; i++) start[i + 1] += start[i];
        var byWork = new Part[start[works.Count]];
        var next = start[..^1];
        foreach (var list in parts.Values)
            foreach (var p in list)
            {
                p.Order = next[p.Work] - start[p.Work];
                byWork[next[p.Work]++] = p;
            }
        var workOutcomes = new WorkOutcome[works.Count];
        InParallel((works.Count + ClaimBlock - 1) / ClaimBlock, workers, static () => 0, (b, _) =>
        {
            for (var i = b * ClaimBlock; i < Math.Min(works.Count, (b + 1) * ClaimBlock); i++) workOutcomes[i] = WorkStatement(i);
        });
        WorkOutcome WorkStatement(int i)
        {
            var yw = works[i];
            var (from, count) = (start[i], start[i + 1] - start[i]);
            decimal amount = 0m, producers = 0m;
            for (var k = from; k < from + count; k++)
            {
                var p = byWork[k];
                amount += p.Exact;
                if (a.AuthorsShares is { } roles && roles.Roles.Contains(p.Role)) producers += p.Exact;
            }
            if (count > 1) byWork.AsSpan(from, count).Sort(ByClaim); // a Comparison: no delegate made per sort, as an IComparer's
            IReadOnlyList<AuthorShareOutcome> shares = [];
            if (a.AuthorsShares is { } au && producers > 0)
            {
                var share = Math.Round(producers * au.Percent / 100m, 2, MidpointRounding.AwayFromZero);
                shares = new AuthorShares(au, share);
            }
            var f = flags.GetValueOrDefault(i);
            return new WorkOutcome(yw.Work.Id, yw.Work.Title, yw.Given is null, Math.Round(amount, 2, MidpointRounding.AwayFromZero),
                new ArraySegment<Part>(byWork, from, count), shares)
            {
                ProvisionalRows = f.Provisional?.ToArray() ?? [], MissingRows = f.Missing?.ToArray() ?? [],
                // A national work's statement carries no category (a year's statements stay as small as they were).
                Coproduction = categories[i] is { Category: not CoproductionCategory.National } status ? status : null,
            };
        }

        var paying = outcomes.Where(o => o.Pays).ToList();
        var policies = new List<string>
        {
            $"excess: {excess.ToString().ToLowerInvariant()} ({(input.ExcessOverride is null ? "rule set" : "request")})",
            $"work cap: {Dec(a.WorkCap.Value)}% of the sub-quota ({a.WorkCap.Citation})",
            $"company cap: {Dec(a.CompanyCap.Value)}% of the sub-quota ({a.CompanyCap.Citation})",
        };
        policies.AddRange(quotas.Where(q => q.ShortFilmsLimitPercent is not null)
            .Select(q => $"short films: at most {Dec(q.ShortFilmsLimitPercent!.Value)}% of {q.Id} ({q.Citation})"));
        policies.Add($"credits expire on 31 December of the {a.CreditExpiryYears.Value}th year after crediting ({a.CreditExpiryYears.Citation})");
        policies.Add("rounding: per company per sub-quota, to the cent, half away from zero; one cent taken back at a time from the company that gained most if a sub-quota would be exceeded (reading guide 7)");

        return new AllocationOutcome(def.BaseId, def.ContentHash, input.Resolution, input.ApplicationYear, input.CreditingYear, input.Budget,
            excess, input.ExcessOverride is not null, outcomes, paying.Sum(o => o.Allocated), paying.Sum(o => o.Unassigned),
            outcomes.Where(o => o.Quota.Reserved).Sum(o => o.Resources), paying.Sum(o => o.RoundingResidue), claims.Count,
            works.Where(w => w.Given is not null).Select(w => w.Work.Id).ToList(), policies, companyOutcomes, workOutcomes,
            SortedExclusions(exclusions))
        {
            Overlays = def.AppliedOverlays,
            Reform = def.Reform,
            Account = paying.Aggregate(Reconciliation.Zero, (sum, q) => sum + q.Account!),
            WorksClaimed = WorksClaimed(claims, spare is null ? null : at, companies, works),
        };
    }

    /// <summary>
    /// The items in ordinal order of their ids, ties in their order (a stable sort, as LINQ's OrderBy): an array of (id, index)
    /// sorted by the values' own comparison, no delegate per comparison.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static List<T> SortedById<T>(IReadOnlyList<T> items, Func<T, string> id)
    {
        // Already in order (a year's export usually is): the same list, no keys made or sorted.
        var inOrder = true;
        for (var i = 1; i < items.Count && inOrder; i++) inOrder = string.CompareOrdinal(id(items[i - 1]), id(items[i])) <= 0;
        if (inOrder) return [.. items];
        var keys = new IdKey[items.Count];
        for (var i = 0; i < keys.Length; i++) keys[i] = new IdKey(id(items[i]), i);
        Array.Sort(keys);
        var sorted = new List<T>(keys.Length);
        foreach (var k in keys) sorted.Add(items[k.Index]);
        return sorted;
    }

    private readonly record struct IdKey(string Id, int Index) : IComparable<IdKey>
    {
        public int CompareTo(IdKey other)
        {
            var c = string.CompareOrdinal(Id, other.Id);
            return c != 0 ? c : Index.CompareTo(other.Index);
        }
    }

    /// <summary>
    /// The claims by company id, work id, role and share, ties in their order (stable, as OrderBy): each claim's company and work
    /// as their positions in the id-ordered lists (the same order as comparing the ids), one key of them and the role. A claim on a
    /// company or work not given (only a caller of the engine can make one) sorts by comparing its ids, as it did.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (List<YearClaim> Claims, ClaimAt[] At, ClaimKey[]? Keys) SortedClaims(IReadOnlyList<YearClaim> claims, Dictionary<string, int> companyIndex,
        Dictionary<string, int> workIndex)
    {
        var keys = new ClaimKey[claims.Count];
        var works = (long)workIndex.Count;
        List<YearClaim> sorted;
        ClaimAt[] at;
        for (var i = 0; i < keys.Length; i++)
        {
            var c = claims[i];
            if (!companyIndex.TryGetValue(c.CompanyId, out var company) || !workIndex.TryGetValue(c.WorkId, out var work))
            {
                sorted = Sorted(claims, static (x, y) =>
                {
                    var c = Ord.Compare(x.CompanyId, y.CompanyId);
                    if (c == 0) c = Ord.Compare(x.WorkId, y.WorkId);
                    if (c == 0) c = ((int)x.Role.Role).CompareTo((int)y.Role.Role); // as ints: Enum.CompareTo(object) boxes
                    return c != 0 ? c : x.SharePercent.CompareTo(y.SharePercent);
                });
                at = new ClaimAt[claims.Count];
                for (var k = 0; k < at.Length; k++)
                    at[k] = new ClaimAt(companyIndex.GetValueOrDefault(sorted[k].CompanyId, -1), workIndex.GetValueOrDefault(sorted[k].WorkId, -1));
                return (sorted, at, null);
            }
            keys[i] = new ClaimKey((company * works + work) * Scoring.RoleSlots + (int)c.Role.Role, i);
        }
        SortInBuckets(keys, works * Scoring.RoleSlots, companyIndex.Count); // by company first
        // Claims of one company, work and role (a claim made twice, shares of a role): by share, then as given (stable).
        for (int from = 0, to; from < keys.Length; from = to)
        {
            for (to = from + 1; to < keys.Length && keys[to].Key == keys[from].Key; to++) { }
            for (var k = from + 1; k < to; k++)
                for (var j = k; j > from && claims[keys[j - 1].Index].SharePercent.CompareTo(claims[keys[j].Index].SharePercent) > 0; j--)
                    (keys[j - 1], keys[j]) = (keys[j], keys[j - 1]);
        }
        sorted = new List<YearClaim>(keys.Length);
        at = new ClaimAt[keys.Length];
        for (var k = 0; k < keys.Length; k++)
        {
            sorted.Add(claims[keys[k].Index]);
            var companyAndWork = keys[k].Key / Scoring.RoleSlots;
            at[k] = new ClaimAt((int)(companyAndWork / works), (int)(companyAndWork % works));
        }
        return (sorted, at, keys);
    }

    /// <summary>
    /// <paramref name="keys"/> (each made in its index's order) sorted as <c>Array.Sort</c> sorts them (their order is total: no
    /// tie), in linear time for a year: distributed into buckets by <c>Key / <paramref name="divisor"/></c> (in
    /// [0, <paramref name="buckets"/>), an order the keys' agrees with), in their order, then each bucket sorted unless it already is
    /// (a company's claims come in the order of their works, as a year lists them by work).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SortInBuckets(ClaimKey[] keys, long divisor, int buckets)
    {
        var start = new int[buckets + 1];
        foreach (var k in keys) start[(int)(k.Key / divisor) + 1]++;
        for (var b = 0; b < buckets; b++) start[b + 1] += start[b];
        var next = start[..^1];
        // The scatter's array lent by the shared pool (a year's 1.5 MB not allocated per allocation), given back once copied.
        var rented = System.Buffers.ArrayPool<ClaimKey>.Shared.Rent(keys.Length);
        var sorted = rented.AsSpan(0, keys.Length);
        foreach (var k in keys) sorted[next[(int)(k.Key / divisor)]++] = k;
        for (var b = 0; b < buckets; b++)
        {
            var bucket = sorted.Slice(start[b], start[b + 1] - start[b]);
            for (var i = 1; i < bucket.Length; i++)
                if (bucket[i - 1].CompareTo(bucket[i]) > 0)
                {
                    bucket.Sort();
                    break;
                }
        }
        sorted.CopyTo(keys);
        System.Buffers.ArrayPool<ClaimKey>.Shared.Return(rented);
    }

    /// <summary>A claim's company and work as their positions in the id-ordered lists (-1: not given).</summary>
    private readonly record struct ClaimAt(int Company, int Work);

    private readonly record struct ClaimKey(long Key, int Index) : IComparable<ClaimKey>
    {
        public int CompareTo(ClaimKey other)
        {
            var c = Key.CompareTo(other.Key);
            return c != 0 ? c : Index.CompareTo(other.Index);
        }
    }

    /// <summary>
    /// The items in the order of <paramref name="compare"/>, ties in their order (a stable sort, as LINQ's OrderBy): one array of
    /// indexes sorted, no key arrays.
    /// </summary>
    private static List<T> Sorted<T>(IReadOnlyList<T> items, Comparison<T> compare)
    {
        var order = new int[items.Count];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (i, j) =>
        {
            var c = compare(items[i], items[j]);
            return c != 0 ? c : i.CompareTo(j);
        });
        var sorted = new List<T>(order.Length);
        foreach (var i in order) sorted.Add(items[i]);
        return sorted;
    }

    /// <summary>The exclusions by company, work, role, field, article and reason; ties in their order (stable, as OrderBy).</summary>
    private static List<Exclusion> SortedExclusions(List<Exclusion> exclusions)
    {
        var order = new int[exclusions.Count];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (i, j) =>
        {
            var (x, y) = (exclusions[i], exclusions[j]);
            var c = Ord.Compare(x.CompanyId, y.CompanyId);
            if (c == 0) c = Ord.Compare(x.WorkId, y.WorkId);
            if (c == 0) c = ((int)(x.Role ?? 0)).CompareTo((int)(y.Role ?? 0));
            if (c == 0) c = Ord.Compare(x.Field, y.Field);
            if (c == 0) c = Ord.Compare(x.Article, y.Article);
            if (c == 0) c = Ord.Compare(x.Reason, y.Reason);
            return c != 0 ? c : i.CompareTo(j);
        });
        var sorted = new List<Exclusion>(order.Length);
        foreach (var i in order) sorted.Add(exclusions[i]);
        return sorted;
    }

    private static bool InOrder(Part[] lines, Comparison<Part> compare)
    {
        for (var i = 1; i < lines.Length; i++)
            if (compare(lines[i - 1], lines[i]) >= 0) return false;
        return true;
    }

    /// <summary>A credit's lines: by work id, then role (a company's parts in a quota are one per work and role).</summary>
    // Works and companies compared by their positions in the year's lists, which are in id order with distinct ids: the same
    // order as comparing the ids, without reading the strings.
    private static readonly Comparison<Part> ByWorkAndRole = (x, y) =>
    {
        var c = x.Work.CompareTo(y.Work);
        return c != 0 ? c : ((int)x.Role).CompareTo((int)y.Role);
    };

    /// <summary>A work's claims: by company, role and quota; ties (two shares of a role) in the order of its parts.</summary>
    private static readonly Comparison<Part> ByClaim = (x, y) =>
    {
        var c = x.Company.CompareTo(y.Company);
        if (c == 0) c = ((int)x.Role).CompareTo((int)y.Role);
        if (c == 0) c = x.Of.Position.CompareTo(y.Of.Position);
        return c != 0 ? c : x.Order.CompareTo(y.Order);
    };

    /// <summary>Parts of its largest quota from which a year's quotas are solved side by side (a smaller year's, one by one).</summary>
    private const int QuotasSideBySideFrom = 4096;

    /// <summary>Claims (or works) a worker takes at a time (some 3,000 parts: their list's references under the large object heap's threshold).</summary>
    private const int ClaimBlock = 2048;

    /// <summary>
    /// <paramref name="job"/> of each index in [0, <paramref name="count"/>), on up to <paramref name="workers"/> threads (the calling one
    /// among them), each thread with a state of its own (<paramref name="state"/>, made when it takes its first index); the indexes
    /// are taken in order. The jobs must not depend on one another. A failure stops the indexes after it, and the failure of the
    /// lowest index is thrown: the one a run in order would have thrown. One index or one worker: in order, on the calling thread.
    /// </summary>
    private static void InParallel<TState>(int count, int workers, Func<TState> state, Action<int, TState> job)
    {
        workers = Math.Min(workers, count);
        if (workers <= 1)
        {
            if (count == 0) return;
            var only = state();
            for (var i = 0; i < count; i++) job(i, only);
            return;
        }
        var next = 0;
        var failedAt = int.MaxValue;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        var gate = new Lock();
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ =>
        {
            var made = false;
            TState mine = default!;
            for (int i; (i = Interlocked.Increment(ref next) - 1) < count && i < Volatile.Read(ref failedAt);)
            {
                try
                {
                    if (!made) (mine, made) = (state(), true);
                    job(i, mine);
                }
                catch (Exception ex)
                {
                    lock (gate)
                        if (i < failedAt) (failedAt, failure) = (i, System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex));
                }
            }
        });
        failure?.Throw();
    }

    /// <summary>The largest of the lists' counts (0 for none).</summary>
    private static int MaxCount(List<Part>[] lists)
    {
        var max = 0;
        foreach (var l in lists) max = Math.Max(max, l.Count);
        return max;
    }

    /// <summary>Per company, the works it claims, in id order, from the claims sorted by company and work: an array each, of its size.</summary>
    /// <param name="at">The claims' companies and works as positions in <paramref name="companies"/> and <paramref name="works"/>
    /// (null: some is not given, the ids compared).</param>
    private static Dictionary<string, IReadOnlyList<string>> WorksClaimed(List<YearClaim> claims, ClaimAt[]? at, List<Applicant> companies,
        List<YearWork> works)
    {
        if (at is null) return WorksClaimed(claims);
        var result = new Dictionary<string, IReadOnlyList<string>>(companies.Count, Ord);
        for (int from = 0, to; from < claims.Count; from = to)
        {
            // The company's run of claims, its distinct works counted, then written (positions compared: the ids' order).
            var company = at[from].Company;
            var n = 1;
            for (to = from + 1; to < claims.Count && at[to].Company == company; to++)
                if (at[to].Work != at[to - 1].Work) n++;
            var mine = new string[n];
            mine[0] = works[at[from].Work].Work.Id;
            for (int k = from + 1, m = 1; k < to; k++)
                if (at[k].Work != at[k - 1].Work) mine[m++] = works[at[k].Work].Work.Id;
            result[companies[company].Id] = mine;
        }
        return result;
    }

    /// <summary>Per company, the works it claims, in id order, from the claims sorted by company and work: an array each, of its size.</summary>
    private static Dictionary<string, IReadOnlyList<string>> WorksClaimed(List<YearClaim> claims)
    {
        var result = new Dictionary<string, IReadOnlyList<string>>(Ord);
        for (int from = 0, to; from < claims.Count; from = to)
        {
            // The company's run of claims, its distinct works counted, then written.
            var company = claims[from].CompanyId;
            var works = 1;
            for (to = from + 1; to < claims.Count && Ord.Equals(claims[to].CompanyId, company); to++)
                if (!Ord.Equals(claims[to].WorkId, claims[to - 1].WorkId)) works++;
            var mine = new string[works];
            mine[0] = claims[from].WorkId;
            for (int k = from + 1, n = 1; k < to; k++)
                if (!Ord.Equals(claims[k].WorkId, claims[k - 1].WorkId)) mine[n++] = claims[k].WorkId;
            result[company] = mine;
        }
        return result;
    }

    /// <summary>
    /// Above a cap or limit, by more than the last digits decimal division leaves (a value exactly at a cap is not
    /// capped, reading guide 7, even when its quotient is 28-digit rounded).
    /// </summary>
    private static bool Over(decimal amount, decimal cap) => amount - cap > Tolerance;

    /// <summary>The unit amounts are rounded to (reading guide 2 and 7: euro, to the cent): the mechanism, not a decree figure.</summary>
    private const decimal Cent = 0.01m;

    /// <summary>What decimal division leaves in its last digits, far below a cent.</summary>
    private const decimal Tolerance = 0.000000000000000001m;

    private static string Dec(decimal d) => d.ToString("0.############", CultureInfo.InvariantCulture);

    // ------------------------------------------------------------------ admission (arts. 4, 5, 14.2)

    /// <summary>
    /// Who and what counts. A company without the requirements of every claim (the EEA seat) is kept out once, as a
    /// company; a work that cannot compete (art. 5.1, 5.3, 5.8) once, as a work; what depends on the role or the work
    /// (ATECO code, independence, net worth, rights shares) claim by claim. Each with its article; the rest counts.
    /// </summary>
    /// <param name="spare">The claims' sort's keys, done with: reused for the shares' sort (null: none to reuse).</param>
    /// <param name="companies">The year's companies in id order; <paramref name="companyIndex"/> their positions by id.</param>
    /// <param name="works">The year's works in id order; <paramref name="workIndex"/> their positions, <paramref name="categories"/> their categories.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (bool[] Admitted, bool[] Shared) Admit(List<YearClaim> claims, ClaimAt[] at, ClaimKey[]? spare, List<Applicant> companies, Dictionary<string, int> companyIndex,
        List<YearWork> works, Dictionary<string, int> workIndex, CoproductionStatus[] categories, int year,
        AllocationDefinition a, List<Exclusion> exclusions)
    {
        var outCompanies = new bool[companies.Count]; // by the company's index
        for (var i = 0; i < companies.Count; i++)
            if (companies[i] is { EeaSeat: false } c)
            {
                outCompanies[i] = true;
                exclusions.Add(new Exclusion(c.Id, "", null, "", a.EeaSeatCitation, "registered office outside the European Economic Area: none of its claims counts"));
            }
        var outWorks = new bool[works.Count]; // by the work's index
        for (var i = 0; i < works.Count; i++)
            if (works[i] is var yw && WorkReason(yw, categories[i], year, a) is { } why)
            {
                outWorks[i] = true;
                exclusions.Add(new Exclusion("", yw.Work.Id, null, "", why.Article, why.Reason + ": it counts for no claimant"));
            }
        // The claims come sorted by company, work and role: a claim made twice sits beside its twin (the same key of the claims'
        // sort, when there is one: the claims themselves are not read). The shares of a work in a role are added in the claims' order.
        var sortKeys = spare is { } k0 && k0.Length == claims.Count ? k0 : null;
        var twice = new bool[claims.Count];
        var roles = new byte[claims.Count]; // each claim's role, read once
        for (var i = 0; i < claims.Count; i++)
        {
            roles[i] = sortKeys is null ? (byte)claims[i].Role.Role : (byte)(sortKeys[i].Key % Scoring.RoleSlots);
            if (i > 0 && (sortKeys is null
                    ? claims[i].Role.Role == claims[i - 1].Role.Role && Ord.Equals(claims[i].CompanyId, claims[i - 1].CompanyId) &&
                      Ord.Equals(claims[i].WorkId, claims[i - 1].WorkId)
                    : sortKeys[i].Key == sortKeys[i - 1].Key))
                twice[i] = twice[i - 1] = true;
        }
        // The shares of each work in each role, added in the claims' order: the claims' indexes sorted by work, role and index
        // (one key each, no dictionary); a claim whose work and role add up to over 100% keeps the sum.
        // The sort's keys (distinct: the index is in them) in the claims' sort's array, done with (spare), or a new one.
        var keys = sortKeys ?? new ClaimKey[claims.Count];
        var slots = (long)Scoring.RoleSlots * claims.Count;
        for (var i = 0; i < claims.Count; i++)
        {
            // (A claim on a work not given, which only a caller of the engine can make, fails below as it did: its key is past the works'.)
            keys[i] = new ClaimKey((at[i].Work >= 0 ? at[i].Work : workIndex.Count) * slots + (long)roles[i] * claims.Count + i, i);
        }
        SortInBuckets(keys, slots, workIndex.Count + 1); // by work first
        Dictionary<int, decimal>? over = null;
        var shared = new bool[claims.Count]; // a claim's work and role claimed by others too: its points are worth keeping
        for (int from = 0, to; from < keys.Length; from = to)
        {
            var sum = claims[keys[from].Index].SharePercent;
            for (to = from + 1; to < keys.Length && keys[to].Key / claims.Count == keys[from].Key / claims.Count; to++) sum += claims[keys[to].Index].SharePercent;
            if (sum > 100m)
                for (var k = from; k < to; k++) (over ??= [])[keys[k].Index] = sum;
            if (to - from > 1)
                for (var k = from; k < to; k++) shared[keys[k].Index] = true;
        }
        var ateco = new Ateco(companies.Count);
        var admitted = new bool[claims.Count];
        // What a claim's own requirements depend on (art. 4, 14.2): its company, role, and its work's kind and whether a short film;
        // each work's two read once, and each combination found to meet them remembered (one that does not is asked again,
        // for its words).
        var kindOf = new byte[works.Count];
        for (var w = 0; w < works.Count; w++) kindOf[w] = (byte)((int)works[w].Work.Kind * 2 + (works[w].Work.ShortFilm ? 1 : 0));
        var kinds = ((int)Enum.GetValues<WorkKind>().Max() + 1) * 2;
        var meets = new bool[companies.Count * Scoring.RoleSlots * kinds];
        for (var i = 0; i < claims.Count; i++)
        {
            // (A company or work not given, which only a caller of the engine can name, throws below as it did.)
            var (company, work) = (at[i].Company, at[i].Work);
            if (company >= 0 && outCompanies[company] || work >= 0 && outWorks[work]) continue;
            if (company < 0) company = companyIndex[claims[i].CompanyId];
            if (work < 0) work = workIndex[claims[i].WorkId];
            ref var known = ref meets[(company * Scoring.RoleSlots + roles[i]) * kinds + kindOf[work]];
            var why = known ? null : ClaimReason(companies[company], company, (Role)roles[i], works[work].Work, a, ateco);
            known = why is null;
            if (why is null && twice[i])
                why = (a.RightsSharesCitation, "the company claims this work in this role twice");
            if (why is null && over is not null && over.TryGetValue(i, out var sum))
                why = (a.RightsSharesCitation, $"the rights shares claimed on this work in this role add up to {Dec(sum)}%, over 100%");
            if (why is { } reason) exclusions.Add(new Exclusion(claims[i].CompanyId, claims[i].WorkId, claims[i].Role.Role, "", reason.Article, reason.Reason));
            else admitted[i] = true;
        }
        return (admitted, shared);
    }

    private static (string Article, string Reason)? ClaimReason(Applicant c, int company, Role role, Work work, AllocationDefinition a,
        Ateco ateco)
    {
        if (a.Applicants.TryGetValue(role, out var r))
        {
            if (!ateco.Admitted(c, company, role, r))
            {
                var why = c.SecondaryAteco.Count == 0 ? $"ATECO {c.Ateco} is not admitted"
                    : $"none of the ATECO codes {c.Ateco} (primary), {string.Join(", ", c.SecondaryAteco)} (secondary) is admitted";
                return (r.Citation, $"{why} for the role {RoleNames.Key(role)} (admitted: {string.Join(", ", r.Ateco)})");
            }
            if (r.IndependentFor.Contains(work.Kind) && c.Independent != true)
                return (r.Citation, work.Kind == WorkKind.TvWeb
                    ? "TV and web works are for independent producers only, and the company is not declared independent"
                    : "these works are for independent producers only, and the company is not declared independent");
        }
        if (a.NetWorthMinimum is { } nw)
        {
            var minimum = work.ShortFilm && a.NetWorthMinimumShortFilms is { } s ? s : nw.Value;
            if (c.NetWorth < minimum)
                return (nw.Citation, $"net worth EUR {Dec(c.NetWorth)} is below EUR {Dec(minimum)}{(work.ShortFilm ? " (short film)" : "")}");
        }
        return null;
    }

    private static (string Article, string Reason)? WorkReason(YearWork yw, CoproductionStatus category, int year, AllocationDefinition a)
    {
        if (!yw.Eligible)
            return (a.EligibleWorksCitation, "the work is not declared eligible (Italian nationality, deposit, tax-credit requirements, type)");
        if (yw.FirstExploitation is { } first && first.Year > year && a.FirstExploitation is { } fe)
            return (fe.NotYetCitation, $"first exploited in {first.Year}: the work competes from the application for {first.Year}");
        var w = yw.Work;
        // Art. 5.8 on the category of art. 2.f-h (CoproductionClassifier): the threshold and its reason come with the category.
        if (a.Coproduction is { } cp && category.ThresholdPercent is { } threshold)
        {
            if (w.ItalianSharePercent is not { } share)
                return (cp.Citation, "a co-production needs its Italian share of rights (italian_share_percent)");
            if (share < threshold)
                return category.Category == CoproductionCategory.Declared
                    ? (cp.Citation, $"Italian share {Dec(share)}% is below the {Dec(threshold)}% of a {(w.Coproduction == CoproductionKind.Multilateral ? "multilateral" : threshold == cp.ReducedShare ? "bilateral co-production costing at least EUR " + Dec(cp.ReducedFromCost) : "bilateral co-production")}")
                    : ($"{cp.Citation}; {category.Article}",
                        $"Italian share {Dec(share)}% is below the {Dec(threshold)}% of a {category.Label} ({category.Article}: {category.Reason}); {category.ThresholdReason}");
        }
        return null;
    }

    /// <summary>
    /// Each role on any of the company's codes, primary or secondary (art. 4.1 asks for the activity, not the primary one): the
    /// same for every claim of the company in that role, so checked once; each role's admitted codes normalized once.
    /// </summary>
    private sealed class Ateco(int companies)
    {
        private readonly sbyte[] _admitted = new sbyte[companies * Scoring.RoleSlots]; // 0 not checked, 1 admitted, -1 not
        private readonly string[]?[] _prefixes = new string[Scoring.RoleSlots][];

        public bool Admitted(Applicant c, int company, Role role, ApplicantRoleDefinition r)
        {
            ref var known = ref _admitted[company * Scoring.RoleSlots + (int)role];
            if (known == 0) known = (sbyte)(Matches(c.Ateco, role, r) || AnySecondary(c, role, r) ? 1 : -1);
            return known > 0;
        }

        private bool AnySecondary(Applicant c, Role role, ApplicantRoleDefinition r)
        {
            foreach (var code in c.SecondaryAteco)
                if (Matches(code, role, r)) return true;
            return false;
        }

        private bool Matches(string code, Role role, ApplicantRoleDefinition r)
        {
            var prefixes = _prefixes[(int)role] ??= Normalized(r.Ateco);
            if (prefixes.Length == 0) return false;
            var normalized = NormalizeAteco(code);
            foreach (var p in prefixes)
                if (normalized.StartsWith(p, StringComparison.Ordinal)) return true;
            return false;
        }

        private static string[] Normalized(IReadOnlyList<string> codes)
        {
            var result = new string[codes.Count];
            for (var i = 0; i < result.Length; i++) result[i] = NormalizeAteco(codes[i]);
            return result;
        }

        /// <summary>"J 59.11" and "59.11.00" to digits and dots, for prefix matching ("59.1" admits 59.11 ... 59.14).</summary>
        private static string NormalizeAteco(string code)
        {
            var n = 0;
            foreach (var ch in code)
                if (char.IsAsciiDigit(ch) || ch == '.') n++;
            if (n == code.Length) return code;
            return string.Create(n, code, static (span, code) =>
            {
                var i = 0;
                foreach (var ch in code)
                    if (char.IsAsciiDigit(ch) || ch == '.') span[i++] = ch;
            });
        }
    }

    // ------------------------------------------------------------------ points

    /// <summary>
    /// The points of each claim per quota, scored on the rule set's allocation-free totals path (<see cref="CompiledRuleSet.ScoreTotals"/>),
    /// the quotas that scored in the manifest's order, as <c>Score</c> lists them. Each scoring depends on its work and claim only, so
    /// blocks of claims are scored side by side (<see cref="InParallel"/>), each worker with its own totals and scope
    /// (<see cref="Scorer"/>); a claim without facts of its own, whose work and role others claim too, scores the same as they do:
    /// those are scored first, once per work and role (side by side too), and read by each of those claims.
    /// </summary>
    private sealed class Scoring
    {
        // (By the work's index in the year and the role's value.)
        public static readonly int RoleSlots = (int)Enum.GetValues<Role>().Max() + 1;

        /// <summary>Scorings of works and roles a block holds: the unit a worker takes (a few ms of work).</summary>
        private const int Block = 256;

        private readonly CompiledRuleSet _rs;
        private readonly IReadOnlyList<QuotaDefinition> _quotas;
        private readonly List<YearWork> _works;
        private readonly List<YearClaim> _claims;
        private readonly ClaimAt[] _at;
        private readonly int[] _onceOf;           // by claim: its work and role's scoring (-1: the claim is scored on its own, or not at all)
        private readonly List<int> _onceClaim = []; // by such scoring: the claim scored (the first of its work and role)
        private readonly int[] _start = [], _length = []; // by such scoring: its points in its block's array
        private readonly (int Quota, decimal Points)[][] _points = []; // by block
        private readonly List<Scorer> _scorers = []; // every worker's, for the rows they flagged
        private int _failedAt = int.MaxValue; // the claim whose work and role's scoring failed first
        private System.Runtime.ExceptionServices.ExceptionDispatchInfo? _failure;

        public Scoring(CompiledRuleSet rs, IReadOnlyList<QuotaDefinition> quotas, List<YearWork> works, List<YearClaim> claims, ClaimAt[] at,
            bool[] admitted, bool[] shared)
        {
            (_rs, _quotas, _works, _claims, _at) = (rs, quotas, works, claims, at);
            _onceOf = new int[claims.Count];
            Dictionary<int, int>? once = null; // by work and role
            for (var i = 0; i < claims.Count; i++)
            {
                _onceOf[i] = -1;
                var c = claims[i];
                if (!admitted[i] || !shared[i] || works[at[i].Work].Given is not null || c.Role.ContractSignedOn is not null ||
                    c.Role.DistributionCost is not null || c.Role.ForeignSales.Count > 0 || c.Role.HomeEntertainmentSales.Count > 0)
                    continue;
                var slot = at[i].Work * RoleSlots + (int)c.Role.Role;
                if (!(once ??= []).TryGetValue(slot, out var made)) once.Add(slot, made = _onceClaim.Count);
                if (made == _onceClaim.Count) _onceClaim.Add(i);
                _onceOf[i] = made;
            }
            if (_onceClaim.Count == 0) return;
            _start = new int[_onceClaim.Count];
            _length = new int[_onceClaim.Count];
            _points = new (int, decimal)[(_onceClaim.Count + Block - 1) / Block][];
        }

        /// <summary>
        /// Each work and role claimed alike by several claims, scored once, side by side. A failure is kept, with its claim, for
        /// <see cref="ThrowIfFailed"/>: the claims before it are still scored (and fail first, if one does, as one by one).
        /// </summary>
        /// <returns>The claims to go on with: those before the failed one (all, without a failure).</returns>
        public int ScoreOnce(int workers)
        {
            try
            {
                InParallel(_points.Length, workers, NewScorer, ScoreBlock);
            }
            catch (Exception ex)
            {
                // The first scoring to fail, in the claims' order (the scorings are numbered in it): the one left at -1.
                var s = Array.IndexOf(_length, -1);
                if (s < 0) throw;
                (_failedAt, _failure) = (_onceClaim[s], System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex));
            }
            return Math.Min(_failedAt, _claims.Count);
        }

        /// <summary>The failure of <see cref="ScoreOnce"/>, if any: thrown once the claims before it are scored.</summary>
        public void ThrowIfFailed() => _failure?.Throw();

        /// <summary>The rows every scoring flagged, per work, into <paramref name="flags"/> (sets: the same whatever the order they come in).</summary>
        public void Flags(Dictionary<int, (SortedSet<string> Provisional, SortedSet<string> Missing)> flags)
        {
            foreach (var scorer in _scorers)
                foreach (var (work, provisional, missing) in scorer.Flagged ?? [])
                {
                    if (!flags.TryGetValue(work, out var f)) flags[work] = f = (new(Ord), new(Ord));
                    f.Provisional.UnionWith(provisional);
                    f.Missing.UnionWith(missing);
                }
        }

        /// <summary>A worker's own: its totals and scope, its claim array, its buffer of points, its map of the totals' quotas.</summary>
        public sealed class Scorer
        {
            public readonly PointTotals Totals = new() { OwnScope = true };
            public readonly RoleInput[] One = new RoleInput[1];
            public (int Quota, decimal Points)[] Buffer = new (int, decimal)[4 * Block];
            public int[]? QuotaAt; // the totals' quota i is the manifest's QuotaAt[i] (-1: none)
            public IReadOnlyList<string>? QuotaIds; // the totals' quotas QuotaAt was made for
            public List<(int Work, string[] Provisional, string[] Missing)>? Flagged; // the rows its scorings flagged
            public readonly List<(int Claim, int Quota, decimal Points)> Parts = []; // a block's parts' points, before they are made
        }

        public Scorer NewScorer()
        {
            var scorer = new Scorer();
            lock (_scorers) _scorers.Add(scorer);
            return scorer;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ScoreBlock(int block, Scorer w)
        {
            var (from, to) = (block * Block, Math.Min(_onceClaim.Count, (block + 1) * Block));
            var n = 0;
            for (var s = from; s < to; s++)
            {
                _length[s] = -1; // failed, until scored
                var points = Score(_onceClaim[s], w, n);
                _start[s] = n;
                _length[s] = points;
                n += points;
            }
            _points[block] = n == 0 ? [] : w.Buffer[..n];
        }

        /// <summary>Claim <paramref name="i"/> scored into <paramref name="w"/>'s buffer from <paramref name="at"/>: the quotas it scored in.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private int Score(int i, Scorer w, int at)
        {
            var c = _claims[i];
            var work = _at[i].Work;
            w.One[0] = c.Role;
            var totals = w.Totals;
            _rs.ScoreTotals(_works[work].Work, w.One, totals);
            var role = c.Role.Role;
            var (provisional, missing) = (totals.ProvisionalRows(role), totals.MissingRows(role));
            if (provisional.Count + missing.Count > 0) (w.Flagged ??= []).Add((work, [.. provisional], [.. missing]));
            var ids = totals.QuotaIds;
            if (w.QuotaAt is null || !ReferenceEquals(ids, w.QuotaIds))
            {
                (w.QuotaAt, w.QuotaIds) = (new int[ids.Count], ids);
                for (var q = 0; q < ids.Count; q++) w.QuotaAt[q] = QuotaAt(ids[q]);
            }
            if (w.Buffer.Length < at + ids.Count) Array.Resize(ref w.Buffer, Math.Max(2 * w.Buffer.Length, at + ids.Count));
            var n = at;
            for (var q = 0; q < ids.Count; q++)
                if (totals.Quota(role, q) is var v && decimal.Sign(v) != 0) w.Buffer[n++] = (w.QuotaAt[q], v);
            return n - at;
        }

        /// <summary>The quota's position in the manifest, -1 if it has none.</summary>
        private int QuotaAt(string id)
        {
            for (var i = 0; i < _quotas.Count; i++)
                if (Ord.Equals(_quotas[i].Id, id)) return i;
            return -1;
        }

        /// <summary>The caller's points of the claim's role, summed per quota in the order the quotas first appear.</summary>
        private (int Quota, decimal Points)[] Given(IReadOnlyList<GivenPoints> given, Role role) =>
            [.. given.Where(g => g.Role == role).GroupBy(g => g.QuotaId, Ord).Select(g => (QuotaAt(g.Key), g.Sum(x => x.Points)))];

        /// <summary>
        /// Each quota the admitted claim <paramref name="i"/> scores in (its position in the manifest, -1 if none) and its points:
        /// its work and role's (<see cref="ScoreOnce"/>), or scored now by <paramref name="w"/> (valid until its next scoring).
        /// </summary>
        public ReadOnlySpan<(int Quota, decimal Points)> PointsOf(int i, Scorer w)
        {
            if (_works[_at[i].Work].Given is { } given) return Given(given, _claims[i].Role.Role);
            if (_onceOf[i] is var s and >= 0) return _points[s / Block].AsSpan(_start[s], _length[s]);
            return w.Buffer.AsSpan(0, Score(i, w, 0));
        }
    }

    // ------------------------------------------------------------------ rounding (reading guide 7)

    /// <summary>The sub-quota's credits: per company (by id), its group in the pool, exact amount, amount and whether it gave a cent back.</summary>
    private sealed record Rounding(decimal Allocated, string[] Ids, int[] Groups, decimal[] Exact, decimal[] Amounts, bool[] GiveBack);

    /// <summary>
    /// Each company's amount in the sub-quota to the cent, half away from zero; while the rounded sum exceeds the
    /// resources, one cent back from the company that gained most from rounding (ties: the smaller company id).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Rounding Round(Pool pool, decimal resources)
    {
        // The pool's companies (its parts grouped once, in the parts' order) by id; each company's exact amount added in that order.
        var groups = pool.Companies;
        var n = groups.Count;
        var (ids, order) = (new string[n], new int[n]);
        for (var g = 0; g < n; g++) (ids[g], order[g]) = (groups[g].First.Claim.CompanyId, g);
        // By id (ids are distinct: no tie to break): the groups sorted by their ids; each company's exact amount added in the
        // pool's order.
        Array.Sort(ids, order, StringComparer.Ordinal);
        var exactById = new decimal[n];
        var amounts = new decimal[n];
        for (var i = 0; i < n; i++)
        {
            var exact = 0m;
            foreach (var p in groups[order[i]]) exact += p.Exact;
            exactById[i] = exact;
            amounts[i] = Math.Round(exact, 2, MidpointRounding.AwayFromZero);
        }
        var giveBack = new bool[n];
        var sum = 0m;
        foreach (var x in amounts) sum += x;
        while (sum > resources)
        {
            var best = -1;
            for (var i = 0; i < n; i++)
                if (amounts[i] > 0 && (best < 0 || amounts[i] - exactById[i] > amounts[best] - exactById[best])) best = i;
            if (best < 0) break;
            amounts[best] -= Cent;
            giveBack[best] = true;
            sum -= Cent;
        }
        return new Rounding(sum, ids, order, exactById, amounts, giveBack);
    }

    // ------------------------------------------------------------------ one paying (sub-)quota

    /// <summary>
    /// The parts of a list grouped by a key (a work's or a company's index in the pool), as LINQ's GroupBy groups them: the
    /// groups in the order their keys first appear, each group's parts in the list's order. Arrays, no hashing.
    /// </summary>
    private readonly struct Groups
    {
        private readonly List<Part> _parts;
        private readonly int[] _start;   // group g: _members[_start[g].._start[g + 1]]
        private readonly int[] _members; // indexes into the list

        /// <param name="groupOf">Scratch of the year's keys (works or companies), every entry -1: left so.</param>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public Groups(List<Part> parts, bool byWork, int[] groupOf)
        {
            _parts = parts;
            var groups = 0;
            for (var i = 0; i < parts.Count; i++)
            {
                var key = byWork ? parts[i].Work : parts[i].Company;
                if (groupOf[key] < 0) groupOf[key] = groups++;
            }
            var keyOf = new int[groups];
            var start = new int[groups + 1]; // counts first, then where each group starts
            for (var i = 0; i < parts.Count; i++)
            {
                var key = byWork ? parts[i].Work : parts[i].Company;
                keyOf[groupOf[key]] = key;
                start[groupOf[key] + 1]++;
            }
            Keys = keyOf;
            for (var g = 0; g < groups; g++) start[g + 1] += start[g];
            _members = new int[parts.Count];
            // Each group filled from its start (which moves to the next group's), then the starts moved back.
            for (var i = 0; i < parts.Count; i++) _members[start[groupOf[byWork ? parts[i].Work : parts[i].Company]]++] = i;
            for (var g = groups; g > 0; g--) start[g] = start[g - 1];
            start[0] = 0;
            _start = start;
            foreach (var key in keyOf) groupOf[key] = -1;
        }

        /// <summary>Each group's key, in the order of first appearance.</summary>
        public int[] Keys { get; }

        public int Count => Keys.Length;

        /// <summary>The parts of group <paramref name="g"/>, in the list's order.</summary>
        public Members this[int g] => new(_parts, _members, _start[g], _start[g + 1]);

        public readonly struct Members(List<Part> parts, int[] members, int from, int to)
        {
            public int Count => to - from;
            public Part First => parts[members[from]];

            public Enumerator GetEnumerator() => new(parts, members, from, to);

            public struct Enumerator(List<Part> parts, int[] members, int from, int to)
            {
                private int _i = from - 1;
                public readonly Part Current => parts[members[_i]];
                public bool MoveNext() => ++_i < to;
            }
        }
    }

    /// <summary>
    /// Arrays by the year's work and company indexes, made once per allocation and lent to each pool in turn (a pool is solved
    /// before the next starts): the groups' numbering (every entry -1 between uses), each work's points, the flags of the water level and of the nominal cuts.
    /// </summary>
    private sealed class Scratch(int works, int companies, int parts)
    {
        public int[] WorkGroup { get; } = Minus1(works);
        public int[] CompanyGroup { get; } = Minus1(companies);
        public decimal[] WorkPoints { get; } = new decimal[works];
        public bool[] FrozenWorks { get; } = new bool[works];
        public bool[] FrozenCompanies { get; } = new bool[companies];
        public bool[] WorkOver { get; } = new bool[works]; // the nominal cuts: whether each work is over its cap
        public bool[] CapSplit { get; } = new bool[companies]; // a company in both pools of a binding short-film limit: its cap split
        public decimal[] ShortsCap { get; } = new decimal[companies]; // and its cap in each pool
        public decimal[] OthersCap { get; } = new decimal[companies];
        public decimal[] WorkCapShare { get; } = new decimal[parts]; // by a part's position in its quota's parts (Part.Order while solving)
        public bool[] ShareKnown { get; } = new bool[parts]; // whether its WorkCapShare is worked out yet
        public bool[] OverAtValue { get; } = new bool[works]; // whether each work is over its cap at the pool's point value

        private static int[] Minus1(int n)
        {
            var a = new int[n];
            Array.Fill(a, -1);
            return a;
        }
    }

    /// <summary>
    /// The money of one paying quota (reading guide 2 and 7): point value, the short-film limit as two pools, the
    /// per-work then per-company caps, and the excess policy. Amount of a part at point value v:
    /// min(points x v, its share of the work cap), then scaled down to its company's cap.
    /// </summary>
    private sealed class Pool
    {
        private readonly List<Part> parts;
        private readonly decimal resources, workCap, companyCap;
        private readonly decimal? shortsLimit;
        private readonly ExcessPolicy excess;
        private readonly Scratch _scratch; // the year's arrays by work and company, shared by the pools (solved one at a time)

        /// <param name="scratch">The year's arrays by work and company: a part's <see cref="Part.Work"/> and <see cref="Part.Company"/> index them.</param>
        public Pool(List<Part> parts, decimal resources, decimal workCap, decimal companyCap, decimal? shortsLimit, ExcessPolicy excess,
            Scratch scratch)
        {
            (this.parts, this.resources, this.workCap, this.companyCap, this.shortsLimit, this.excess) =
                (parts, resources, workCap, companyCap, shortsLimit, excess);
            // Each part's work and company as the year's index of it (set when the part is made), so the pool groups by arrays
            // instead of hashing ids.
            _scratch = scratch;
            // Each part's position in the quota's parts: where its share of its work's cap is kept while the quota is solved.
            for (var i = 0; i < parts.Count; i++) parts[i].Order = i;
        }

        /// <summary>
        /// A part's pro-rata share of its work's cap (its work's points set by <see cref="Solve"/>): worked out when first asked (only
        /// the parts of works at a cap ask), then kept.
        /// </summary>
        private decimal Share(Part p)
        {
            if (_scratch.ShareKnown[p.Order]) return _scratch.WorkCapShare[p.Order];
            _scratch.ShareKnown[p.Order] = true;
            return _scratch.WorkCapShare[p.Order] = workCap * p.Points / _scratch.WorkPoints[p.Work];
        }

        public IReadOnlyList<Part> Parts => parts;
        public decimal WorkCap => workCap;
        public decimal CompanyCap => companyCap;
        public decimal TotalPoints { get; private set; }
        public decimal PointValue { get; private set; }
        public decimal Allocated { get; private set; }
        public decimal CutByWorkCap { get; private set; }
        public decimal CutByCompanyCap { get; private set; }
        public ShortFilmsOutcome? ShortFilms { get; private set; }

        /// <summary>Each pool's money for the account: one pool, or the shorts' then the others' of a binding limit.</summary>
        public List<Account.PoolMoney> Money { get; } = [];

        private Groups? _all, _allByWork;

        /// <summary>All the pool's parts by company: the groups rounding and the credits read.</summary>
        public Groups Companies => _all ??= new(parts, byWork: false, _scratch.CompanyGroup);

        // All the pool's parts are grouped once each way (the groups read, never changed); a pool of a binding short-film limit
        // (part of them) is grouped when asked.
        private Groups ByWork(List<Part> ps) => ReferenceEquals(ps, parts) ? _allByWork ??= new(ps, byWork: true, _scratch.WorkGroup)
            : Of(_poolsByWork, ps, byWork: true, _scratch.WorkGroup);

        private Groups ByCompany(List<Part> ps) => ReferenceEquals(ps, parts) ? Companies : Of(_poolsByCompany, ps, byWork: false, _scratch.CompanyGroup);

        // The two pools of a binding short-film limit, each grouped once each way (each pool is solved, then its cuts measured).
        private readonly List<(List<Part> Pool, Groups Groups)> _poolsByWork = [], _poolsByCompany = [];

        private static Groups Of(List<(List<Part> Pool, Groups Groups)> made, List<Part> ps, bool byWork, int[] groupOf)
        {
            foreach (var (pool, groups) in made)
                if (ReferenceEquals(pool, ps)) return groups;
            var g = new Groups(ps, byWork, groupOf);
            made.Add((ps, g));
            return g;
        }

        /// <summary>The parts of short films (or of the other works), in the list's order, in a list of their size.</summary>
        private static List<Part> Where(List<Part> ps, bool shortFilm)
        {
            var n = 0;
            foreach (var p in ps)
                if (p.ShortFilm == shortFilm) n++;
            var result = new List<Part>(n);
            foreach (var p in ps)
                if (p.ShortFilm == shortFilm) result.Add(p);
            return result;
        }

        private static decimal SumPoints(List<Part> ps)
        {
            var sum = 0m;
            foreach (var p in ps) sum += p.Points;
            return sum;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Solve()
        {
            TotalPoints = SumPoints(parts);
            var byWork = ByWork(parts);
            // Each work's points, added in the list's order, for the whole solution: a work's parts are all in one pool of a
            // binding short-film limit (short or not is the work's), each added in the same order there.
            var workPointsOf = _scratch.WorkPoints;
            Array.Clear(_scratch.ShareKnown, 0, parts.Count);
            for (var g = 0; g < byWork.Count; g++)
            {
                var workPoints = 0m;
                foreach (var p in byWork[g]) workPoints += p.Points;
                workPointsOf[byWork.Keys[g]] = workPoints;
                // (Each part's share of the work cap is worked out when asked, Share; a work of no points fails here, as ever.)
                if (workPoints == 0m) _ = workCap * byWork[g].First.Points / workPoints;
            }
            if (TotalPoints == 0m)
            {
                if (shortsLimit is { } l) ShortFilms = new ShortFilmsOutcome(l, false, 0, 0, 0, 0);
                Money.Add(new Account.PoolMoney(Account.Quantize(resources), 0, 0, 0, 0, false));
                return;
            }
            var common = resources / TotalPoints;
            List<(List<Part> Parts, decimal Resources, decimal Points)> pools = [(parts, resources, TotalPoints)];
            if (shortsLimit is { } limit)
            {
                var shorts = Where(parts, shortFilm: true);
                var shortPoints = SumPoints(shorts);
                var limitAmount = resources * limit / 100m;
                var binding = Over(shortPoints * common, limitAmount);
                if (binding)
                {
                    var others = Where(parts, shortFilm: false);
                    foreach (var p in shorts) p.ShortFilmsPool = true;
                    pools = [(shorts, limitAmount, shortPoints), (others, resources - limitAmount, SumPoints(others))];
                    var otherPoints = TotalPoints - shortPoints;
                    ShortFilms = new ShortFilmsOutcome(limit, true, shortPoints, limitAmount, limitAmount / shortPoints,
                        otherPoints == 0 ? 0 : (resources - limitAmount) / otherPoints);
                }
                else ShortFilms = new ShortFilmsOutcome(limit, false, shortPoints, shortPoints * common, common, common);
            }
            SplitCompanyCaps(pools);
            var values = new List<decimal>();
            foreach (var (ps, r, points) in pools)
            {
                var v = SolvePool(ps, r, points);
                values.Add(v);
                if (ps.Count > 0 && (pools.Count == 1 || !ps[0].ShortFilmsPool)) PointValue = v;
            }
            Allocated = 0m;
            foreach (var p in parts) Allocated += p.Exact;
            // The short-film line says the point values paid, as the point-value column does (under redistribute, the
            // water level of each pool, not the nominal resources / points).
            if (ShortFilms is { Binding: true } bound) ShortFilms = bound with { PointValue = values[0], OtherPointValue = values[1] };
            else if (ShortFilms is { } free) ShortFilms = free with { PointValue = PointValue, OtherPointValue = PointValue };
            // The account: each pool's resources to the published scale, the shorts' first and the others' the rest.
            var whole = Account.Quantize(resources);
            for (var i = 0; i < pools.Count; i++)
            {
                var (ps, r, points) = pools[i];
                var (w, c) = NominalCuts(ps, r, points);
                var quantized = i == pools.Count - 1 ? whole - Money.Sum(m => m.Resources) : Account.Quantize(r);
                var exact = 0m;
                foreach (var p in ps) exact += p.Exact;
                Money.Add(new Account.PoolMoney(quantized, points, exact, w, c, pools.Count > 1 && i == 1));
            }
        }

        /// <summary>
        /// The caps' cuts at the pool's nominal point value v0 = resources / points (reading guide 7): W, each work's
        /// v0 x points above its cap; C, each company's amount after the work cap above its cap.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private (decimal Work, decimal Company) NominalCuts(List<Part> ps, decimal r, decimal points)
        {
            if (points == 0) return (0, 0);
            var v0 = r / points;
            decimal w = 0, c = 0;
            var byWork = ByWork(ps);
            for (var g = 0; g < byWork.Count; g++)
            {
                var amount = _scratch.WorkPoints[byWork.Keys[g]] * v0;
                var capped = _scratch.WorkOver[byWork.Keys[g]] = Over(amount, workCap);
                if (capped) w += amount - workCap;
            }
            var byCompany = ByCompany(ps);
            for (var g = 0; g < byCompany.Count; g++)
            {
                var sum = 0m;
                foreach (var p in byCompany[g]) sum += _scratch.WorkOver[p.Work] ? Share(p) : p.Points * v0; // at the nominal value
                var cap = CapOf(byCompany[g].First);
                if (Over(sum, cap)) c += sum - cap;
            }
            return (w, c);
        }

        private bool _split; // whether some company's cap is split between the two pools of a binding short-film limit

        /// <summary>A part's company's cap in its pool (the caps split by <see cref="SplitCompanyCaps"/>).</summary>
        private decimal CapOf(Part p) => _split && _scratch.CapSplit[p.Company]
            ? p.ShortFilmsPool ? _scratch.ShortsCap[p.Company] : _scratch.OthersCap[p.Company]
            : companyCap;

        /// <summary>
        /// Each company's cap per pool: the whole cap, or, for a company in both pools of a binding short-film limit,
        /// the cap split pro rata to its amounts after the work cap at each pool's point value (reading guide 7).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void SplitCompanyCaps(List<(List<Part> Parts, decimal Resources, decimal Points)> pools)
        {
            if (pools.Count < 2) return;
            foreach (var (ps, r, points) in pools)
            {
                // AfterWorkCap as scratch: the amount at the pool's nominal value after the work cap (SolvePool sets it for good).
                foreach (var p in ps) p.AfterWorkCap = points == 0 ? 0 : Math.Min(p.Points * (r / points), Share(p));
            }
            var byCompany = ByCompany(parts);
            _split = true;
            for (var g = 0; g < byCompany.Count; g++)
            {
                decimal total = 0, shorts = 0, others = 0;
                bool inShorts = false, inOthers = false;
                // The company's amounts in each pool, each added in the list's order (as the groups of each pool add them).
                foreach (var p in byCompany[g])
                {
                    total += p.AfterWorkCap;
                    if (p.ShortFilmsPool) { shorts += p.AfterWorkCap; inShorts = true; }
                    else { others += p.AfterWorkCap; inOthers = true; }
                }
                var key = byCompany.Keys[g];
                _scratch.CapSplit[key] = false;
                if (total == 0 || !(inShorts && inOthers)) continue;
                _scratch.CapSplit[key] = true;
                (_scratch.ShortsCap[key], _scratch.OthersCap[key]) = (companyCap * shorts / total, companyCap * others / total);
            }
        }

        /// <summary>
        /// Water filling (reading guide 7, redistribute): the common point value v at which the capped sum
        /// S(v) = sum over companies of min(company cap, sum of min(points x v, share of the work cap)) equals the resources.
        /// S is piecewise linear and increasing; v rises from 0 through the values at which a work or a company reaches its
        /// cap (each frozen there, in order), until the uncapped rest absorbs what is left. Everyone capped: v stops at the
        /// last such value and the rest stays unassigned. A value exactly at a cap is not capped.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private decimal WaterLevel(decimal r, int[] works, decimal[] workPoints, Groups companies, bool[] cappedWorks, bool[] cappedCompanies)
        {
            var v = 0m;
            while (true)
            {
                decimal fixedSum = 0, slope = 0;
                var next = decimal.MaxValue;
                for (var g = 0; g < companies.Count; g++)
                {
                    var cap = CapOf(companies[g].First);
                    if (cappedCompanies[companies.Keys[g]]) { fixedSum += cap; continue; }
                    decimal fixedK = 0, slopeK = 0;
                    foreach (var p in companies[g])
                        if (cappedWorks[p.Work]) fixedK += Share(p);
                        else slopeK += p.Points;
                    fixedSum += fixedK;
                    slope += slopeK;
                    if (slopeK > 0) next = Math.Min(next, Math.Max(v, (cap - fixedK) / slopeK));
                }
                foreach (var w in works)
                    if (!cappedWorks[w]) next = Math.Min(next, workCap / workPoints[w]);
                if (slope == 0) return v; // everyone capped: the rest is unassigned
                var target = (r - fixedSum) / slope;
                if (next >= target) return target;
                v = next;
                var froze = false;
                foreach (var w in works)
                    if (!cappedWorks[w] && !Over(workCap, workPoints[w] * v)) froze = cappedWorks[w] = true;
                for (var g = 0; g < companies.Count; g++)
                {
                    if (cappedCompanies[companies.Keys[g]]) continue;
                    decimal amount = 0;
                    foreach (var p in companies[g]) amount += cappedWorks[p.Work] ? Share(p) : p.Points * v;
                    if (!Over(CapOf(companies[g].First), amount)) froze = cappedCompanies[companies.Keys[g]] = true;
                }
                if (!froze) return target; // nothing reached its cap after all (decimal rounding): the level is the target
            }
        }

        /// <summary>
        /// The point value of one pool and its parts' amounts. Unassigned: v = resources / points, caps cut. Redistribute: the
        /// water level of <see cref="WaterLevel"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private decimal SolvePool(List<Part> ps, decimal r, decimal points)
        {
            if (points == 0) return 0;
            var v = r / points;
            var byWork = ByWork(ps);
            // The year's arrays: only this pool's works' entries are read (each work's points, set by Solve); the flags cleared first.
            var workPoints = _scratch.WorkPoints;
            var companies = ByCompany(ps);
            // Under redistribute, whoever the water level froze is capped, also when it stopped exactly at the cap
            // because everyone was capped.
            var (frozenWorks, frozenCompanies) = (_scratch.FrozenWorks, _scratch.FrozenCompanies);
            Array.Clear(frozenWorks);
            Array.Clear(frozenCompanies);
            if (excess == ExcessPolicy.Redistribute) v = WaterLevel(r, byWork.Keys, workPoints, companies, frozenWorks, frozenCompanies);
            // The value its parts' amounts before the caps are at (Part.BeforeCaps: points x this).
            if (ps.Count > 0) ps[0].Of.PointValues[ps[0].ShortFilmsPool ? 1 : 0] = v;
            // Whether each work is over its cap at v, once per work (each of its parts asks).
            var overAt = _scratch.OverAtValue;
            foreach (var w in byWork.Keys) overAt[w] = Over(workPoints[w] * v, workCap);
            for (var g = 0; g < companies.Count; g++)
            {
                decimal sum = 0;
                foreach (var p in companies[g])
                {
                    var uncapped = p.Points * v;
                    p.WorkCapped = frozenWorks[p.Work] || overAt[p.Work];
                    p.Exact = p.WorkCapped ? Share(p) : uncapped; // BeforeCaps: uncapped, Points x the value kept below
                    p.AfterWorkCap = p.Exact;
                    CutByWorkCap += uncapped - p.Exact;
                    sum += p.Exact;
                }
                var cap = CapOf(companies[g].First);
                if (Over(sum, cap) || frozenCompanies[companies.Keys[g]])
                {
                    foreach (var p in companies[g])
                    {
                        var capped = p.Exact * cap / sum;
                        CutByCompanyCap += p.Exact - capped;
                        p.Exact = capped;
                        p.CompanyCapped = true;
                    }
                }
            }
            return v;
        }
    }
}
