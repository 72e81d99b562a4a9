using System.Globalization;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Rules;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Protocol;

/// <summary>
/// What differs between two rule set definitions, before any scoring: rows added, removed and changed (each figure,
/// condition, points expression, quota, citation, label, provenance as a change of its own), quotas and allocation
/// figures. Deterministic: rows by id, fields in a fixed order.
/// </summary>
public static class RuleSetDiff
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static V1.DiffRuleSetsResponse Compare(RuleSetDefinition a, RuleSetDefinition b)
    {
        var response = new V1.DiffRuleSetsResponse { A = a.Id, B = b.Id, AContentHash = a.ContentHash, BContentHash = b.ContentHash };
        var rowsA = a.Tables.SelectMany(t => t.Rows).ToDictionary(r => r.Id, StringComparer.Ordinal);
        var rowsB = b.Tables.SelectMany(t => t.Rows).ToDictionary(r => r.Id, StringComparer.Ordinal);
        foreach (var id in rowsA.Keys.Union(rowsB.Keys).Order(StringComparer.Ordinal))
        {
            rowsA.TryGetValue(id, out var ra);
            rowsB.TryGetValue(id, out var rb);
            var row = (rb ?? ra)!;
            var diff = new V1.RowDiff { RowId = id, TableId = row.TableId, Label = row.Label, Citation = row.Citation };
            if (ra is null) diff.Change = "added";
            else if (rb is null) diff.Change = "removed";
            else
            {
                diff.Changes.AddRange(Changes(ra, rb));
                if (diff.Changes.Count == 0) continue;
                diff.Change = "changed";
            }
            response.Rows.Add(diff);
        }

        var qa = a.Quotas.ToDictionary(q => q.Id, StringComparer.Ordinal);
        var qb = b.Quotas.ToDictionary(q => q.Id, StringComparer.Ordinal);
        foreach (var id in qa.Keys.Union(qb.Keys).Order(StringComparer.Ordinal))
        {
            qa.TryGetValue(id, out var x);
            qb.TryGetValue(id, out var y);
            Add(response.Quotas, "share", id, x is null ? null : Pct(x.SharePercent) + (x.Reserved ? " (reserved)" : ""),
                y is null ? null : Pct(y.SharePercent) + (y.Reserved ? " (reserved)" : ""), y?.Citation ?? x?.Citation ?? "");
            Add(response.Quotas, "short films limit", id, x?.ShortFilmsLimitPercent is { } l1 ? Pct(l1) : null,
                y?.ShortFilmsLimitPercent is { } l2 ? Pct(l2) : null, "");
        }

        var quantA = a.Quantities.ToDictionary(q => q.Name, StringComparer.Ordinal);
        var quantB = b.Quantities.ToDictionary(q => q.Name, StringComparer.Ordinal);
        foreach (var name in quantA.Keys.Union(quantB.Keys).Order(StringComparer.Ordinal))
        {
            quantA.TryGetValue(name, out var x);
            quantB.TryGetValue(name, out var y);
            // Who changed it, and every row that reads it: the rows whose points follow.
            var by = (y?.Terms ?? []).Where(t => t.OverlayId is not null).Select(t => $"{t.OverlayId}: {t.Citation}")
                .Except((x?.Terms ?? []).Where(t => t.OverlayId is not null).Select(t => $"{t.OverlayId}: {t.Citation}")).ToList();
            var readers = b.Tables.Concat(a.Tables).SelectMany(t => t.Rows).Where(r => Reads(r, name)).Select(r => r.Id).Distinct().ToList();
            var note = string.Join("; ", by.Concat(readers.Count > 0 ? [$"read by {string.Join(", ", readers)}"] : []));
            Add(response.Quantities, "quantity", name, x is null ? null : Terms(x), y is null ? null : Terms(y), note);
        }

        foreach (var key in a.Policies.Keys.Union(b.Policies.Keys).Order(StringComparer.Ordinal))
            Add(response.Policies, "policy", key, a.Policies.GetValueOrDefault(key), b.Policies.GetValueOrDefault(key), "");
        var (fa, fb) = (AllocationFigures(a), AllocationFigures(b));
        foreach (var key in fa.Keys.Union(fb.Keys).Order(StringComparer.Ordinal))
            Add(response.Policies, "allocation", key, fa.GetValueOrDefault(key), fb.GetValueOrDefault(key), "");
        return response;
    }

    private static IEnumerable<V1.FieldChange> Changes(RowDefinition a, RowDefinition b)
    {
        var list = new List<V1.FieldChange>();
        var note = string.Join("; ", b.PatchedBy.Except(a.PatchedBy));
        Add(list, "label", "label", a.Label, b.Label, note);
        Add(list, "citation", "citation", a.Citation, b.Citation, note);
        Add(list, "quota", "quota", a.QuotaId, b.QuotaId, note);
        Add(list, "condition", "when", a.When?.Text, b.When?.Text, note);
        Add(list, "base", "base", string.Join(", ", a.BasePatterns), string.Join(", ", b.BasePatterns), note);
        Add(list, "provenance", "provenance", Provenance(a), Provenance(b), note);
        Add(list, "replaced", "expressions", a.ReplacedBy, b.ReplacedBy, note);
        foreach (var name in a.Figures.Select(f => f.Name).Union(b.Figures.Select(f => f.Name)).Order(StringComparer.Ordinal))
            Add(list, "figure", name, Figure(a.Figures, name), Figure(b.Figures, name), note);
        var wa = a.Windowed;
        var wb = b.Windowed;
        foreach (var name in (wa?.Figures ?? []).Select(f => f.Name).Union((wb?.Figures ?? []).Select(f => f.Name)).Order(StringComparer.Ordinal))
        {
            var w = (wb ?? wa)!;
            Add(list, "windowed figure", name,
                wa is null ? Figure(a.Figures, name) : $"{Figure(wa.Figures, name)} from {wa.From:yyyy-MM-dd} to {wa.To:yyyy-MM-dd}",
                wb is null ? Figure(b.Figures, name) : $"{Figure(wb.Figures, name)} from {wb.From:yyyy-MM-dd} to {wb.To:yyyy-MM-dd}",
                $"{w.OverlayId}: {w.Citation}");
        }
        foreach (var role in a.Cells.Select(c => c.Role).Union(b.Cells.Select(c => c.Role)).Order())
        {
            var ca = a.Cells.FirstOrDefault(c => c.Role == role);
            var cb = b.Cells.FirstOrDefault(c => c.Role == role);
            var key = RoleNames.Key(role);
            Add(list, "points", key, ca?.Points.Text, cb?.Points.Text, note);
            Add(list, "condition", key, ca?.When?.Text, cb?.When?.Text, note);
        }
        return list;
    }

    /// <summary>A quantity as its terms: "Work.BoxOfficeTotal + derogation_revenue (covid-19, 2020-02-23..2022-03-31)".</summary>
    private static string Terms(QuantityDefinition q) =>
        string.Concat(q.Terms.Select((t, i) => (i == 0 ? (t.Subtract ? "- " : "") : t.Subtract ? " - " : " + ") +
            (q.Terms.Count > 1 ? "(" + t.Expr.Text + ")" : t.Expr.Text) +
            (t.OverlayId is { } o ? $" [{o}{(t.Window is { } w ? $", {w.From:yyyy-MM-dd}..{w.To:yyyy-MM-dd}" : "")}]" : "")));

    /// <summary>Whether a row's expressions name the quantity (as a whole identifier).</summary>
    private static bool Reads(RowDefinition r, string name) =>
        new[] { r.When }.Concat(r.Cells.SelectMany(c => new[] { c.When, c.Points })).Any(e => e is not null &&
            RulePlan.Names(e.Text, name));

    private static string Provenance(RowDefinition r) =>
        r.Provenance.ToString().ToLowerInvariant() + (r.Borrows is { } b ? $" (borrows {b})" : "");

    private static string? Figure(IReadOnlyList<Figure> figures, string name) =>
        figures.FirstOrDefault(f => f.Name == name) is { } f ? Engine.Rules.Figure.Show(f.Value, f.Unit, "0.############") : null;

    private static Dictionary<string, string> AllocationFigures(RuleSetDefinition d)
    {
        var r = new Dictionary<string, string>(StringComparer.Ordinal);
        if (d.Allocation is not { } a) return r;
        r["work cap"] = $"{Pct(a.WorkCap.Value)} ({a.WorkCap.Citation})";
        r["company cap"] = $"{Pct(a.CompanyCap.Value)} ({a.CompanyCap.Citation})";
        r["credit expiry"] = $"{Num(a.CreditExpiryYears.Value)} years ({a.CreditExpiryYears.Citation})";
        if (a.AuthorsShares is { } au) r["authors' shares"] = $"{Pct(au.Percent)} x {string.Join(", ", au.Categories)} ({au.Citation})";
        if (a.NetWorthMinimum is { } nw) r["net worth"] = $"EUR {Num(nw.Value)}, short films EUR {Num(a.NetWorthMinimumShortFilms ?? nw.Value)} ({nw.Citation})";
        if (a.Coproduction is { } cp)
            r["co-production threshold"] = $"{Pct(cp.MinimumShare)}, {Pct(cp.ReducedShare)} from EUR {Num(cp.ReducedFromCost)} or multilateral ({cp.Citation})";
        foreach (var (role, ap) in a.Applicants.OrderBy(x => x.Key))
            r[$"applicants {RoleNames.Key(role)}"] = $"ATECO {string.Join(", ", ap.Ateco)}" +
                (ap.IndependentFor.Count > 0 ? $"; independent for {string.Join(", ", ap.IndependentFor)}" : "") + $" ({ap.Citation})";
        return r;
    }

    private static void Add(ICollection<V1.FieldChange> list, string kind, string field, string? before, string? after, string note)
    {
        if (string.Equals(before ?? "", after ?? "", StringComparison.Ordinal)) return;
        list.Add(new V1.FieldChange { Kind = kind, Field = field, Before = before ?? "", After = after ?? "", Note = note });
    }

    private static string Num(decimal d) => d.ToString("0.############", Inv);

    private static string Pct(decimal d) => Num(d) + "%";
}
