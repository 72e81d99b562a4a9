using System.Globalization;
using System.Net;
using System.Text;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Cli;

/// <summary>
/// A year compared under two sides, for people: as text, and as one self-contained HTML file (no network, no external
/// script, font or image; the chart is inline SVG) that reads on a phone and prints cleanly.
/// </summary>
public static class ComparisonReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static string Dec(decimal d) => d.ToString(Inv);

    private static decimal D(string s) => s.Length == 0 ? 0 : decimal.Parse(s, NumberStyles.Number, Inv);

    /// <summary>Euro to the cent with thousands separators, the way the report shows money.</summary>
    public static string Eur(string s) => s.Length == 0 ? "–" : D(s).ToString("#,0.00", Inv);

    public static void Text(V1.CompareAllocationsResponse r, TextWriter o)
    {
        o.WriteLine($"a: {Side(r.A)}");
        o.WriteLine($"b: {Side(r.B)}");
        o.WriteLine($"allocated: a EUR {Eur(r.AAllocated)}, b EUR {Eur(r.BAllocated)}");
        o.WriteLine();
        o.WriteLine($"{"quota",-20} {"a share %",10} {"b share %",10} {"a allocated",16} {"b allocated",16} {"a EUR/pt",12} {"b EUR/pt",12}");
        foreach (var q in r.Quotas)
            o.WriteLine($"{q.QuotaId,-20} {Pct(q.ASharePercent),10} {Pct(q.BSharePercent),10} {Eur(q.AAllocated),16} {Eur(q.BAllocated),16} {Val(q.APointValue),12} {Val(q.BPointValue),12}");
        o.WriteLine();
        o.WriteLine("gain most:");
        foreach (var c in r.Gainers) o.WriteLine($"  {c.CompanyId,-20} {Eur(c.AAmount),16} -> {Eur(c.BAmount),16}  (+{Eur(c.Difference)})");
        o.WriteLine("lose most:");
        foreach (var c in r.Losers) o.WriteLine($"  {c.CompanyId,-20} {Eur(c.AAmount),16} -> {Eur(c.BAmount),16}  ({Eur(c.Difference)})");
        o.WriteLine();
        o.WriteLine("rows that changed the points of the year (largest change first; EUR at each side's point value of the row's quota):");
        foreach (var row in r.Rows.Take(25))
            o.WriteLine($"  {row.RowId,-20} {Num(row.APoints),12} -> {Num(row.BPoints),12}  EUR {Signed(Eur(row.EurDifference)),14}  {row.Label} [{row.Citation}]");
        if (r.Rows.Count > 25) o.WriteLine($"  ... and {r.Rows.Count - 25} more (--json for all)");
    }

    private static string Signed(string eur) => eur.StartsWith('-') || eur == "–" ? eur : "+" + eur;

    private static string Side(V1.AllocationSummary s) =>
        $"{s.RuleSetId}{(s.Overlays.Count > 0 ? " + " + string.Join(" + ", s.Overlays) : "")}" +
        $"{(s.Reform is { } f ? $" with reform {f.Id} (sha256 {f.ContentHash[..16]})" : "")} (sha256 {s.ContentHash[..16]}), " +
        $"application year {s.ApplicationYear}, budget EUR {Eur(s.Budget)}, excess {(s.ExcessPolicy == V1.ExcessPolicy.Redistribute ? "redistribute" : "unassigned")}";

    private static string Pct(string s) => s.Length == 0 ? "–" : D(s).ToString("0.##", Inv);
    private static string Val(string s) => s.Length == 0 ? "–" : D(s).ToString("0.####", Inv);
    private static string Num(string s) => s.Length == 0 ? "–" : D(s).ToString("#,0.####", Inv);

    public static string Html(V1.CompareAllocationsResponse r)
    {
        static string H(string s) => WebUtility.HtmlEncode(s);
        // For people: Italian number formats (1.926.022,61) and the rule set's quota titles, as the allocation page.
        static string Eur(string s) => s.Length == 0 ? "–" : AllocationReport.Eur(s);
        static string Pct(string s) => s.Length == 0 ? "–" : AllocationReport.Num(s);
        static string Val(string s) => s.Length == 0 ? "–" : AllocationReport.Num(s);
        static string Num(string s) => s.Length == 0 ? "–" : AllocationReport.Num(s);
        var titles = r.B.Quotas.Concat(r.A.Quotas).GroupBy(q => q.QuotaId).ToDictionary(g => g.Key, g => g.Last().Title);
        var reform = r.B.Reform ?? r.A.Reform;
        var sb = new StringBuilder();
        sb.Append("""
            <!DOCTYPE html>
            <html lang="it"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Contributi automatici: TITLE</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1b1b1b;line-height:1.4}
            h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ccc}
            .sides{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:.75rem}
            .side{border:1px solid #ccc;border-radius:.4rem;padding:.6rem}.side b{font-size:1.05rem}
            .scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.9rem}
            th,td{padding:.3rem .5rem;border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}
            th:first-child,td:first-child,td.l{text-align:left;white-space:normal}
            .pos{color:#0a6b2d}.neg{color:#a4161a}.hash{font-family:ui-monospace,monospace;font-size:.8rem;color:#555;word-break:break-all}
            svg{width:100%;height:auto;max-width:40rem}
            @media print{body{max-width:none}.scroll{overflow:visible}h2{break-after:avoid}tr{break-inside:avoid}}
            </style></head><body>
            """);
        sb.Replace("TITLE", reform is null ? "confronto" : "impatto della riforma");
        sb.Append(reform is null ? "<h1>Contributi automatici: confronto tra versioni</h1>"
            : $"<h1>Contributi automatici: impatto della riforma «{H(reform.Title)}»</h1>");
        sb.Append("<div class=\"sides\">");
        foreach (var (name, s, allocated) in new[] { ("a", r.A, r.AAllocated), ("b", r.B, r.BAllocated) })
            sb.Append($"<div class=\"side\" id=\"side-{name}\"><b>{name}: {H(s.RuleSetId)}{(s.Overlays.Count > 0 ? " + " + H(string.Join(" + ", s.Overlays)) : "")}" +
                      (s.Reform is { } f ? $" con la riforma {H(f.Id)}" : reform is not null ? " (norma vigente)" : "") + "</b><br>" +
                      $"anno {s.ApplicationYear}, budget € <span class=\"budget\">{Eur(s.Budget)}</span><br>assegnati € <span class=\"allocated\">{Eur(allocated)}</span><br>" +
                      $"<span class=\"hash\">sha256 <abbr title=\"{H(s.ContentHash)}\">{H(s.ContentHash[..12])}…</abbr></span>" +
                      (s.Reform is { } g ? $"<br><span class=\"hash\">riforma sha256 <abbr title=\"{H(g.ContentHash)}\">{H(g.ContentHash[..12])}…</abbr></span>" : "") + "</div>");
        sb.Append("</div>");
        if (r.A.Budget != r.B.Budget)
            sb.Append($"<p id=\"keeping-budget\">Con il budget di b, € {Eur(r.B.Budget)} invece di € {Eur(r.A.Budget)} (€ {Eur(Dec(D(r.B.Budget) - D(r.A.Budget)))} in più), " +
                      "nessuna quota di b ha un valore del punto inferiore a quello di a.</p>");

        // What a ministry asks first: per quota the point value, then how the money moves.
        sb.Append("<h2>Valore del punto per quota</h2><div class=\"scroll\"><table id=\"point-values\"><tr><th>quota</th><th>a €/punto</th><th>b €/punto</th><th>variazione</th>" +
                  "<th>a assegnati €</th><th>b assegnati €</th><th>denaro spostato €</th></tr>");
        foreach (var q in r.Quotas.Where(q => q.APointValue.Length > 0 || q.BPointValue.Length > 0))
        {
            var (va, vb) = (D(q.APointValue), D(q.BPointValue));
            var moved = D(q.BAllocated) - D(q.AAllocated);
            sb.Append($"<tr><td>{H(titles.GetValueOrDefault(q.QuotaId, q.QuotaId))} <small>{H(q.QuotaId)}</small></td><td>{Val(q.APointValue)}</td><td>{Val(q.BPointValue)}</td>" +
                      $"<td class=\"{(vb >= va ? "pos" : "neg")}\">{(va == 0 ? "–" : AllocationReport.Num(Dec(Math.Round((vb - va) * 100m / va, 2))) + " %")}</td>" +
                      $"<td>{Eur(q.AAllocated)}</td><td>{Eur(q.BAllocated)}</td><td class=\"{(moved >= 0 ? "pos" : "neg")}\">{Eur(Dec(moved))}</td></tr>");
        }
        sb.Append("</table></div>");

        sb.Append("<h2>Quote (art. 3)</h2><div class=\"scroll\"><table id=\"quotas\"><tr><th>quota</th><th>a %</th><th>b %</th><th>a assegnati €</th><th>b assegnati €</th><th>a €/punto</th><th>b €/punto</th></tr>");
        foreach (var q in r.Quotas)
            sb.Append($"<tr><td>{H(titles.GetValueOrDefault(q.QuotaId, q.QuotaId))} <small>{H(q.QuotaId)}</small></td><td>{Pct(q.ASharePercent)}</td><td>{Pct(q.BSharePercent)}</td><td>{Eur(q.AAllocated)}</td><td>{Eur(q.BAllocated)}</td><td>{Val(q.APointValue)}</td><td>{Val(q.BPointValue)}</td></tr>");
        sb.Append("</table></div>");

        sb.Append("<h2>Variazione per impresa</h2>");
        var up = r.Companies.Where(c => D(c.Difference) > 0).ToList();
        var down = r.Companies.Where(c => D(c.Difference) < 0).ToList();
        sb.Append($"<p id=\"winners-losers\">{up.Count} imprese guadagnano (in tutto € {Eur(Dec(up.Sum(c => D(c.Difference))))}), " +
                  $"{down.Count} perdono (in tutto € {Eur(Dec(down.Sum(c => D(c.Difference))))}), {r.Companies.Count - up.Count - down.Count} invariate.</p>");
        sb.Append(Histogram(r.Companies.Select(c => D(c.Difference)).ToList()));
        sb.Append("<p><small>Numero di imprese per fascia di variazione (b − a, in euro): in verde chi guadagna, in rosso chi perde.</small></p>");

        foreach (var (title, id, list) in new[] { ("Chi guadagna di più", "gainers", r.Gainers), ("Chi perde di più", "losers", r.Losers) })
        {
            sb.Append($"<h2>{title}</h2><div class=\"scroll\"><table id=\"{id}\"><tr><th>impresa</th><th>a €</th><th>b €</th><th>differenza €</th></tr>");
            foreach (var c in list)
                sb.Append($"<tr><td>{H(c.CompanyId)} <small>{H(c.Name)}</small></td><td>{Eur(c.AAmount)}</td><td>{Eur(c.BAmount)}</td>" +
                          $"<td class=\"{(D(c.Difference) >= 0 ? "pos" : "neg")}\">{Eur(c.Difference)}</td></tr>");
            if (list.Count == 0) sb.Append("<tr><td colspan=\"4\">nessuna</td></tr>");
            sb.Append("</table></div>");
        }

        sb.Append("<h2>Righe delle tabelle che spiegano la differenza</h2><div class=\"scroll\"><table id=\"rows\"><tr><th>riga</th><th>a punti</th><th>b punti</th>" +
                  "<th>quota</th><th>euro spostati</th><th>fonte</th></tr>");
        foreach (var row in r.Rows.Take(200))
            sb.Append($"<tr><td>{H(row.RowId)} <small>{H(row.Label)}</small></td><td>{Num(row.APoints)}</td><td>{Num(row.BPoints)}</td>" +
                      $"<td>{H(row.QuotaId)}</td><td class=\"{(D(row.EurDifference) >= 0 ? "pos" : "neg")}\">{Eur(row.EurDifference)}</td><td class=\"l\">{H(row.Citation)}</td></tr>");
        sb.Append("</table></div>");
        sb.Append("<p><small>Euro spostati da una riga: i suoi punti dell'anno al valore del punto della sua quota, in b meno in a " +
                  "(quota nominale delle risorse, prima dei massimali per opera e per impresa).</small></p>");
        sb.Append("<p><small>Generato da ContributiAutomatici. Ogni importo è calcolato dalle regole indicate (content hash); le righe senza fonte certa sono segnalate nella risposta JSON.</small></p>");
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    /// <summary>The distribution of the per-company changes, as bars of an inline SVG.</summary>
    private static string Histogram(IReadOnlyList<decimal> changes)
    {
        if (changes.Count == 0) return "<p>nessuna impresa</p>";
        var min = changes.Min();
        var max = changes.Max();
        const int bins = 12;
        var width = max == min ? 1 : (max - min) / bins;
        var counts = new int[bins];
        foreach (var c in changes) counts[Math.Min(bins - 1, (int)((c - min) / width))]++;
        var top = counts.Max();
        var sb = new StringBuilder($"<svg viewBox=\"0 0 {bins * 40 + 20} 180\" role=\"img\" aria-label=\"distribuzione delle variazioni per impresa\">");
        for (var i = 0; i < bins; i++)
        {
            var h = top == 0 ? 0 : counts[i] * 130 / top;
            var from = min + i * width;
            var color = from <= 0 && from + width >= 0 ? "#868e96" : from > 0 ? "#2b8a3e" : "#c92a2a";
            sb.Append($"<rect x=\"{10 + i * 40}\" y=\"{150 - h}\" width=\"34\" height=\"{h}\" fill=\"{color}\"><title>da {Whole(from)} a {Whole(from + width)} €: {counts[i]} imprese</title></rect>");
            sb.Append($"<text x=\"{27 + i * 40}\" y=\"{145 - h}\" font-size=\"10\" text-anchor=\"middle\">{counts[i]}</text>");
        }
        sb.Append($"<text x=\"10\" y=\"170\" font-size=\"10\">{Whole(min)} €</text>");
        sb.Append($"<text x=\"{bins * 40 + 10}\" y=\"170\" font-size=\"10\" text-anchor=\"end\">{Whole(max)} €</text>");
        sb.Append("</svg>");
        return sb.ToString();

        static string Whole(decimal d) => AllocationReport.Eur(Math.Round(d))[..^3];
    }
}
