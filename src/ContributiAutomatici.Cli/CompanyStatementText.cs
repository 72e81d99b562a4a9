using System.Globalization;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Cli;

/// <summary>
/// <c>allocate --company ID</c>: one company's statement as text. Per credit (sub-quota) one line per claim: its
/// points, its amount before the caps, what each cap cut, the exact amount; then the rounding to the cent, so the lines
/// add up to the credit and the credits to the company's total. The amounts are written to the published decimals
/// (up to 10), so the sums hold as printed; the columns are as wide as their longest cell (long ids stay in line).
/// </summary>
internal static class CompanyStatementText
{
    private static readonly string[] LineHeader = ["work", "role", "share %", "points", "before caps", "work cap cut", "company cap cut", "exact"];

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>An exact amount as the result writes it, with thousands separators.</summary>
    private static string Exact(decimal d) => Account.Quantize(d).ToString("#,0.##########", Inv);

    private static string Signed(decimal d) => (d > 0 ? "+" : "") + Exact(d);

    public static void Write(AllocationOutcome o, string companyId, TextWriter w)
    {
        var c = o.Companies.Single(x => x.Id == companyId);
        w.WriteLine();
        w.WriteLine($"statement of {c.Id} ({c.Name}): EUR {AllocateCommand.Eur(c.Total)} in {c.Credits.Count} credit(s), credited {o.CreditingYear}");
        foreach (var x in c.Credits)
        {
            w.WriteLine($"  {x.QuotaId}: EUR {AllocateCommand.Eur(x.Amount)}, {x.Points.ToString("0.##########", Inv)} points, expires {x.ExpiresOn:yyyy-MM-dd}" +
                        (x.Caps.Count > 0 ? $"; capped: {string.Join("; ", x.Caps)}" : "") + (x.GiveBack ? "; one cent given back (rounding)" : ""));
            var rows = new List<string[]> { LineHeader.ToArray() };
            foreach (var l in x.Lines)
            {
                var (before, wc, cc, e) = Account.Written(l); // as the result writes them
                rows.Add([l.WorkId, RoleNames.Key(l.Role) + (l.ShortFilmsPool ? " (short films' pool)" : ""), l.SharePercent.ToString("0.##", Inv),
                    l.Points.ToString("0.##########", Inv), Exact(before), Exact(wc), Exact(cc), Exact(e)]);
            }
            rows.Add(["rounding to the cent", "", "", "", "", "", "", Signed(x.Rounding)]);
            rows.Add(["credit", "", "", "", "", "", "", Exact(x.Amount)]);
            Table(rows, w);
        }
        var kept = o.Exclusions.Where(e => e.CompanyId == c.Id ||
                                           e.CompanyId.Length == 0 && (o.WorksClaimed.GetValueOrDefault(c.Id) ?? []).Contains(e.WorkId)).ToList();
        if (kept.Count > 0)
        {
            w.WriteLine($"  kept out ({kept.Count}):");
            foreach (var e in kept)
                w.WriteLine($"    {e.WorkId}{(e.Role is { } r ? " " + RoleNames.Key(r) : "")}{(e.Field.Length > 0 ? " " + e.Field : "")}  [{e.Article}] {e.Reason}");
        }
    }

    /// <summary>Text columns: the first two left-aligned, the figures right-aligned, each as wide as its widest cell.</summary>
    private static void Table(List<string[]> rows, TextWriter w)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        foreach (var r in rows)
            w.WriteLine("    " + string.Join("  ", r.Select((cell, i) => i < 2 ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]))).TrimEnd());
    }
}
