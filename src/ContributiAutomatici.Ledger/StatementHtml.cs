using System.Globalization;
using System.Net;
using System.Text;

namespace ContributiAutomatici.Ledger;

/// <summary>
/// The art. 12.7 statement as one self-contained page in Italian (no script, no network, no image): the totals, one row
/// per credit with the work, the year credited and the year by which it must be used, the draws; amounts as
/// 1.926.022,61 €, dates as 30/06/2024. Printable (A4, the table's header repeated on each page).
/// </summary>
public static class StatementHtml
{
    private static readonly NumberFormatInfo It = new() { NumberDecimalSeparator = ",", NumberGroupSeparator = "." };

    /// <summary>1.926.022,61 € (a non-breaking space before the sign).</summary>
    public static string Eur(decimal d) => d.ToString("#,0.00", It) + "\u00a0€";

    /// <summary>30/06/2024.</summary>
    public static string Date(DateOnly d) => d.ToString("dd/MM/yyyy", CultureInfo.InvariantCulture);

    public static string Render(Statement s)
    {
        static string H(string x) => WebUtility.HtmlEncode(x);
        var b = new StringBuilder();
        b.Append($$"""
            <!DOCTYPE html>
            <html lang="it">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Fondo potenziale – {{H(s.CompanyName)}} al {{Date(s.At)}}</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #111; }
            h1 { font-size: 1.4rem; margin-bottom: .2rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
            .sub { color: #555; margin-top: 0; }
            table { border-collapse: collapse; width: 100%; font-size: .9rem; }
            th, td { padding: .3rem .5rem; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
            td.n, th.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
            tfoot td { font-weight: 600; border-top: 2px solid #111; }
            dl { display: grid; grid-template-columns: max-content max-content; gap: .2rem 1.5rem; }
            dt { color: #555; } dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
            dd.total { font-weight: 700; }
            .note { color: #555; font-size: .85rem; }
            @media print { body { margin: 0; } thead { display: table-header-group; } tr { break-inside: avoid; } }
            @page { size: A4; margin: 15mm; }
            </style>
            </head>
            <body>
            <h1>Comunicazione del fondo potenziale (art. 12, comma 7)</h1>
            <p class="sub">{{H(s.CompanyName)}} (<span id="company-id">{{H(s.CompanyId)}}</span>) – situazione al <span id="at">{{Date(s.At)}}</span></p>
            <h2>Riepilogo</h2>
            <dl id="totals">
            <dt>Importi accreditati</dt><dd id="credited">{{Eur(s.Credited)}}</dd>
            <dt>Stornati da riassegnazione</dt><dd id="reversed">{{Eur(s.Reversed)}}</dd>
            <dt>Utilizzati per nuove opere</dt><dd id="drawn">{{Eur(s.Drawn)}}</dd>
            <dt>Decaduti e riassegnati al Fondo (art. 12, comma 6)</dt><dd id="lapsed">{{Eur(s.Lapsed)}}</dd>
            <dt>Quote autori accantonate (art. 14, comma 3)</dt><dd id="authors">{{Eur(s.AuthorsSetAside)}}</dd>
            <dt>Disponibili</dt><dd id="available">{{Eur(s.Available)}}</dd>
            <dt>Giacenza del fondo potenziale</dt><dd id="held" class="total">{{Eur(s.Held)}}</dd>
            </dl>
            <h2>Importi per opera</h2>
            <table id="lines">
            <thead><tr><th>Opera</th><th>Sottoquota</th><th class="n">Anno di accredito</th><th class="n">Da utilizzare entro</th>
            <th class="n">Accreditato</th><th class="n">Utilizzato</th><th class="n">Decaduto</th><th class="n">Quote autori</th><th class="n">Disponibile</th><th class="n">Giacenza</th></tr></thead>
            <tbody>

            """);
        foreach (var l in s.Lines)
            b.Append(CultureInfo.InvariantCulture, $"""
                <tr data-credit="{l.CreditId}"><td>{H(l.WorkTitle)} <span class="note">({H(l.WorkId)})</span></td><td>{H(l.QuotaId)}</td><td class="n">{l.CreditingYear}</td><td class="n">{Date(l.ExpiresOn)}</td><td class="n">{Eur(l.Credited)}</td><td class="n">{Eur(l.Drawn)}</td><td class="n">{Eur(l.Lapsed + l.Reversed)}</td><td class="n">{Eur(l.AuthorsSetAside)}</td><td class="n">{Eur(l.Available)}</td><td class="n held">{Eur(l.Held)}</td></tr>

                """);
        b.Append($"""
            </tbody>
            <tfoot><tr><td colspan="4">Totale</td><td class="n">{Eur(s.Credited)}</td><td class="n">{Eur(s.Drawn)}</td><td class="n">{Eur(s.Lapsed + s.Reversed)}</td><td class="n">{Eur(s.AuthorsSetAside)}</td><td class="n">{Eur(s.Available)}</td><td class="n">{Eur(s.Held)}</td></tr></tfoot>
            </table>

            """);
        if (s.Draws.Count > 0)
        {
            b.Append("""
                <h2>Erogazioni per nuove opere (artt. 13 e 14)</h2>
                <table id="draws"><thead><tr><th>Data</th><th>Nuova opera</th><th>Utilizzo</th><th>Stato di avanzamento</th><th class="n">Importo</th></tr></thead><tbody>

                """);
            foreach (var d in s.Draws)
                b.Append($"""<tr><td>{Date(d.RequestedOn)}</td><td>{H(d.NewWorkId)}</td><td>{H(d.Use)}</td><td>{H(d.Stage)}</td><td class="n">{Eur(d.Amount)}</td></tr>""").Append('\n');
            b.Append("</tbody></table>\n");
        }
        b.Append(CultureInfo.InvariantCulture, $"""
            <p class="note">Le somme accreditate devono essere utilizzate, a pena di decadenza, entro il 31 dicembre del quinto anno solare successivo
            a quello di accredito (art. 12, comma 5). Ogni importo è la somma delle {s.Entries} registrazioni del libro giornale alla data.</p>
            </body>
            </html>

            """);
        return b.ToString();
    }
}
