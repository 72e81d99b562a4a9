namespace ContributiAutomatici.Engine.Model;

/// <summary>
/// A scale of marginal bands as a rule file defines it (<c>producer_scale: { scale: [[tier_1_up_to, tier_1_eur_per_point], ...] }</c>):
/// each band an upper bound and the euro per point within it, rising. Rules hand it whole to <c>Tiers</c> and <c>TiersOf</c>; its
/// bands are the row's figures, read by the compiled class when it is created, so a scale is never spelt out in an expression.
/// </summary>
public sealed class Scale
{
    private Scale((decimal UpTo, decimal Per)[] bands) => Bands = bands;

    /// <summary>The bands, in ascending order of their upper bound (the loader refuses a scale whose bounds do not rise).</summary>
    internal (decimal UpTo, decimal Per)[] Bands { get; }

    /// <summary>A scale of these bands: what the compiled class builds from the band figures (not callable from a rule).</summary>
    public static Scale Of(params ReadOnlySpan<(decimal UpTo, decimal Per)> bands) => new([.. bands]);
}
