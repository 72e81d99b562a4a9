using System.Globalization;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

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

    public static AllocationOutcome Run(AllocationInput input)
    {
        var rs = input.RuleSet;
        var def = rs.Definition;
        var a = def.Allocation ?? throw new AllocationNotSupportedException(
            $"rule set {def.Id} has no 'allocation' block in its manifest: it can score, not allocate");
        var excess = input.ExcessOverride ?? (a.DefaultExcess == "redistribute" ? ExcessPolicy.Redistribute : ExcessPolicy.Unassigned);

        var companies = input.Companies.OrderBy(c => c.Id, Ord).ToList();
        var companyById = companies.ToDictionary(c => c.Id, Ord);
        var works = input.Works.OrderBy(w => w.Work.Id, Ord).ToList();
        var workById = works.ToDictionary(w => w.Work.Id, Ord);
        var claims = input.Claims.OrderBy(c => c.CompanyId, Ord).ThenBy(c => c.WorkId, Ord).ThenBy(c => c.Role.Role)
            .ThenBy(c => c.SharePercent).ToList();

        var exclusions = new List<Exclusion>(input.ResultExclusions);
        var admitted = Admit(claims, companyById, workById, input.ApplicationYear, a, exclusions);

        // ---- points per paying quota
        var quotas = def.Quotas;
        var resources = new Dictionary<string, decimal>(Ord);
        foreach (var q in quotas)
            resources[q.Id] = (q.ParentId is null ? input.Budget : resources[q.ParentId]) * q.SharePercent / 100m;
        var pays = quotas.Where(q => !q.Reserved && quotas.All(s => s.ParentId != q.Id)).Select(q => q.Id).ToHashSet(Ord);
        var parts = quotas.ToDictionary(q => q.Id, _ => new List<Part>(), Ord);
        var scoreCache = new Dictionary<(string, Role), RoleScore>();
        var flags = new Dictionary<string, (SortedSet<string> Provisional, SortedSet<string> Missing)>(Ord);
        foreach (var c in admitted)
        {
            var yw = workById[c.WorkId];
            foreach (var (quotaId, points) in PointsOf(rs, yw, c, scoreCache, flags))
            {
                var p = points * c.SharePercent / 100m;
                if (p != 0m && pays.Contains(quotaId))
                    parts[quotaId].Add(new Part(c, quotaId, yw.Work.ShortFilm, p));
            }
        }

        // ---- money per paying quota
        var outcomes = new List<QuotaOutcome>();
        var credits = new Dictionary<string, List<CreditOutcome>>(Ord);
        var expires = new DateOnly(input.CreditingYear + (int)a.CreditExpiryYears.Value, 12, 31);
        // The caps a claim's line names: one list per combination, shared by every line (a year has some 100,000).
        string workCapName = $"work cap ({a.WorkCap.Citation})", companyCapName = $"company cap ({a.CompanyCap.Citation})";
        IReadOnlyList<string>[] capsOf = [[], [workCapName], [companyCapName], [workCapName, companyCapName]];
        foreach (var q in quotas)
        {
            var r = resources[q.Id];
            if (!pays.Contains(q.Id))
            {
                // A reserved quota (video games) or a quota paid through its sub-quotas: reported, never spread.
                outcomes.Add(new QuotaOutcome(q, r, false, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, null));
                continue;
            }
            var pool = new Pool(parts[q.Id], r, r * a.WorkCap.Value / 100m, r * a.CompanyCap.Value / 100m, q.ShortFilmsLimitPercent, excess);
            pool.Solve();
            var rounding = Round(pool.Parts, r);
            var byCompany = pool.Parts.ToLookup(p => p.Claim.CompanyId, Ord);
            foreach (var (companyId, exact, amount, giveBack) in rounding.Companies)
            {
                var mine = byCompany[companyId];
                var caps = mine.Where(p => p.WorkCapped).Select(p => $"work cap ({a.WorkCap.Citation}): {p.Claim.WorkId}").Distinct()
                    .Concat(mine.Any(p => p.CompanyCapped) ? [$"company cap ({a.CompanyCap.Citation})"] : []).ToList();
                var lines = mine.OrderBy(p => p.Claim.WorkId, Ord).ThenBy(p => p.Claim.Role.Role).Select(p => new CreditLine(p.Claim.WorkId,
                    p.Claim.Role.Role, p.Claim.SharePercent, p.Points, p.BeforeCaps, p.BeforeCaps - p.AfterWorkCap, p.AfterWorkCap - p.Exact,
                    p.Exact, capsOf[(p.WorkCapped ? 1 : 0) + (p.CompanyCapped ? 2 : 0)], p.ShortFilmsPool)).ToList();
                (credits.TryGetValue(companyId, out var list) ? list : credits[companyId] = []).Add(new CreditOutcome(q.Id,
                    mine.Sum(p => p.Points), exact, amount, caps, giveBack, input.CreditingYear, expires)
                {
                    Lines = lines, Rounding = amount - lines.Sum(l => Account.Quantize(l.Exact)),
                });
            }
            var pools = pool.Money.Select(m => Account.OfPool(m, excess == ExcessPolicy.Redistribute)).ToList();
            outcomes.Add(new QuotaOutcome(q, r, true, pool.TotalPoints, pool.PointValue, rounding.Allocated, pool.Allocated,
                pool.CutByWorkCap, pool.CutByCompanyCap, r - pool.Allocated, pool.Allocated - rounding.Allocated,
                pool.WorkCap, pool.CompanyCap, pool.ShortFilms)
            {
                Account = Account.OfQuota(pools, rounding.Allocated),
                Pools = pools.Count < 2 ? [] :
                [
                    new PoolAccount("short_films", pool.Money[0].Points, pool.ShortFilms!.PointValue, pools[0]),
                    new PoolAccount("other_works", pool.Money[1].Points, pool.ShortFilms!.OtherPointValue, pools[1]),
                ],
            });
        }

        // ---- statements
        var companyOutcomes = companies.Select(c =>
        {
            var list = credits.GetValueOrDefault(c.Id) ?? [];
            return new CompanyOutcome(c.Id, c.Name, list.Sum(x => x.Amount), list);
        }).ToList();
        var partsByWork = parts.Values.SelectMany(p => p).GroupBy(p => p.Claim.WorkId, Ord).ToDictionary(g => g.Key, g => g.ToList(), Ord);
        var quotaOrder = quotas.Select((q, i) => (q.Id, i)).ToDictionary(x => x.Id, x => x.i, Ord);
        var workOutcomes = works.Select(yw =>
        {
            var mine = partsByWork.GetValueOrDefault(yw.Work.Id) ?? [];
            var claimOutcomes = mine.OrderBy(p => p.Claim.CompanyId, Ord).ThenBy(p => p.Claim.Role.Role).ThenBy(p => quotaOrder[p.QuotaId])
                .Select(p => new ClaimOutcome(p.Claim.CompanyId, p.Claim.Role.Role, p.Claim.SharePercent, p.QuotaId, p.Points, p.Exact,
                    p.WorkCapped, p.CompanyCapped, p.ShortFilmsPool)
                {
                    BeforeCaps = p.BeforeCaps, CutByWorkCap = p.BeforeCaps - p.AfterWorkCap, CutByCompanyCap = p.AfterWorkCap - p.Exact,
                }).ToList();
            var shares = new List<AuthorShareOutcome>();
            if (a.AuthorsShares is { } au)
            {
                var producers = mine.Where(p => au.Roles.Contains(p.Claim.Role.Role)).Sum(p => p.Exact);
                if (producers > 0)
                    shares.AddRange(au.Categories.Select(cat => new AuthorShareOutcome(cat, au.Percent,
                        Math.Round(producers * au.Percent / 100m, 2, MidpointRounding.AwayFromZero), au.Citation)));
            }
            var f = flags.GetValueOrDefault(yw.Work.Id);
            return new WorkOutcome(yw.Work.Id, yw.Work.Title, yw.Given is null,
                Math.Round(mine.Sum(p => p.Exact), 2, MidpointRounding.AwayFromZero), claimOutcomes, shares)
            {
                ProvisionalRows = f.Provisional?.ToList() ?? [], MissingRows = f.Missing?.ToList() ?? [],
            };
        }).ToList();

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
            exclusions.OrderBy(e => e.CompanyId, Ord).ThenBy(e => e.WorkId, Ord).ThenBy(e => e.Role ?? 0).ThenBy(e => e.Field, Ord)
                .ThenBy(e => e.Article, Ord).ThenBy(e => e.Reason, Ord).ToList())
        {
            Overlays = def.AppliedOverlays,
            Reform = def.Reform,
            Account = paying.Aggregate(Reconciliation.Zero, (sum, q) => sum + q.Account!),
            WorksClaimed = claims.GroupBy(c => c.CompanyId, Ord)
                .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Select(c => c.WorkId).Distinct(Ord).ToList(), Ord),
        };
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
    private static List<YearClaim> Admit(List<YearClaim> claims, Dictionary<string, Applicant> companies,
        Dictionary<string, YearWork> works, int year, AllocationDefinition a, List<Exclusion> exclusions)
    {
        var outCompanies = new HashSet<string>(Ord);
        foreach (var c in companies.Values.OrderBy(c => c.Id, Ord))
            if (!c.EeaSeat)
            {
                outCompanies.Add(c.Id);
                exclusions.Add(new Exclusion(c.Id, "", null, "", a.EeaSeatCitation, "registered office outside the European Economic Area: none of its claims counts"));
            }
        var outWorks = new HashSet<string>(Ord);
        foreach (var yw in works.Values.OrderBy(w => w.Work.Id, Ord))
            if (WorkReason(yw, year, a) is { } why)
            {
                outWorks.Add(yw.Work.Id);
                exclusions.Add(new Exclusion("", yw.Work.Id, null, "", why.Article, why.Reason + ": it counts for no claimant"));
            }
        var twice = claims.GroupBy(c => (c.CompanyId, c.WorkId, c.Role.Role)).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        var shares = claims.GroupBy(c => (c.WorkId, c.Role.Role)).ToDictionary(g => g.Key, g => g.Sum(c => c.SharePercent));
        var admitted = new List<YearClaim>(claims.Count);
        foreach (var c in claims)
        {
            if (outCompanies.Contains(c.CompanyId) || outWorks.Contains(c.WorkId)) continue;
            var why = ClaimReason(companies[c.CompanyId], c.Role.Role, works[c.WorkId].Work, a);
            if (why is null && twice.Contains((c.CompanyId, c.WorkId, c.Role.Role)))
                why = (a.RightsSharesCitation, "the company claims this work in this role twice");
            if (why is null && shares[(c.WorkId, c.Role.Role)] is var sum && sum > 100m)
                why = (a.RightsSharesCitation, $"the rights shares claimed on this work in this role add up to {Dec(sum)}%, over 100%");
            if (why is { } w) exclusions.Add(new Exclusion(c.CompanyId, c.WorkId, c.Role.Role, "", w.Article, w.Reason));
            else admitted.Add(c);
        }
        return admitted;
    }

    private static (string Article, string Reason)? ClaimReason(Applicant c, Role role, Work work, AllocationDefinition a)
    {
        if (a.Applicants.TryGetValue(role, out var r))
        {
            // Each role on any of the company's codes, primary or secondary (art. 4.1 asks for the activity, not the primary one).
            if (!c.SecondaryAteco.Prepend(c.Ateco).Any(code => r.Ateco.Any(p => NormalizeAteco(code).StartsWith(NormalizeAteco(p), StringComparison.Ordinal))))
            {
                var why = c.SecondaryAteco.Count == 0 ? $"ATECO {c.Ateco} is not admitted"
                    : $"none of the ATECO codes {c.Ateco} (primary), {string.Join(", ", c.SecondaryAteco)} (secondary) is admitted";
                return (r.Citation, $"{why} for the role {RoleNames.Key(role)} (admitted: {string.Join(", ", r.Ateco)})");
            }
            if (r.IndependentFor.Contains(work.Kind) && c.Independent != true)
                return (r.Citation, $"{(work.Kind == WorkKind.TvWeb ? "TV and web works" : "these works")} are for independent producers only, and the company is not declared independent");
        }
        if (a.NetWorthMinimum is { } nw)
        {
            var minimum = work.ShortFilm && a.NetWorthMinimumShortFilms is { } s ? s : nw.Value;
            if (c.NetWorth < minimum)
                return (nw.Citation, $"net worth EUR {Dec(c.NetWorth)} is below EUR {Dec(minimum)}{(work.ShortFilm ? " (short film)" : "")}");
        }
        return null;
    }

    private static (string Article, string Reason)? WorkReason(YearWork yw, int year, AllocationDefinition a)
    {
        if (!yw.Eligible)
            return (a.EligibleWorksCitation, "the work is not declared eligible (Italian nationality, deposit, tax-credit requirements, type)");
        if (yw.FirstExploitation is { } first && first.Year > year && a.FirstExploitation is { } fe)
            return (fe.NotYetCitation, $"first exploited in {first.Year}: the work competes from the application for {first.Year}");
        var w = yw.Work;
        if (w.Coproduction != CoproductionKind.None && a.Coproduction is { } cp)
        {
            var reduced = w.Coproduction == CoproductionKind.Multilateral || w.ProductionCost >= cp.ReducedFromCost;
            var threshold = reduced ? cp.ReducedShare : cp.MinimumShare;
            if (w.ItalianSharePercent is not { } share)
                return (cp.Citation, "a co-production needs its Italian share of rights (italian_share_percent)");
            if (share < threshold)
                return (cp.Citation, $"Italian share {Dec(share)}% is below the {Dec(threshold)}% of a {(w.Coproduction == CoproductionKind.Multilateral ? "multilateral" : reduced ? "bilateral co-production costing at least EUR " + Dec(cp.ReducedFromCost) : "bilateral co-production")}");
        }
        return null;
    }

    /// <summary>"J 59.11" and "59.11.00" to digits and dots, for prefix matching ("59.1" admits 59.11 ... 59.14).</summary>
    private static string NormalizeAteco(string code) => new(code.Where(ch => char.IsAsciiDigit(ch) || ch == '.').ToArray());

    // ------------------------------------------------------------------ points

    private static IEnumerable<(string QuotaId, decimal Points)> PointsOf(CompiledRuleSet rs, YearWork yw, YearClaim c,
        Dictionary<(string, Role), RoleScore> cache, Dictionary<string, (SortedSet<string> Provisional, SortedSet<string> Missing)> flags)
    {
        if (yw.Given is { } given)
            return given.Where(g => g.Role == c.Role.Role).GroupBy(g => g.QuotaId, Ord).Select(g => (g.Key, g.Sum(x => x.Points)));
        // A claim without facts of its own (a producer's, say) scores the same as any other of its work and role.
        var plain = c.Role.ContractSignedOn is null && c.Role.DistributionCost is null && c.Role.ForeignSales.Count == 0 &&
                    c.Role.HomeEntertainmentSales.Count == 0;
        if (!plain || !cache.TryGetValue((yw.Work.Id, c.Role.Role), out var score))
        {
            score = rs.Score(yw.Work, [c.Role], ScoreOptions.TotalsOnly).Roles[0];
            if (plain) cache[(yw.Work.Id, c.Role.Role)] = score;
        }
        if (score.ProvisionalRows.Count + score.MissingRows.Count > 0)
        {
            if (!flags.TryGetValue(yw.Work.Id, out var f)) flags[yw.Work.Id] = f = (new(Ord), new(Ord));
            f.Provisional.UnionWith(score.ProvisionalRows);
            f.Missing.UnionWith(score.MissingRows);
        }
        return score.Quotas.Select(q => (q.QuotaId, q.Points));
    }

    // ------------------------------------------------------------------ rounding (reading guide 7)

    private sealed record Rounding(decimal Allocated, List<(string CompanyId, decimal Exact, decimal Amount, bool GiveBack)> Companies);

    /// <summary>
    /// Each company's amount in the sub-quota to the cent, half away from zero; while the rounded sum exceeds the
    /// resources, one cent back from the company that gained most from rounding (ties: the smaller company id).
    /// </summary>
    private static Rounding Round(IReadOnlyList<Part> parts, decimal resources)
    {
        var rows = parts.GroupBy(p => p.Claim.CompanyId, Ord).OrderBy(g => g.Key, Ord)
            .Select(g => (Id: g.Key, Exact: g.Sum(p => p.Exact))).ToList();
        var amounts = rows.Select(r => Math.Round(r.Exact, 2, MidpointRounding.AwayFromZero)).ToArray();
        var giveBack = new bool[rows.Count];
        var sum = amounts.Sum();
        while (sum > resources)
        {
            var best = -1;
            for (var i = 0; i < rows.Count; i++)
                if (amounts[i] > 0 && (best < 0 || amounts[i] - rows[i].Exact > amounts[best] - rows[best].Exact)) best = i;
            if (best < 0) break;
            amounts[best] -= Cent;
            giveBack[best] = true;
            sum -= Cent;
        }
        return new Rounding(sum, rows.Select((r, i) => (r.Id, r.Exact, amounts[i], giveBack[i])).ToList());
    }

    // ------------------------------------------------------------------ one paying (sub-)quota

    /// <summary>A claim's points in one paying quota, and what they are paid.</summary>
    private sealed class Part(YearClaim claim, string quotaId, bool shortFilm, decimal points)
    {
        public YearClaim Claim { get; } = claim;
        public string QuotaId { get; } = quotaId;
        public bool ShortFilm { get; } = shortFilm;
        public decimal Points { get; } = points;
        public decimal WorkCapShare { get; set; }     // its pro-rata share of its work's cap
        public decimal CompanyCapShare { get; set; }  // its company's cap in its pool
        public decimal Exact { get; set; }
        public decimal BeforeCaps { get; set; }     // points x the point value paid in its pool
        public decimal AfterWorkCap { get; set; }   // after the work cap, before the company cap
        public bool WorkCapped { get; set; }
        public bool CompanyCapped { get; set; }
        public bool ShortFilmsPool { get; set; }
    }

    /// <summary>
    /// The money of one paying quota (reading guide 2 and 7): point value, the short-film limit as two pools, the
    /// per-work then per-company caps, and the excess policy. Amount of a part at point value v:
    /// min(points x v, its share of the work cap), then scaled down to its company's cap.
    /// </summary>
    private sealed class Pool(List<Part> parts, decimal resources, decimal workCap, decimal companyCap, decimal? shortsLimit,
        ExcessPolicy excess)
    {
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

        public void Solve()
        {
            TotalPoints = parts.Sum(p => p.Points);
            foreach (var g in parts.GroupBy(p => p.Claim.WorkId, Ord))
            {
                var workPoints = g.Sum(p => p.Points);
                foreach (var p in g) p.WorkCapShare = workCap * p.Points / workPoints;
            }
            if (TotalPoints == 0m)
            {
                if (shortsLimit is { } l) ShortFilms = new ShortFilmsOutcome(l, false, 0, 0, 0, 0);
                Money.Add(new Account.PoolMoney(Account.Quantize(resources), 0, 0, 0, 0, false));
                return;
            }
            var common = resources / TotalPoints;
            List<(List<Part> Parts, decimal Resources)> pools = [(parts, resources)];
            if (shortsLimit is { } limit)
            {
                var shorts = parts.Where(p => p.ShortFilm).ToList();
                var shortPoints = shorts.Sum(p => p.Points);
                var limitAmount = resources * limit / 100m;
                var binding = Over(shortPoints * common, limitAmount);
                if (binding)
                {
                    var others = parts.Where(p => !p.ShortFilm).ToList();
                    foreach (var p in shorts) p.ShortFilmsPool = true;
                    pools = [(shorts, limitAmount), (others, resources - limitAmount)];
                    var otherPoints = TotalPoints - shortPoints;
                    ShortFilms = new ShortFilmsOutcome(limit, true, shortPoints, limitAmount, limitAmount / shortPoints,
                        otherPoints == 0 ? 0 : (resources - limitAmount) / otherPoints);
                }
                else ShortFilms = new ShortFilmsOutcome(limit, false, shortPoints, shortPoints * common, common, common);
            }
            SplitCompanyCaps(pools);
            var values = new List<decimal>();
            foreach (var (ps, r) in pools)
            {
                var v = SolvePool(ps, r);
                values.Add(v);
                if (ps.Count > 0 && (pools.Count == 1 || !ps[0].ShortFilmsPool)) PointValue = v;
            }
            Allocated = parts.Sum(p => p.Exact);
            // The short-film line says the point values paid, as the point-value column does (under redistribute, the
            // water level of each pool, not the nominal resources / points).
            if (ShortFilms is { Binding: true } bound) ShortFilms = bound with { PointValue = values[0], OtherPointValue = values[1] };
            else if (ShortFilms is { } free) ShortFilms = free with { PointValue = PointValue, OtherPointValue = PointValue };
            // The account: each pool's resources to the published scale, the shorts' first and the others' the rest.
            var whole = Account.Quantize(resources);
            for (var i = 0; i < pools.Count; i++)
            {
                var (ps, r) = pools[i];
                var (w, c) = NominalCuts(ps, r);
                var quantized = i == pools.Count - 1 ? whole - Money.Sum(m => m.Resources) : Account.Quantize(r);
                Money.Add(new Account.PoolMoney(quantized, ps.Sum(p => p.Points), ps.Sum(p => p.Exact), w, c, pools.Count > 1 && i == 1));
            }
        }

        /// <summary>
        /// The caps' cuts at the pool's nominal point value v0 = resources / points (reading guide 7): W, each work's
        /// v0 x points above its cap; C, each company's amount after the work cap above its cap.
        /// </summary>
        private (decimal Work, decimal Company) NominalCuts(List<Part> ps, decimal r)
        {
            var points = ps.Sum(p => p.Points);
            if (points == 0) return (0, 0);
            var v0 = r / points;
            decimal w = 0, c = 0;
            var afterWork = new Dictionary<Part, decimal>();
            foreach (var g in ps.GroupBy(p => p.Claim.WorkId, Ord))
            {
                var amount = g.Sum(p => p.Points) * v0;
                var capped = Over(amount, workCap);
                if (capped) w += amount - workCap;
                foreach (var p in g) afterWork[p] = capped ? p.WorkCapShare : p.Points * v0;
            }
            foreach (var g in ps.GroupBy(p => p.Claim.CompanyId, Ord))
            {
                var sum = g.Sum(p => afterWork[p]);
                var cap = g.First().CompanyCapShare;
                if (Over(sum, cap)) c += sum - cap;
            }
            return (w, c);
        }

        /// <summary>
        /// Each company's cap per pool: the whole cap, or, for a company in both pools of a binding short-film limit,
        /// the cap split pro rata to its amounts after the work cap at each pool's point value (reading guide 7).
        /// </summary>
        private void SplitCompanyCaps(List<(List<Part> Parts, decimal Resources)> pools)
        {
            foreach (var p in parts) p.CompanyCapShare = companyCap;
            if (pools.Count < 2) return;
            var nominal = new Dictionary<Part, decimal>();
            foreach (var (ps, r) in pools)
            {
                var points = ps.Sum(p => p.Points);
                foreach (var p in ps) nominal[p] = points == 0 ? 0 : Math.Min(p.Points * (r / points), p.WorkCapShare);
            }
            foreach (var g in parts.GroupBy(p => p.Claim.CompanyId, Ord))
            {
                var total = g.Sum(p => nominal[p]);
                if (total == 0 || g.Select(p => p.ShortFilmsPool).Distinct().Count() < 2) continue;
                foreach (var pool in g.GroupBy(p => p.ShortFilmsPool))
                {
                    var cap = companyCap * pool.Sum(p => nominal[p]) / total;
                    foreach (var p in pool) p.CompanyCapShare = cap;
                }
            }
        }

        /// <summary>
        /// Water filling (reading guide 7, redistribute): the common point value v at which the capped sum
        /// S(v) = sum over companies of min(company cap, sum of min(points x v, share of the work cap)) equals the resources.
        /// S is piecewise linear and increasing; v rises from 0 through the values at which a work or a company reaches its
        /// cap (each frozen there, in order), until the uncapped rest absorbs what is left. Everyone capped: v stops at the
        /// last such value and the rest stays unassigned. A value exactly at a cap is not capped.
        /// </summary>
        private decimal WaterLevel(decimal r, Dictionary<string, decimal> workPoints, List<IGrouping<string, Part>> companies,
            HashSet<string> cappedWorks, HashSet<string> cappedCompanies)
        {
            var v = 0m;
            while (true)
            {
                decimal fixedSum = 0, slope = 0;
                var next = decimal.MaxValue;
                foreach (var g in companies)
                {
                    var cap = g.First().CompanyCapShare;
                    if (cappedCompanies.Contains(g.Key)) { fixedSum += cap; continue; }
                    decimal fixedK = 0, slopeK = 0;
                    foreach (var p in g)
                        if (cappedWorks.Contains(p.Claim.WorkId)) fixedK += p.WorkCapShare;
                        else slopeK += p.Points;
                    fixedSum += fixedK;
                    slope += slopeK;
                    if (slopeK > 0) next = Math.Min(next, Math.Max(v, (cap - fixedK) / slopeK));
                }
                foreach (var (w, wp) in workPoints)
                    if (!cappedWorks.Contains(w)) next = Math.Min(next, workCap / wp);
                if (slope == 0) return v; // everyone capped: the rest is unassigned
                var target = (r - fixedSum) / slope;
                if (next >= target) return target;
                v = next;
                var froze = false;
                foreach (var (w, wp) in workPoints)
                    if (!cappedWorks.Contains(w) && !Over(workCap, wp * v)) froze |= cappedWorks.Add(w);
                foreach (var g in companies)
                {
                    if (cappedCompanies.Contains(g.Key)) continue;
                    decimal amount = 0;
                    foreach (var p in g) amount += cappedWorks.Contains(p.Claim.WorkId) ? p.WorkCapShare : p.Points * v;
                    if (!Over(g.First().CompanyCapShare, amount)) froze |= cappedCompanies.Add(g.Key);
                }
                if (!froze) return target; // nothing reached its cap after all (decimal rounding): the level is the target
            }
        }

        /// <summary>
        /// The point value of one pool and its parts' amounts. Unassigned: v = resources / points, caps cut. Redistribute: the
        /// water level of <see cref="WaterLevel"/>.
        /// </summary>
        private decimal SolvePool(List<Part> ps, decimal r)
        {
            var points = ps.Sum(p => p.Points);
            if (points == 0) return 0;
            var v = r / points;
            var workPoints = ps.GroupBy(p => p.Claim.WorkId, Ord).ToDictionary(g => g.Key, g => g.Sum(p => p.Points), Ord);
            var companies = ps.GroupBy(p => p.Claim.CompanyId, Ord).ToList();
            // Under redistribute, whoever the water level froze is capped, also when it stopped exactly at the cap
            // because everyone was capped.
            var frozenWorks = new HashSet<string>(Ord);
            var frozenCompanies = new HashSet<string>(Ord);
            if (excess == ExcessPolicy.Redistribute) v = WaterLevel(r, workPoints, companies, frozenWorks, frozenCompanies);
            foreach (var g in companies)
            {
                decimal sum = 0;
                foreach (var p in g)
                {
                    var uncapped = p.Points * v;
                    p.WorkCapped = frozenWorks.Contains(p.Claim.WorkId) || Over(workPoints[p.Claim.WorkId] * v, workCap);
                    p.Exact = p.WorkCapped ? p.WorkCapShare : uncapped;
                    p.BeforeCaps = uncapped;
                    p.AfterWorkCap = p.Exact;
                    CutByWorkCap += uncapped - p.Exact;
                    sum += p.Exact;
                }
                var cap = g.First().CompanyCapShare;
                if (Over(sum, cap) || frozenCompanies.Contains(g.Key))
                {
                    foreach (var p in g)
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
