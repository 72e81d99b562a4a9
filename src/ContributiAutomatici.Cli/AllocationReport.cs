using System.Globalization;
using System.Net;
using System.Text;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Cli;

/// <summary>
/// <c>allocate --html FILE</c>: the year's allocation for people, in Italian, as one self-contained HTML page (no
/// network, no script, font or image; the charts are inline SVG), drawn from the same <see cref="V1.AllocationResult"/>
/// that <c>--json</c> prints: per quota its title from the rule set, resources, points, point value and the account of
/// its resources (a bar chart with its axis in euro and a one-line reading), the unassigned money by cause, the capped
/// works and companies, what the decree keeps out with its article, and the companies' table.
/// </summary>
public static class AllocationReport
{
    /// <summary>Italian number format: 1.926.022,61 (built here, not from the it-IT culture, which an invariant-globalization host lacks).</summary>
    private static readonly NumberFormatInfo It = new() { NumberDecimalSeparator = ",", NumberGroupSeparator = "." };

    private static decimal D(string s) => s.Length == 0 ? 0 : decimal.Parse(s, NumberStyles.Number, CultureInfo.InvariantCulture);

    /// <summary>Euro to the cent, Italian: "1.926.022,61".</summary>
    public static string Eur(string s) => Eur(D(s));

    public static string Eur(decimal d) => d.ToString("#,0.00", It);

    /// <summary>The rounding residue: a fraction of a cent, so to six decimals ("-0,003").</summary>
    public static string Residue(string s) => D(s).ToString("#,0.00####", It);

    /// <summary>Points and point values, Italian, up to four decimals: "2.865,8667".</summary>
    public static string Num(string s) => D(s).ToString("#,0.####", It);

    private static string H(string s) => WebUtility.HtmlEncode(s);

    /// <summary>The reconciliation's parts, in the order the bar draws them, with their Italian names and colours.</summary>
    private static (string Name, string Color, decimal Amount)[] Parts(V1.Reconciliation a) =>
    [
        ("assegnati", "#2b8a3e", D(a.Allocated)),
        ("non assegnati: tetto per opera (art. 6.4.a)", "#e67700", D(a.UnassignedWorkCap)),
        ("non assegnati: tetto per impresa (art. 6.4.b)", "#c92a2a", D(a.UnassignedCompanyCap)),
        ("non assegnati: limite dei cortometraggi (art. 3.3)", "#862e9c", D(a.UnassignedShortFilmsLimit)),
        ("non assegnati: nessun beneficiario ammesso", "#868e96", D(a.UnassignedNoClaimant)),
        ("residuo di arrotondamento", "#1864ab", D(a.RoundingResidue)),
    ];

    public static string Html(V1.AllocationResult r)
    {
        var s = r.Summary;
        // A sub-quota's title with its quota's ("Opere cinematografiche – Sottoquota risultati economici"): the rule set's words.
        var own = s.Quotas.ToDictionary(q => q.QuotaId, q => q.Title);
        var titles = s.Quotas.ToDictionary(q => q.QuotaId, q => q.ParentId.Length > 0 && own.TryGetValue(q.ParentId, out var p) ? $"{p} – {q.Title}" : q.Title);
        var sb = new StringBuilder();
        sb.Append("""
            <!DOCTYPE html>
            <html lang="it"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Contributi automatici: riparto dell'anno</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:64rem;padding:1rem;color:#1b1b1b;line-height:1.4}
            h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ccc}h3{font-size:1rem;margin-bottom:.2rem}
            .box{border:1px solid #ccc;border-radius:.4rem;padding:.6rem;margin:.5rem 0}.unassigned{border-color:#c92a2a}
            .scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.9rem}
            th,td{padding:.3rem .5rem;border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}
            th:first-child,td:first-child,td.l{text-align:left;white-space:normal}
            abbr{font-family:ui-monospace,monospace;text-decoration:none}
            svg{width:100%;height:auto;max-width:48rem}.reading{margin:.2rem 0 1rem;font-size:.9rem}
            @media print{body{max-width:none}.scroll{overflow:visible}h2{break-after:avoid}tr,svg{break-inside:avoid}}
            </style></head><body>
            """);
        sb.Append($"<h1>Contributi automatici: riparto dell'anno {s.ApplicationYear}</h1>");
        sb.Append("<div class=\"box\" id=\"summary\">");
        sb.Append($"Regole: <b>{H(s.RuleSetId)}</b>{(s.Overlays.Count > 0 ? " con " + H(string.Join(", ", s.Overlays)) : "")} " +
                  $"(sha256 <abbr title=\"{H(s.ContentHash)}\">{H(s.ContentHash[..12])}…</abbr>, " +
                  $"{(s.RuleSetResolution == "requested" ? "indicate nella richiesta" : $"in vigore per l'anno {s.ApplicationYear}")})<br>");
        sb.Append($"Risorse dell'anno: <b>{Eur(s.Budget)} €</b>; accreditate nel {s.CreditingYear}; eccedenze dei tetti: " +
                  $"{(s.ExcessPolicy == V1.ExcessPolicy.Redistribute ? "ridistribuite" : "non assegnate")} ({(s.ExcessPolicySource == "request" ? "scelta della richiesta" : "regole")})<br>");
        sb.Append($"{s.Companies} imprese, {s.Works} opere, {s.Claims} domande, {s.Exclusions} esclusioni");
        sb.Append("</div>");

        // The unassigned money in view, with its causes.
        var t = s.Account;
        sb.Append("<div class=\"box unassigned\" id=\"totals\">");
        sb.Append($"Assegnati <b class=\"allocated\">{Eur(t.Allocated)} €</b>; non assegnati <b class=\"unassigned\">{Eur(t.Unassigned)} €</b>; " +
                  $"riservati (videogiochi) {Eur(s.Reserved)} €; residuo di arrotondamento {Residue(t.RoundingResidue)} €");
        if (D(t.Redistributed) > 0) sb.Append($"; ridistribuiti dai tetti ad altre imprese {Eur(t.Redistributed)} €");
        sb.Append("<br>Non assegnati per causa: ");
        sb.Append(string.Join("; ", Parts(t).Skip(1).SkipLast(1).Select(p => $"{H(p.Name[15..])} {Eur(p.Amount)} €")));
        sb.Append("</div>");

        sb.Append("<h2>Quote e sottoquote (art. 3)</h2><div class=\"scroll\"><table id=\"quotas\"><tr><th>quota</th><th>risorse €</th><th>punti</th>" +
                  "<th>valore del punto €</th><th>assegnati €</th><th>non assegnati €</th><th>residuo €</th><th>ridistribuiti €</th></tr>");
        foreach (var q in s.Quotas)
        {
            var name = $"{H(titles[q.QuotaId])} <small>{H(q.Citation)}</small>";
            if (q.Account is not { } a)
            {
                sb.Append($"<tr><td>{name}</td><td>{Eur(q.Resources)}</td><td class=\"l\" colspan=\"6\">{(q.Reserved ? "riservata, non ripartita" : "ripartita nelle sue sottoquote")}</td></tr>");
                continue;
            }
            sb.Append($"<tr id=\"quota-{H(q.QuotaId)}\"><td>{name}</td><td>{Eur(a.Resources)}</td><td>{Num(q.TotalPoints)}</td><td>{Num(q.PointValue)}</td>" +
                      $"<td>{Eur(a.Allocated)}</td><td>{Eur(a.Unassigned)}</td><td>{Residue(a.RoundingResidue)}</td><td>{Eur(a.Redistributed)}</td></tr>");
        }
        sb.Append("</table></div>");

        sb.Append("<h2>Dove vanno le risorse di ogni sottoquota</h2>");
        sb.Append("<p class=\"reading\">Ogni barra è lunga quanto le risorse della sottoquota (asse in euro): la parte verde è assegnata alle imprese, " +
                  "le altre restano al Fondo, per causa. Con la politica «ridistribuite», ciò che i tetti tolgono ad alcuni è pagato agli altri ed è nella parte verde.</p>");
        sb.Append("<p class=\"reading\" id=\"legend\">" + string.Join(" ", Parts(t).Select(p =>
            $"<span style=\"display:inline-block;width:.8rem;height:.8rem;background:{p.Color}\"></span> {H(p.Name)}")) + "</p>");
        foreach (var q in s.Quotas.Where(q => q.Account is not null))
        {
            sb.Append($"<h3>{H(titles[q.QuotaId])}</h3>");
            sb.Append(Bar(q.QuotaId, q.Account));
            sb.Append($"<p class=\"reading\">{Reading(q.Account)}</p>");
            if (q.ShortFilms is { Binding: true } sf)
                sb.Append($"<p class=\"reading\">Limite dei cortometraggi ({Num(sf.LimitPercent)}%, art. 3.3) superato: ai cortometraggi {Eur(sf.Resources)} € " +
                          $"per {Num(sf.Points)} punti a {Num(sf.PointValue)} € il punto; alle altre opere {Num(sf.OtherPointValue)} € il punto.</p>");
        }

        sb.Append("<h2>Opere e imprese oltre i tetti (art. 6.4)</h2><div class=\"scroll\"><table id=\"capped\"><tr><th>opera</th><th>impresa</th><th>sottoquota</th>" +
                  "<th>prima dei tetti €</th><th>taglio tetto opera €</th><th>taglio tetto impresa €</th><th>importo €</th></tr>");
        var capped = r.Works.SelectMany(w => w.Claims.Where(c => c.WorkCapped || c.CompanyCapped).Select(c => (w, c))).ToList();
        foreach (var (w, c) in capped)
            sb.Append($"<tr><td>{H(w.WorkId)} <small>{H(w.Title)}</small></td><td class=\"l\">{H(c.CompanyId)}</td><td class=\"l\">{H(titles.GetValueOrDefault(c.QuotaId, c.QuotaId))}</td>" +
                      $"<td>{Eur(c.BeforeCaps)}</td><td>{Eur(c.CutByWorkCap)}</td><td>{Eur(c.CutByCompanyCap)}</td><td>{Eur(c.ExactAmount)}</td></tr>");
        if (capped.Count == 0) sb.Append("<tr><td colspan=\"7\">nessuna</td></tr>");
        sb.Append("</table></div>");

        sb.Append("<h2>Esclusioni</h2><div class=\"scroll\"><table id=\"exclusions\"><tr><th>impresa</th><th>opera</th><th>articolo</th><th>motivo</th></tr>");
        foreach (var e in r.Exclusions)
            sb.Append($"<tr><td>{H(e.CompanyId)}</td><td class=\"l\">{H(e.WorkId)}{(e.Field.Length > 0 ? " " + H(e.Field) : "")}</td><td class=\"l\">{H(e.Article)}</td><td class=\"l\">{H(e.Reason)}</td></tr>");
        if (r.Exclusions.Count == 0) sb.Append("<tr><td colspan=\"4\">nessuna</td></tr>");
        sb.Append("</table></div>");

        sb.Append("<h2>Imprese</h2><div class=\"scroll\"><table id=\"companies\"><tr><th>impresa</th><th>totale €</th><th>crediti per sottoquota</th><th>scadenza</th></tr>");
        foreach (var c in r.Companies.OrderByDescending(c => D(c.Total)).ThenBy(c => c.CompanyId, StringComparer.Ordinal))
        {
            var credits = string.Join("; ", c.Credits.Select(x => $"{H(titles.GetValueOrDefault(x.QuotaId, x.QuotaId))} {Eur(x.Amount)} €" +
                                                                 (x.Caps.Count > 0 ? $" <small>({H(string.Join("; ", x.Caps))})</small>" : "")));
            var expiry = c.Credits.Select(x => x.ExpiresOn).FirstOrDefault();
            sb.Append($"<tr><td>{H(c.CompanyId)} <small>{H(c.Name)}</small></td><td>{Eur(c.Total)}</td><td class=\"l\">{credits}</td>" +
                      $"<td>{(expiry is null ? "" : $"{expiry.Day:00}/{expiry.Month:00}/{expiry.Year}")}</td></tr>");
        }
        sb.Append("</table></div>");
        sb.Append("<p><small>Generato da ContributiAutomatici dalle regole indicate (content hash). Importi in euro; i crediti sono arrotondati al centesimo " +
                  "per impresa e sottoquota; i valori esatti sono nella risposta JSON (contributi.v1.AllocationResult).</small></p>");
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    /// <summary>"Su 3.150.000,00 € di risorse: 1.926.022,61 € assegnati; 1.223.977,39 € non assegnati (tetto per opera)".</summary>
    private static string Reading(V1.Reconciliation a)
    {
        // The allocated always, the rest when not zero; the residue (the last part) to a fraction of a cent.
        var all = Parts(a);
        var parts = all.Where((p, i) => i == 0 || p.Amount != 0)
            .Select(p => $"{(p == all[^1] ? p.Amount.ToString("#,0.00####", It) : Eur(p.Amount))} € {H(p.Name)}");
        var moved = D(a.Redistributed) > 0 ? $"; di cui ridistribuiti dai tetti {Eur(a.Redistributed)} €" : "";
        return $"Su {Eur(a.Resources)} € di risorse: {string.Join("; ", parts)}{moved}.";
    }

    /// <summary>One stacked bar from 0 to the resources, with an axis in euro (five ticks) and each part's amount on hover.</summary>
    private static string Bar(string quotaId, V1.Reconciliation a)
    {
        const int left = 10, width = 600;
        var total = D(a.Resources);
        var sb = new StringBuilder($"<svg id=\"chart-{H(quotaId)}\" viewBox=\"0 0 {left * 2 + width} 70\" role=\"img\" aria-label=\"{H(Reading(a))}\">");
        var x = (decimal)left;
        foreach (var (name, color, amount) in Parts(a).Where(p => p.Amount > 0))
        {
            var w = total == 0 ? 0 : amount / total * width;
            sb.Append(FormattableString.Invariant($"<rect x=\"{x:0.##}\" y=\"5\" width=\"{w:0.##}\" height=\"28\" fill=\"{color}\"><title>{H(name)}: {Eur(amount)} €</title></rect>"));
            x += w;
        }
        sb.Append(FormattableString.Invariant($"<line x1=\"{left}\" y1=\"38\" x2=\"{left + width}\" y2=\"38\" stroke=\"#333\"/>"));
        for (var i = 0; i <= 4; i++)
        {
            var tx = left + width * i / 4;
            var anchor = i == 0 ? "start" : i == 4 ? "end" : "middle";
            sb.Append(FormattableString.Invariant($"<line x1=\"{tx}\" y1=\"38\" x2=\"{tx}\" y2=\"43\" stroke=\"#333\"/>"));
            sb.Append(FormattableString.Invariant($"<text x=\"{tx}\" y=\"56\" font-size=\"10\" text-anchor=\"{anchor}\">{Eur(total * i / 4)} €</text>"));
        }
        sb.Append(FormattableString.Invariant($"<text x=\"{left + width / 2}\" y=\"68\" font-size=\"9\" text-anchor=\"middle\">euro (risorse della sottoquota)</text>"));
        sb.Append("</svg>");
        return sb.ToString();
    }
}
