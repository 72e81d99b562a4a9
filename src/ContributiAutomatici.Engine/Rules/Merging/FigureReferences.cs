namespace ContributiAutomatici.Engine.Rules;

/// <summary>
/// Resolves the figures a row refers to instead of defining (<c>{ ref: T1.A.1.tier_1_up_to }</c>) and the rows a provisional
/// row borrows (<c>borrows: dm-2021/T1.A.1</c>: every figure of that row it does not state itself), so that each figure is
/// defined in one place and read everywhere else by its path. A path is <c>ROW.figure</c> within the rule set (for an
/// overlay's rows: the version with the overlay applied), or <c>RULESET/ROW.figure</c> in another loaded version. A path
/// that names nothing is refused with the file and line of the reference; a borrowing row that states a figure with the
/// borrowed value is refused as a copy.
/// </summary>
public static class FigureReferences
{
    /// <summary>
    /// The rule set with every reference resolved, or null with the errors added. <paramref name="others"/> finds another
    /// loaded version by id. When a figure comes from another version, the content hash covers that version's too (what the
    /// rule set scores depends on it, and its compiled image is keyed by it). With <paramref name="othersIncomplete"/> (a folder
    /// of the rules was refused), a reference to a rule set that is not loaded is not reported again: that folder's own
    /// errors say why.
    /// </summary>
    public static RuleSetDefinition? Resolve(RuleSetDefinition def, Func<string, RuleSetDefinition?> others, List<RuleError> errors,
        bool othersIncomplete = false)
    {
        // A reference into a rule set that is not loaded because its folder was refused: that folder's errors say why.
        var report = errors;
        errors = [];
        var borrowedSets = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var changed = false;
        var tables = def.Tables.Select(t => t with
        {
            Sections = t.Sections.Select(s => s with
            {
                Rows = s.Rows.Select(r =>
                {
                    var resolved = ResolveRow(def, r, others, borrowedSets, errors);
                    changed |= !ReferenceEquals(resolved, r);
                    return resolved;
                }).ToList(),
            }).ToList(),
        }).ToList();
        var lists = def.Lists.Select(l => ResolveList(def, l, others, borrowedSets, errors, ref changed)).ToList();
        foreach (var e in errors)
            if (!(othersIncomplete && e.Message.Contains(NotLoaded, StringComparison.Ordinal))) report.Add(e);
        if (errors.Count > 0) return null;
        if (!changed) return def;
        var hash = borrowedSets.Count == 0
            ? def.ContentHash
            : Sha256.HexOf(string.Join("\n", new[] { def.ContentHash }.Concat(borrowedSets.Select(b => b.Key + ":" + b.Value))));
        return def with { Tables = tables, Lists = lists, ContentHash = hash };
    }

    /// <summary>
    /// A list that borrows another version's (<c>borrows: dm-2021/festivals</c>): that list's entries, each citing its own
    /// decree, less the ids it removes, plus the entries it states; a list or removed id that does not exist is refused.
    /// </summary>
    private static ListDefinition ResolveList(RuleSetDefinition def, ListDefinition list, Func<string, RuleSetDefinition?> others,
        SortedDictionary<string, string> borrowedSets, List<RuleError> errors, ref bool changed)
    {
        if (list.Borrows is not { } path) return list;
        var at = list.BorrowsLocation ?? new SourceLocation(list.File, 1);
        var slash = path.IndexOf('/');
        var (setId, kind) = (path[..slash], path[(slash + 1)..]);
        if (others(setId) is not { } set)
        {
            errors.Add(new RuleError(at.File, at.Line, $"list {list.Kind} borrows '{path}', which names rule set '{setId}', {NotLoaded}", at.Column));
            return list;
        }
        if (set.Lists.FirstOrDefault(l => l.Kind == kind) is not { } lent)
        {
            errors.Add(new RuleError(at.File, at.Line,
                $"list {list.Kind} borrows '{path}', but {setId} has no list {kind}{YamlKeys.Suggestion(kind, set.Lists.Select(l => l.Kind))}", at.Column));
            return list;
        }
        if (lent.Borrows is not null)
            errors.Add(new RuleError(at.File, at.Line, $"list {list.Kind} borrows '{path}', which borrows in turn: borrow the list that states its entries", at.Column));
        foreach (var id in list.Removes.Where(id => lent.Entries.All(e => e.Id != id)))
            errors.Add(new RuleError(at.File, at.Line, $"list {list.Kind} removes '{id}', which {path} does not list{YamlKeys.Suggestion(id, lent.Entries.Select(e => e.Id))}", at.Column));
        borrowedSets[set.Id] = set.ContentHash;
        changed = true;
        var prefix = set.Decree.Length > 0 ? set.Decree + ", " : set.Id + ": ";
        var entries = lent.Entries.Where(e => !list.Removes.Contains(e.Id)).Select(e => e with { Citation = prefix + e.Citation }).Concat(list.Entries).ToList();
        var kept = entries.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        // The lender's groups, less the ids this list removes, then the groups this file states (a group of the same
        // name replaces the lender's: a difference stated, like an entry).
        var groups = lent.Groups.Where(g => list.Groups.All(o => o.Name != g.Name))
            .Select(g => g with { Citation = prefix + g.Citation, Ids = [.. g.Ids.Where(kept.Contains)] })
            .Concat(list.Groups).ToList();
        var resolved = list with { Entries = entries, Groups = groups };
        RuleFileParser.CheckGroups(resolved, errors);
        return resolved;
    }

    private static RowDefinition ResolveRow(RuleSetDefinition def, RowDefinition row, Func<string, RuleSetDefinition?> others,
        SortedDictionary<string, string> borrowedSets, List<RuleError> errors)
    {
        var figures = row.Figures.ToList();
        var touched = false;
        if (row.Borrows is { } borrows)
        {
            if (FindRow(def, borrows, others, out var set) is not { } lent)
                errors.Add(new RuleError(row.Location.File, row.Location.Line,
                    $"row {row.Id} borrows '{borrows}', which {Missing(def, borrows, others)} (write RULESET/ROW, e.g. dm-2021/T1.A.1)", row.Location.Column));
            else
            {
                if (!ReferenceEquals(set, def)) borrowedSets[set.Id] = set.ContentHash;
                foreach (var f in lent.Figures)
                {
                    var mine = figures.FindIndex(x => x.Name == f.Name);
                    var path = $"{Prefix(set, def)}{lent.Id}.{f.Name}";
                    var target = Follow(set, lent, f, others, errors, row);
                    if (mine < 0) figures.Add(Resolved(f.Name, path, target, row.Location));
                    else if (figures[mine].Ref is null && target is not null && figures[mine].Value == target.Value)
                        errors.Add(new RuleError(figures[mine].Location.File, figures[mine].Location.Line,
                            $"row {row.Id}: figure {f.Name} = {figures[mine].Value} copies {path}, which the row borrows: remove it (state a figure only where it differs)",
                            figures[mine].Location.Column));
                }
                touched = true;
            }
        }
        for (var i = 0; i < figures.Count; i++)
        {
            if (!figures[i].Unresolved) continue;
            var f = figures[i];
            var cut = f.Ref!.LastIndexOf('.');
            if (cut <= 0 || FindRow(def, f.Ref[..cut], others, out var set) is not { } target)
            {
                errors.Add(new RuleError(f.Location.File, f.Location.Line,
                    $"row {row.Id}: figure {f.Name} refers to '{f.Ref}', which {(cut <= 0 ? "is not a path ROW.figure" : Missing(def, f.Ref[..cut], others))}", f.Location.Column));
                continue;
            }
            var name = f.Ref[(cut + 1)..];
            if (target.Figures.FirstOrDefault(x => x.Name == name) is not { } defined)
            {
                errors.Add(new RuleError(f.Location.File, f.Location.Line,
                    $"row {row.Id}: figure {f.Name} refers to '{f.Ref}', but row {target.Id} has no figure {name}" +
                    YamlKeys.Suggestion(name, target.Figures.Select(x => x.Name)), f.Location.Column));
                continue;
            }
            if (!ReferenceEquals(set, def)) borrowedSets[set.Id] = set.ContentHash;
            if (Follow(set, target, defined, others, errors, row) is { } value)
            {
                figures[i] = Resolved(f.Name, f.Ref, value, f.Location);
                // A scale read by reference brings its bands' figures, read from the same row, unless the row names them itself.
                foreach (var band in value.Bands?.SelectMany(b => new[] { b.UpTo, b.Per }) ?? [])
                    if (figures.All(x => x.Name != band) && target.Figures.FirstOrDefault(x => x.Name == band) is { } bf)
                        figures.Add(Resolved(band, f.Ref[..cut] + "." + band, Follow(set, target, bf, others, errors, row), f.Location));
            }
            touched = true;
        }
        CheckScales(row, figures, errors);
        return touched ? row with { Figures = figures } : row;
    }

    /// <summary>
    /// A scale's bands name figures of its row, each an amount (EUR), the upper bounds rising and the euro per point above
    /// zero: a scale that could not be applied as written is refused at load, not found wrong in a score.
    /// </summary>
    private static void CheckScales(RowDefinition row, List<Figure> figures, List<RuleError> errors)
    {
        foreach (var scale in figures.Where(f => f.Bands is not null && f.Ref is null))
        {
            var floor = 0m;
            foreach (var (upTo, per) in scale.Bands!)
            {
                var bound = figures.FirstOrDefault(f => f.Name == upTo);
                var rate = figures.FirstOrDefault(f => f.Name == per);
                foreach (var (n, f) in new[] { (upTo, bound), (per, rate) })
                    if (f is null)
                        errors.Add(new RuleError(scale.Location.File, scale.Location.Line,
                            $"row {row.Id}: the scale {scale.Name} names {n}, which is not a figure of the row{YamlKeys.Suggestion(n, figures.Select(x => x.Name))}", scale.Location.Column));
                    else if (f.Bands is not null || f.Unit != "EUR")
                        errors.Add(new RuleError(scale.Location.File, scale.Location.Line,
                            $"row {row.Id}: the scale {scale.Name} names {n}, which is {(f.Bands is null ? $"in {(f.Unit.Length > 0 ? f.Unit : "no unit")}" : "a scale")}: a band is two EUR figures", scale.Location.Column));
                if (bound is null || rate is null || bound.Unresolved || rate.Unresolved) continue;
                if (bound.Value <= floor)
                    errors.Add(new RuleError(scale.Location.File, scale.Location.Line,
                        $"row {row.Id}: the scale {scale.Name}: {upTo} = {bound.Value} is not above the band below it ({floor}); bands rise", scale.Location.Column));
                if (rate.Value <= 0)
                    errors.Add(new RuleError(scale.Location.File, scale.Location.Line,
                        $"row {row.Id}: the scale {scale.Name}: {per} = {rate.Value}: a band's euro per point is above zero", scale.Location.Column));
                floor = bound.Value;
            }
        }
    }

    /// <summary>A referenced figure, followed through further references (a reference to a reference) to its definition.</summary>
    private static Figure? Follow(RuleSetDefinition set, RowDefinition row, Figure f, Func<string, RuleSetDefinition?> others, List<RuleError> errors,
        RowDefinition from, int depth = 0)
    {
        if (!f.Unresolved) return f;
        if (depth > 8)
        {
            errors.Add(new RuleError(from.Location.File, from.Location.Line, $"row {from.Id}: figure references go round in a circle at {row.Id}.{f.Name}"));
            return null;
        }
        var cut = f.Ref!.LastIndexOf('.');
        if (cut <= 0 || FindRow(set, f.Ref[..cut], others, out var s) is not { } r || r.Figures.FirstOrDefault(x => x.Name == f.Ref[(cut + 1)..]) is not { } next)
            return null; // reported where it is written
        return Follow(s, r, next, others, errors, from, depth + 1);
    }

    private static Figure Resolved(string name, string path, Figure? target, SourceLocation at) =>
        target is null
            ? new Figure(name, 0m, "", "", at) { Ref = path }
            : new Figure(name, target.Value, target.Unit, target.Citation, at) { Ref = path, ResolvedFrom = target.ResolvedFrom ?? target.Location, Bands = target.Bands };

    /// <summary>"RULESET/ROW" in another version, or "ROW" in this rule set.</summary>
    private static RowDefinition? FindRow(RuleSetDefinition def, string path, Func<string, RuleSetDefinition?> others, out RuleSetDefinition set)
    {
        set = def;
        var slash = path.IndexOf('/');
        if (slash >= 0)
        {
            var id = path[..slash];
            if (id != def.Id && id != def.BaseId)
            {
                if (others(id) is not { } other) return null;
                set = other;
            }
            path = path[(slash + 1)..];
        }
        foreach (var t in set.Tables)
            foreach (var s in t.Sections)
                foreach (var r in s.Rows)
                    if (r.Id == path) return r;
        return null;
    }

    private static string Missing(RuleSetDefinition def, string path, Func<string, RuleSetDefinition?> others)
    {
        var slash = path.IndexOf('/');
        if (slash >= 0 && path[..slash] is var id && id != def.Id && id != def.BaseId && others(id) is null) return $"names rule set '{id}', {NotLoaded}";
        var set = slash >= 0 && others(path[..slash]) is { } o ? o : def;
        var rowId = slash >= 0 ? path[(slash + 1)..] : path;
        return $"names row {rowId}, which {set.Id} does not have{YamlKeys.Suggestion(rowId, set.Tables.SelectMany(t => t.Rows).Select(r => r.Id))}";
    }

    private const string NotLoaded = "which is not loaded";

    private static string Prefix(RuleSetDefinition set, RuleSetDefinition def) => ReferenceEquals(set, def) ? "" : set.Id + "/";
}
