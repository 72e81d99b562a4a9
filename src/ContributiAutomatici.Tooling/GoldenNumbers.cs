using System.Globalization;

namespace ContributiAutomatici.Tooling;

/// <summary>
/// Numbers in golden tests: a computed value matches an expected one when, rounded to the expected value's decimals (at
/// least 2), it equals it; a failure prints both in one canonical form: invariant culture, that same number of decimals,
/// no exponent (<c>expected 386.67, got 436.67</c>, never <c>386.67</c> against <c>436.666666...</c> or <c>4.3667E+2</c>).
/// </summary>
public static class GoldenNumbers
{
    /// <summary>What an expected or computed value may be written as: invariant, with thousands separators or an exponent.</summary>
    public const NumberStyles Styles = NumberStyles.Number | NumberStyles.AllowExponent;

    /// <summary>The decimals a comparison keeps: the expected value's, at least 2.</summary>
    public static int Decimals(decimal expected) => Math.Max(2, (int)expected.Scale);

    public static bool Match(decimal got, decimal expected) => Math.Round(got, Decimals(expected), MidpointRounding.AwayFromZero) == expected;

    /// <summary>The value rounded to <paramref name="decimals"/> and written with exactly that many, invariant, without an exponent.</summary>
    public static string Format(decimal value, int decimals) =>
        Math.Round(value, decimals, MidpointRounding.AwayFromZero).ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>"expected 386.67, got 436.67": both with the comparison's decimals.</summary>
    public static string ExpectedGot(decimal expected, decimal got) =>
        $"expected {Format(expected, Decimals(expected))}, got {Format(got, Decimals(expected))}";

    /// <summary>A value no expected one goes with (a row the case does not expect): 4 decimals, as points are shown.</summary>
    public static string Format(decimal value) => Format(value, 4);

    /// <summary>A number written in a golden file or a result (invariant), or null when it is not one.</summary>
    public static decimal? Parse(string text) =>
        decimal.TryParse(text, Styles, CultureInfo.InvariantCulture, out var d) ? d : null;
}
