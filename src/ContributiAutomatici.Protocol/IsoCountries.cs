using System.Collections.Frozen;

namespace ContributiAutomatici.Protocol;

/// <summary>
/// The officially assigned ISO 3166-1 alpha-2 country codes (249), to refuse a co-producer's country that is no country
/// ("XX", "UK": the United Kingdom is GB). Not a figure of the decree: the standard's table, as the request's field
/// documentation names it.
/// </summary>
public static class IsoCountries
{
    private const string Codes =
        "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
        "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
        "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO " +
        "JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR " +
        "MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO " +
        "RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV " +
        "TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

    /// <summary>The 249 codes, upper case.</summary>
    public static readonly FrozenSet<string> All = Codes.Split(' ').ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="code"/> (any case) is an assigned alpha-2 code.</summary>
    public static bool Contains(string code) => code.Length == 2 && All.Contains(code.ToUpperInvariant());

    // Each assigned code under itself, in any case.
    private static readonly FrozenDictionary<string, string> Canonical = All.ToFrozenDictionary(c => c, c => c, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// <paramref name="code"/> in upper case: for an assigned code, in whatever case it is written, the list's own string
    /// (nothing allocated per request); any other text upper-cased.
    /// </summary>
    public static string Upper(string code) => code.Length == 2 && Canonical.TryGetValue(code, out var canonical) ? canonical : code.ToUpperInvariant();
}
