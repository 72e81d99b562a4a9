namespace ContributiAutomatici.Engine.Rules;

/// <summary>
/// A rule set with a reform applied, as one rule set definition. Rows are switched off, added and replaced by the overlay
/// machinery (<see cref="OverlayMerger"/>: the reform is an overlay in force on every date); figures, list entries,
/// quotas, caps and policies are set by name. Every name the reform uses must exist (refused at its line, with the nearest
/// names), quotas must still add up as the manifest requires, and nothing is half-applied: null with the errors.
/// </summary>
public static class ReformMerger
{
    public static RuleSetDefinition? Apply(RuleSetDefinition law, ReformDefinition reform, Func<string, RuleSetDefinition?> others, List<RuleError> errors)
    {
        var before = errors.Count;
        var def = law;
        var rows = reform.Changes.OfType<RowChange>().Select(c => c.Patch).ToList();
        if (rows.Count > 0)
        {
            // The reform as an overlay of the rule set, in force on every date: its rows are added, replaced or switched off
            // exactly as an overlay's are, with the same refusals ("reform R disables row X, which dm-2021 does not have").
            var overlay = law with
            {
                Id = reform.Id, Kind = RuleSetKind.Reform, Patches = law.Id, Tables = [], Lists = [], Quantities = [], AppliedOverlays = [],
                Overlay = new OverlayDefinition(law.Id, false, DateOnly.MinValue, DateOnly.MaxValue, rows),
            };
            if (OverlayMerger.Apply(law, [overlay], errors) is not { } merged) return null;
            var quotaIds = law.Quotas.Select(q => q.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var p in rows.Where(p => p.Row is { QuotaId.Length: > 0 } r && !quotaIds.Contains(r.QuotaId)))
                errors.Add(new RuleError(p.Location.File, p.Location.Line,
                    $"reform {reform.Id}: row {p.RowId} goes to quota '{p.Row!.QuotaId}', which {law.Id} does not have{YamlKeys.Suggestion(p.Row.QuotaId, quotaIds)}"));
            def = merged with { Id = law.Id, AppliedOverlays = law.AppliedOverlays };
            if (FigureReferences.Resolve(def, others, errors) is not { } resolved || errors.Count > before) return null;
            def = resolved;
        }
        var tables = def.Tables.Select(t => t with { Sections = t.Sections.Select(s => s with { Rows = s.Rows.ToList() }).ToList() }).ToList();
        var changed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in reform.Changes.OfType<FigureChange>())
            SetFigure(tables, law, reform, f, changed, errors);
        // The law's lists themselves when the reform changes none (the compiled lists and the works' resolved entries are shared).
        var listChanges = reform.Changes.OfType<ListChange>().ToList();
        var lists = listChanges.Count == 0 ? def.Lists : def.Lists.ToList();
        foreach (var l in listChanges)
            ChangeList((List<ListDefinition>)lists, law, l, errors);
        var quotas = ChangeQuotas(law, reform, errors);
        var allocation = def.Allocation;
        var policies = new Dictionary<string, string>(def.Policies);
        foreach (var a in reform.Changes.OfType<AllocationChange>())
        {
            if (allocation is null)
            {
                errors.Add(new RuleError(a.Location.File, a.Location.Line, $"reform {reform.Id}: {law.Id} has no allocation block to change"));
                continue;
            }
            var cite = $"reform {reform.Id}";
            allocation = a.Item switch
            {
                AllocationItem.WorkCap => allocation with { WorkCap = new CitedFigure(a.Percent, cite) },
                AllocationItem.CompanyCap => allocation with { CompanyCap = new CitedFigure(a.Percent, cite) },
                _ => allocation with { DefaultExcess = RuleFileParser.ExcessPolicyOf(a.Policy) },
            };
            if (a.Item == AllocationItem.ExcessPolicy) policies["excess"] = a.Policy;
        }
        if (errors.Count > before) return null;
        return def with
        {
            Id = law.Id + "@" + reform.Id,
            Tables = tables, Lists = lists, Quotas = quotas, Allocation = allocation, Policies = policies,
            ContentHash = Sha256.HexOf(law.ContentHash + "\nreform:" + reform.ContentHash),
            Reform = new AppliedReform(reform.Id, reform.Title, reform.ContentHash, reform.FigureOnly),
        };
    }

    /// <summary>
    /// A figure set where it is defined, and in every row that refers to it (<c>{ ref: ... }</c>): the Covid-19 overlay's
    /// +100% row reads T1.A.1's tiers, and follows. From a date: the rows' figures for the results dated from then.
    /// </summary>
    private static void SetFigure(List<TableDefinition> tables, RuleSetDefinition law, ReformDefinition reform, FigureChange f,
        HashSet<string> changed, List<RuleError> errors)
    {
        void Error(string message) => errors.Add(new RuleError(f.Location.File, f.Location.Line, $"reform {reform.Id}: {message}", f.Location.Column));
        var cut = f.Path.LastIndexOf('.');
        var allRows = tables.SelectMany(t => t.Rows).ToList();
        if (cut <= 0)
        {
            Error($"'{f.Path}' is not a figure's path ROW.figure (e.g. T1.A.1.tier_1_eur_per_point)");
            return;
        }
        var (rowId, name) = (f.Path[..cut], f.Path[(cut + 1)..]);
        if (allRows.FirstOrDefault(r => r.Id == rowId) is not { } row)
        {
            Error($"figure {f.Path} names row {rowId}, which {law.Id} does not have{YamlKeys.Suggestion(rowId, allRows.Select(r => r.Id))}");
            return;
        }
        if (row.Figures.FirstOrDefault(x => x.Name == name) is not { } figure)
        {
            Error($"figure {f.Path}: row {rowId} has {(row.Figures.Count == 0 ? "no figures" : "no figure " + name)}" +
                  YamlKeys.Suggestion(name, row.Figures.Select(x => x.Name)) +
                  (row.Figures.Count > 0 ? $" (its figures: {string.Join(", ", row.Figures.Select(x => x.Name))})" : ""));
            return;
        }
        if (figure.Ref is not null)
        {
            Error($"figure {f.Path} is {figure.Ref}'s, read by reference: change {figure.Ref} (every row that reads it follows)");
            return;
        }
        if (!changed.Add(f.Path))
        {
            Error($"figure {f.Path} is changed twice");
            return;
        }
        if (RuleFileParser.EuroProblem(f.Text.Length > 0 ? f.Text : f.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), figure.Unit) is { } problem)
        {
            Error($"figure {f.Path} = {problem}");
            return;
        }
        var defined = figure.Location;
        var cite = f.Citation.Length > 0 ? f.Citation : $"reform {reform.Id}";
        foreach (var t in tables)
            foreach (var s in t.Sections)
            {
                var list = (List<RowDefinition>)s.Rows;
                for (var i = 0; i < list.Count; i++)
                {
                    var r = list[i];
                    var at = r.Figures.Select((x, k) => (x, k)).Where(p => ReferenceEquals(r, row) ? p.x.Name == name && p.x.Ref is null : p.x.ResolvedFrom == defined)
                        .Select(p => p.k).ToList();
                    if (at.Count == 0) continue;
                    if (f.From is { } from)
                    {
                        if (r.Windowed is not null || r.BasePatterns.Count > 0)
                        {
                            Error($"figure {f.Path} cannot change from {from:yyyy-MM-dd} in row {r.Id}, which " +
                                  (r.Windowed is not null ? $"already has dated figures ({r.Windowed.OverlayId})" : "takes a base") + ": change it on every date");
                            continue;
                        }
                        var dated = at.Select(k => r.Figures[k] with { Value = f.Value, Citation = cite }).ToList();
                        list[i] = r with { Windowed = new WindowedFigures(reform.Id, from, DateOnly.MaxValue, dated, cite), PatchedBy = [.. r.PatchedBy, $"{reform.Id}: {cite}"] };
                    }
                    else
                    {
                        var figures = r.Figures.ToList();
                        foreach (var k in at) figures[k] = figures[k] with { Value = f.Value, Citation = cite };
                        list[i] = r with { Figures = figures, PatchedBy = [.. r.PatchedBy, $"{reform.Id}: {cite}"] };
                    }
                    if (ReferenceEquals(r, row)) row = list[i];
                }
            }
    }

    private static void ChangeList(List<ListDefinition> lists, RuleSetDefinition law, ListChange c, List<RuleError> errors)
    {
        void Error(string message) => errors.Add(new RuleError(c.Location.File, c.Location.Line, message, c.Location.Column));
        var i = lists.FindIndex(l => l.Kind == c.Kind);
        if (i < 0)
        {
            Error($"{law.Id} has no list {c.Kind} (its lists: {string.Join(", ", lists.Select(l => l.Kind))})");
            return;
        }
        var list = lists[i];
        if (c.RemoveId is { } id)
        {
            if (list.Entries.All(e => e.Id != id)) Error($"list {c.Kind} of {law.Id} has no entry '{id}'{YamlKeys.Suggestion(id, list.Entries.Select(e => e.Id))}");
            else lists[i] = list with { Entries = list.Entries.Where(e => e.Id != id).ToList() };
            return;
        }
        var entry = c.Entry!;
        if (list.Entries.Any(e => e.Id == entry.Id && e.Band == entry.Band && e.Category == entry.Category))
            Error($"list {c.Kind} of {law.Id} already has '{entry.Id}'{(entry.Band is null ? "" : " in band " + entry.Band)} in list {entry.Category}");
        else if (list.Entries.FirstOrDefault(e => e.Id == entry.Id && e.Name != entry.Name) is { } other)
            Error($"id '{entry.Id}' already names '{other.Name}' in list {c.Kind}; one id, one entry");
        else if (list.Entries.Count > 0 && list.Entries.All(e => e.Category != entry.Category))
            Error($"list {c.Kind} has no category '{entry.Category}'{YamlKeys.Suggestion(entry.Category, list.Entries.Select(e => e.Category).Distinct())}");
        else lists[i] = list with { Entries = [.. list.Entries, entry] };
    }

    /// <summary>The quotas with the reform's shares; the shares of each parent's sub-quotas, and the quotas, still add up to 100%.</summary>
    private static IReadOnlyList<QuotaDefinition> ChangeQuotas(RuleSetDefinition law, ReformDefinition reform, List<RuleError> errors)
    {
        var changes = reform.Changes.OfType<QuotaChange>().ToList();
        if (changes.Count == 0) return law.Quotas;
        var quotas = law.Quotas.ToList();
        var lastChange = new Dictionary<string, QuotaChange>(StringComparer.Ordinal); // per parent ("" for the quotas), the last change in it
        foreach (var c in changes)
        {
            var i = quotas.FindIndex(q => q.Id == c.QuotaId);
            if (i < 0)
            {
                errors.Add(new RuleError(c.Location.File, c.Location.Line,
                    $"reform {reform.Id}: quota '{c.QuotaId}' does not exist in {law.Id}{YamlKeys.Suggestion(c.QuotaId, quotas.Select(q => q.Id))}", c.Location.Column));
                continue;
            }
            quotas[i] = quotas[i] with { SharePercent = c.SharePercent, Citation = $"reform {reform.Id}" };
            lastChange[quotas[i].ParentId ?? ""] = c;
        }
        foreach (var (parent, c) in lastChange)
        {
            var siblings = quotas.Where(q => (q.ParentId ?? "") == parent).ToList();
            var lawSum = law.Quotas.Where(q => (q.ParentId ?? "") == parent).Sum(q => q.SharePercent);
            var sum = siblings.Sum(q => q.SharePercent);
            if (sum != lawSum)
                errors.Add(new RuleError(c.Location.File, c.Location.Line,
                    $"reform {reform.Id}: {(parent.Length == 0 ? "the quotas" : $"the sub-quotas of '{parent}'")} add up to {sum}%, not {lawSum}% " +
                    $"({string.Join(" + ", siblings.Select(q => $"{q.Id} {q.SharePercent}"))}): change another share too", c.Location.Column));
        }
        return quotas;
    }
}
