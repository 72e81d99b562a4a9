using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tooling;

/// <summary>A rule-set diff (<see cref="Protocol.RuleSetDiff.Compare"/>, the DiffRuleSets answer) as text for people: the CLI's.</summary>
public static class RuleSetDiffText
{
    /// <summary>The diff for people: one line per change.</summary>
    public static void Write(V1.DiffRuleSetsResponse d, TextWriter w)
    {
        w.WriteLine($"{d.A} (sha256 {Short(d.AContentHash)}) -> {d.B} (sha256 {Short(d.BContentHash)})");
        if (d.Rows.Count + d.Quotas.Count + d.Policies.Count + d.Quantities.Count == 0)
        {
            w.WriteLine("no differences");
            return;
        }
        foreach (var r in d.Rows)
        {
            var sign = r.Change switch { "added" => "+", "removed" => "-", _ => "~" };
            w.WriteLine($"{sign} {r.RowId,-18} {r.Label}  [{r.Citation}]");
            foreach (var c in r.Changes)
                w.WriteLine($"    {c.Kind} {c.Field}: {Show(c.Before)} -> {Show(c.After)}{(c.Note.Length > 0 ? $"  ({c.Note})" : "")}");
        }
        foreach (var c in d.Quantities)
            w.WriteLine($"~ quantity {c.Field}: {Show(c.Before)} -> {Show(c.After)}{(c.Note.Length > 0 ? $"  ({c.Note})" : "")}");
        foreach (var c in d.Quotas) w.WriteLine($"~ quota {c.Field} {c.Kind}: {Show(c.Before)} -> {Show(c.After)}");
        foreach (var c in d.Policies) w.WriteLine($"~ {c.Kind} {c.Field}: {Show(c.Before)} -> {Show(c.After)}");
        w.WriteLine($"{d.Rows.Count(r => r.Change == "added")} added, {d.Rows.Count(r => r.Change == "removed")} removed, " +
                    $"{d.Rows.Count(r => r.Change == "changed")} changed rows; {d.Quantities.Count} quantity, {d.Quotas.Count} quota and {d.Policies.Count} policy changes");

        static string Show(string s) => s.Length == 0 ? "(none)" : s;
        static string Short(string h) => h.Length > 16 ? h[..16] : h;
    }
}
