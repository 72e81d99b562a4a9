namespace ContributiAutomatici.Engine.Allocation;

/// <summary>
/// The account of a paying (sub-)quota, of one of its pools, or of the whole year (reading guide 7): its resources R
/// = allocated + unassigned + rounding residue, the unassigned money split by cause, and, under <c>redistribute</c>,
/// the money the caps cut at the nominal point value and paid to others (moved, not lost: inside the allocated).
/// Figures are to <see cref="Account.Scale"/> decimals, the scale the result publishes, so the parts sum exactly as
/// published; every part is &gt;= 0 and at most the resources.
/// </summary>
/// <param name="Allocated">The credits (rounded); for a pool, the exact amounts (rounding is per company per sub-quota).</param>
/// <param name="UnassignedWorkCap">Cut by the work cap and not paid to anyone (art. 6.4.a).</param>
/// <param name="UnassignedCompanyCap">Cut by the company cap and not paid to anyone (art. 6.4.b).</param>
/// <param name="UnassignedShortFilmsLimit">The other works' pool when only short films claim (art. 3.3).</param>
/// <param name="UnassignedNoClaimant">A (sub-)quota or pool without points.</param>
/// <param name="RoundingResidue">Exact allocated minus the credits (negative when rounding up gave more); a pool has none.</param>
/// <param name="Redistributed">Under redistribute: cut by the caps at the nominal point value and paid to the others.</param>
public sealed record Reconciliation(
    decimal Resources, decimal Allocated, decimal UnassignedWorkCap, decimal UnassignedCompanyCap, decimal UnassignedShortFilmsLimit,
    decimal UnassignedNoClaimant, decimal RoundingResidue, decimal Redistributed)
{
    public decimal Unassigned => UnassignedWorkCap + UnassignedCompanyCap + UnassignedShortFilmsLimit + UnassignedNoClaimant;

    public static readonly Reconciliation Zero = new(0, 0, 0, 0, 0, 0, 0, 0);

    public static Reconciliation operator +(Reconciliation a, Reconciliation b) => new(a.Resources + b.Resources, a.Allocated + b.Allocated,
        a.UnassignedWorkCap + b.UnassignedWorkCap, a.UnassignedCompanyCap + b.UnassignedCompanyCap,
        a.UnassignedShortFilmsLimit + b.UnassignedShortFilmsLimit, a.UnassignedNoClaimant + b.UnassignedNoClaimant,
        a.RoundingResidue + b.RoundingResidue, a.Redistributed + b.Redistributed);
}

/// <summary>One pool of a sub-quota whose short-film limit binds (art. 3.3): "short_films" or "other_works".</summary>
public sealed record PoolAccount(string Pool, decimal Points, decimal PointValue, Reconciliation Account);

/// <summary>Building the account (reading guide 7).</summary>
public static class Account
{
    /// <summary>Decimals of the account's figures: those of the result's exact amounts.</summary>
    public const int Scale = 10;

    public static decimal Quantize(decimal d) => Math.Round(d, Scale, MidpointRounding.AwayFromZero);

    /// <summary>
    /// A claim's line as written: before the caps and the exact amount to <see cref="Scale"/> decimals, and the cuts
    /// such that before - work cut - company cut = exact holds as written: the last digit rounding leaves goes to a cap
    /// that cut something (the company cap's first); a cap that cut nothing shows 0, no cut is below 0.
    /// </summary>
    public static (decimal Before, decimal WorkCut, decimal CompanyCut, decimal Exact) Written(ClaimOutcome l) =>
        Written(l.BeforeCaps, l.CutByWorkCap, l.CutByCompanyCap, l.Exact);

    public static (decimal Before, decimal WorkCut, decimal CompanyCut, decimal Exact) Written(decimal before, decimal workCut, decimal companyCut,
        decimal exact)
    {
        var (b, e) = (Quantize(before), Quantize(exact));
        var (w, c) = (Math.Max(0, Quantize(workCut)), Math.Max(0, Quantize(companyCut)));
        if (c > 0) c = b - w - e;
        else if (w > 0) w = b - e;
        else if (b != e) b = e; // nothing cut: before = exact, whatever the last digit
        if (c < 0 || w < 0) (b, w, c) = (e + Math.Max(0, w) + Math.Max(0, c), Math.Max(0, w), Math.Max(0, c));
        return (b, w, c, e);
    }

    /// <summary>The money of one pool, as measured by the allocation.</summary>
    /// <param name="Resources">Its resources, already to <see cref="Scale"/> decimals.</param>
    /// <param name="Exact">The exact amounts it paid.</param>
    /// <param name="WorkCut">W: each work's amount at the nominal value above the work cap.</param>
    /// <param name="CompanyCut">C: each company's amount after the work cap, at the nominal value, above its cap.</param>
    /// <param name="OthersOfLimit">The other works' pool of a binding short-film limit.</param>
    internal sealed record PoolMoney(decimal Resources, decimal Points, decimal Exact, decimal WorkCut, decimal CompanyCut, bool OthersOfLimit);

    /// <summary>
    /// A pool's account: U = R - exact allocated; no points: U is the short-film limit's (the others' pool of a binding
    /// limit) or no claimant's; otherwise U is split between the caps in proportion to W and C, and under redistribute
    /// redistributed = W + C - U. Allocated is the exact amount; the rounding residue belongs to the sub-quota.
    /// </summary>
    internal static Reconciliation OfPool(PoolMoney m, bool redistribute)
    {
        var r = m.Resources;
        var unassigned = Math.Clamp(r - Quantize(m.Exact), 0, r);
        var allocated = r - unassigned;
        if (m.Points == 0)
            return m.OthersOfLimit
                ? new Reconciliation(r, allocated, 0, 0, unassigned, 0, 0, 0)
                : new Reconciliation(r, allocated, 0, 0, 0, unassigned, 0, 0);
        var cuts = m.WorkCut + m.CompanyCut;
        var byWork = cuts == 0 ? unassigned : Math.Min(unassigned, Quantize(unassigned * m.WorkCut / cuts));
        var moved = redistribute ? Math.Clamp(Quantize(cuts) - unassigned, 0, allocated) : 0;
        return new Reconciliation(r, allocated, byWork, unassigned - byWork, 0, 0, 0, moved);
    }

    /// <summary>A sub-quota's account: its pools' summed, allocated as the credits, the residue what rounding took.</summary>
    internal static Reconciliation OfQuota(IEnumerable<Reconciliation> pools, decimal credits)
    {
        var sum = pools.Aggregate(Reconciliation.Zero, (a, b) => a + b);
        return sum with { Allocated = credits, RoundingResidue = sum.Allocated - credits };
    }
}
