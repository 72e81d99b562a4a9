using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Engine.Allocation;

/// <summary>What happens to the amounts cut by the caps of art. 6.4 (reading guide 2).</summary>
public enum ExcessPolicy { Unassigned, Redistribute }

/// <summary>An applicant company and the facts of art. 4 and 14.2; <paramref name="Ateco"/> its primary activity's code.</summary>
public sealed record Applicant(string Id, string Name, string Ateco, bool? Independent, bool EeaSeat, decimal NetWorth)
{
    /// <summary>The secondary activities' ATECO codes, as the business register lists them.</summary>
    public IReadOnlyList<string> SecondaryAteco { get; init; } = [];
}

/// <summary>Points of one role in one quota, given by the caller (a replay of scores made elsewhere).</summary>
public sealed record GivenPoints(Role Role, string QuotaId, decimal Points);

/// <summary>A work of the year: scored by the rule set, or with its points given (<see cref="Given"/> not null).</summary>
public sealed record YearWork(Work Work, bool Eligible, DateOnly? FirstExploitation, IReadOnlyList<GivenPoints>? Given);

/// <summary>A company's claim on a work in a role, with its own facts and its share of the rights (art. 5.7).</summary>
public sealed record YearClaim(string CompanyId, string WorkId, RoleInput Role, decimal SharePercent);

/// <summary>
/// A year of applications, validated, in the engine's terms: the works and claims with every dated result declared (the
/// allocation keeps out those that do not count in the year, <see cref="ResultAdmission"/>).
/// </summary>
public sealed record AllocationInput(
    CompiledRuleSet RuleSet, string Resolution, int ApplicationYear, int CreditingYear, decimal Budget,
    ExcessPolicy? ExcessOverride, IReadOnlyList<Applicant> Companies, IReadOnlyList<YearWork> Works,
    IReadOnlyList<YearClaim> Claims)
{
    /// <summary>
    /// The lists that class the works (art. 2.f-h) when not the rule set's own: a golden case's test lists (an agreement
    /// given a date it does not have yet). Null: the rule set's.
    /// </summary>
    public CoproductionClassifier? Coproductions { get; init; }
}

/// <summary>The short-film limit of a sub-quota (art. 3.3) and whether it bound.</summary>
public sealed record ShortFilmsOutcome(decimal LimitPercent, bool Binding, decimal Points, decimal Resources, decimal PointValue,
    decimal OtherPointValue);

/// <summary>
/// One quota or sub-quota and what it paid. <see cref="CutByWorkCap"/> and <see cref="CutByCompanyCap"/> are what the caps
/// cut from the claimants at the point value paid (under redistribute, part of it is paid to others); the
/// reconciliation of the resources is <see cref="Account"/>.
/// </summary>
public sealed record QuotaOutcome(
    QuotaDefinition Quota, decimal Resources, bool Pays, decimal TotalPoints, decimal PointValue, decimal Allocated,
    decimal ExactAllocated, decimal CutByWorkCap, decimal CutByCompanyCap, decimal Unassigned, decimal RoundingResidue,
    decimal WorkCap, decimal CompanyCap, ShortFilmsOutcome? ShortFilms)
{
    /// <summary>A paying (sub-)quota's reconciliation (reading guide 7); null for a reserved quota or one paid through its sub-quotas.</summary>
    public Reconciliation? Account { get; init; }

    /// <summary>The two pools of a binding short-film limit, each reconciled; empty otherwise.</summary>
    public IReadOnlyList<PoolAccount> Pools { get; init; } = [];
}

/// <summary>A credit to a company in one quota (art. 6.3), with its expiry (art. 12.5).</summary>
public sealed record CreditOutcome(string QuotaId, decimal Points, decimal Exact, decimal Amount, IReadOnlyList<string> Caps,
    bool GiveBack, int CreditingYear, DateOnly ExpiresOn)
{
    /// <summary>One line per claim (work and role) credited here, in work id order.</summary>
    public IReadOnlyList<ClaimOutcome> Lines { get; init; } = [];

    /// <summary>
    /// The amount minus the lines' exact amounts as published (to <see cref="Allocation.Account.Scale"/> decimals):
    /// the lines and this sum to the amount exactly.
    /// </summary>
    public decimal Rounding { get; init; }
}

public sealed record CompanyOutcome(string Id, string Name, decimal Total, IReadOnlyList<CreditOutcome> Credits);

/// <summary>
/// One claim's points and amounts in one paying (sub-)quota: a part of the allocation. The work's statement
/// (<see cref="WorkOutcome.Claims"/>) and the company's credit (<see cref="CreditOutcome.Lines"/>) list the same objects,
/// the ones the allocator solved the quota with: no record is copied per claim, line or statement.
/// </summary>
public sealed class ClaimOutcome
{
    internal ClaimOutcome(YearClaim claim, QuotaParts quota, int work, int company, bool shortFilm, decimal points) =>
        (Claim, Of, Work, Company, ShortFilm, Points) = (claim, quota, work, company, shortFilm, points);

    internal YearClaim Claim { get; }
    public string CompanyId => Claim.CompanyId;
    public string WorkId => Claim.WorkId;
    public Role Role => Claim.Role.Role;
    public decimal SharePercent => Claim.SharePercent;
    public string QuotaId => Of.QuotaId;
    public decimal Points { get; }

    /// <summary>The amount credited, exact (before the company's rounding to the cent).</summary>
    public decimal Exact { get; internal set; }

    /// <summary>Points x the point value paid in its pool, before the caps.</summary>
    public decimal BeforeCaps => Points * Of.PointValues[ShortFilmsPool ? 1 : 0];

    /// <summary>What the work cap cut from it (its pro-rata share of the work's excess).</summary>
    public decimal CutByWorkCap => BeforeCaps - AfterWorkCap;

    /// <summary>What the company cap then cut from it (its pro-rata share of the company's excess).</summary>
    public decimal CutByCompanyCap => AfterWorkCap - Exact;

    public bool WorkCapped { get; internal set; }
    public bool CompanyCapped { get; internal set; }
    public bool ShortFilmsPool { get; internal set; }

    /// <summary>The caps its line names (the work cap's, the company cap's, as the rule set cites them).</summary>
    public IReadOnlyList<string> Caps => Of.CapNames[(WorkCapped ? 1 : 0) + (CompanyCapped ? 2 : 0)];

    // ---- the allocator's own, while it solves the quota (a year has some 100,000 parts: each field is some MB)
    internal readonly QuotaParts Of;      // what its quota's parts share: the quota's id and position, the caps' names, the point values paid
    internal readonly bool ShortFilm;
    internal decimal AfterWorkCap;        // after the work cap, before the company cap (scratch while the company caps are split)
    internal readonly int Work;           // its work's position in the year's works (id order): the key the pools group by
    internal readonly int Company;        // its company's position in the year's companies (id order): the key the pools group by
    internal int Order;                   // while its quota is solved, its position in the quota's parts; then among its work's parts before they are sorted
}

/// <summary>What every part of a paying (sub-)quota shares, held once for all of them.</summary>
internal sealed class QuotaParts(string quotaId, int position, IReadOnlyList<string>[] capNames)
{
    public string QuotaId { get; } = quotaId;

    /// <summary>The quota's position in the manifest.</summary>
    public int Position { get; } = position;

    /// <summary>The caps a part's line names: none, the work cap, the company cap, both.</summary>
    public IReadOnlyList<string>[] CapNames { get; } = capNames;

    /// <summary>The point value paid in each pool: the quota's (or, under a binding short-film limit, the other works'), the short films'.</summary>
    public decimal[] PointValues { get; } = new decimal[2];
}

public sealed record AuthorShareOutcome(string Category, decimal Percent, decimal Amount, string Citation);

/// <summary>
/// A work's authors' shares: one per category the rule set names, each the same percent and amount (the share of what its
/// producers were credited). One object per work; each <see cref="AuthorShareOutcome"/> is made when read.
/// </summary>
public sealed class AuthorShares(AuthorsSharesDefinition definition, decimal amount) : IReadOnlyList<AuthorShareOutcome>
{
    public AuthorsSharesDefinition Definition { get; } = definition;

    /// <summary>Each category's amount (the same for all).</summary>
    public decimal Amount { get; } = amount;

    public int Count => Definition.Categories.Count;

    public AuthorShareOutcome this[int index] => new(Definition.Categories[index], Definition.Percent, Amount, Definition.Citation);

    public IEnumerator<AuthorShareOutcome> GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <param name="Claims">Its parts: a segment of one array of every part of the year, sorted per work (held in the record, not boxed).</param>
public sealed record WorkOutcome(string Id, string Title, bool ScoredHere, decimal Amount, ArraySegment<ClaimOutcome> Claims,
    IReadOnlyList<AuthorShareOutcome> AuthorShares)
{
    /// <summary>Rows with a provisional figure that scored for this work.</summary>
    public IReadOnlyList<string> ProvisionalRows { get; init; } = [];

    /// <summary>Rows with no known figure that this work needed: its points are incomplete.</summary>
    public IReadOnlyList<string> MissingRows { get; init; } = [];

    /// <summary>Its category by its producers' States (art. 2.f-h) and the art. 5.8 threshold it answered to.</summary>
    public CoproductionStatus? Coproduction { get; init; }
}

/// <summary>The whole allocation of a year.</summary>
public sealed record AllocationOutcome(
    string RuleSetId, string ContentHash, string Resolution, int ApplicationYear, int CreditingYear, decimal Budget,
    ExcessPolicy Excess, bool ExcessFromRequest, IReadOnlyList<QuotaOutcome> Quotas, decimal Allocated, decimal Unassigned,
    decimal Reserved, decimal RoundingResidue, int ClaimCount, IReadOnlyList<string> WorksNotScored, IReadOnlyList<string> Policies,
    IReadOnlyList<CompanyOutcome> Companies, IReadOnlyList<WorkOutcome> Works, IReadOnlyList<Exclusion> Exclusions)
{
    /// <summary>The overlays applied to the version (e.g. covid-19).</summary>
    public IReadOnlyList<string> Overlays { get; init; } = [];

    /// <summary>The what-if reform the rule set was changed by, or null.</summary>
    public Rules.AppliedReform? Reform { get; init; }

    /// <summary>The paying (sub-)quotas' accounts summed: budget = this account's resources + reserved.</summary>
    public Reconciliation Account { get; init; } = Reconciliation.Zero;

    /// <summary>Per company, the works it claims (admitted or not), in id order: what its statement covers.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> WorksClaimed { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
}

/// <summary>The rule set cannot allocate (it has no allocation block in its manifest).</summary>
public sealed class AllocationNotSupportedException(string message) : Exception(message);
