using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Engine.Law;

/// <summary>
/// The law beside the rules: each version's decree text (<see cref="DecreeText.FileName"/> in its folder), attached to
/// its definition and to its overlays', and every row's cite resolved in it. A row (or an overlay's row patch) whose cite
/// names no paragraph of the text is refused (and a table whose cite does) at the cite's file:line, naming the reference that failed. A rule set whose
/// folder (or, for an overlay, whose version's folder) has no text is not checked. Figures' cites are quotations of the
/// decree's words, not addresses: they are not resolved.
/// </summary>
public static class RuleSetLaw
{
    /// <summary>
    /// The definitions with their text attached (<see cref="RuleSetDefinition.LawText"/>); problems go to
    /// <paramref name="errors"/>. A rule set with a cite that resolves to nothing is left out (refused, not compiled), and so
    /// are the overlays of a version left out (they would only add follow-on errors).
    /// </summary>
    public static List<RuleSetDefinition> Attach(IReadOnlyList<RuleSetDefinition> definitions, List<RuleError> errors) =>
        Attach(definitions, errors, check: true);

    /// <summary>
    /// As <see cref="Attach(IReadOnlyList{RuleSetDefinition}, List{RuleError})"/>; without <paramref name="check"/> (every
    /// folder read from the cache, which holds only folders whose cites resolved, with their texts' bytes in their content
    /// hashes), each text is attached to be read when first asked for, and nothing is parsed now.
    /// </summary>
    public static List<RuleSetDefinition> Attach(IReadOnlyList<RuleSetDefinition> definitions, List<RuleError> errors, bool check)
    {
        if (!check)
        {
            var folders = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var d in definitions.Where(d => d.Overlay is null)) folders[d.Id] = d.Directory;
            return [.. definitions.Select(d => folders.TryGetValue(d.Overlay?.Patches ?? d.Id, out var dir)
                ? d with { LawSource = new Lazy<DecreeText?>(() => DecreeText.Load(dir, [])) }
                : d)];
        }
        var texts = new Dictionary<string, DecreeText?>(StringComparer.Ordinal);
        var refused = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in definitions.Where(d => d.Overlay is null))
        {
            var before = errors.Count;
            texts[d.Id] = DecreeText.Load(d.Directory, errors);
            if (errors.Count > before) refused.Add(d.Id);
        }
        var files = new CiteLocator();
        var attached = new List<RuleSetDefinition>(definitions.Count);
        foreach (var d in definitions)
        {
            var text = texts.GetValueOrDefault(d.Overlay?.Patches ?? d.Id);
            var before = errors.Count;
            if (text is not null)
            {
                foreach (var table in d.Tables)
                    Check(text, table.Citation, $"table {table.Id}", () => files.Cite(new SourceLocation(table.File, 1)), errors);
                foreach (var row in d.Tables.SelectMany(t => t.Rows))
                    Check(text, row.Citation, $"row {row.Id}", () => files.Cite(row.Location), errors);
                foreach (var patch in d.Overlay?.Rows ?? [])
                    Check(text, patch.Citation, patch.Action == PatchAction.Add ? $"row {patch.RowId} (added by {d.Id})" : $"{d.Id}'s {patch.Action.ToString().ToLowerInvariant()} patch of {patch.RowId}",
                        () => files.Cite(patch.Location), errors);
            }
            if (errors.Count > before) refused.Add(d.Id);
            attached.Add(text is null ? d : d with { LawSource = new Lazy<DecreeText?>(text) });
        }
        return [.. attached.Where(d => !refused.Contains(d.Id) && (d.Overlay is null || !refused.Contains(d.Overlay.Patches)))];
    }

    /// <summary>Resolves a cite; each problem an error at the cite (found in its file only then: a load with none reads no rule file again).</summary>
    private static void Check(DecreeText text, string cite, string what, Func<SourceLocation> where, List<RuleError> errors)
    {
        text.Resolve(cite, out var problems);
        if (problems.Count == 0) return;
        var at = where();
        foreach (var problem in problems)
            errors.Add(new RuleError(at.File, at.Line, $"{what}: cite \"{cite}\": {problem}", at.Column));
    }

    /// <summary>
    /// Where a row's <c>cite:</c> is written: the definitions keep the row's place (its first key), not each key's, so the
    /// key is found in the file's lines below it, at the row's indentation (or on the row's own line, in flow style).
    /// </summary>
    private sealed class CiteLocator
    {
        private readonly Dictionary<string, string[]> _lines = new(StringComparer.Ordinal);

        public SourceLocation Cite(SourceLocation row)
        {
            if (!_lines.TryGetValue(row.File, out var lines))
            {
                try { lines = File.ReadAllLines(row.File); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { lines = []; }
                _lines[row.File] = lines;
            }
            if (row.Line < 1 || row.Line > lines.Length) return row;
            var indent = row.Column - 1;
            var first = lines[row.Line - 1];
            var flow = first.IndexOf("cite:", Math.Min(indent, first.Length), StringComparison.Ordinal);
            if (first[Math.Min(indent, first.Length)..].StartsWith('{'))
                return flow >= 0 ? row with { Column = flow + 1 } : row;
            if (first.Length > indent && first[indent..].StartsWith("cite:", StringComparison.Ordinal)) return row;
            for (var i = row.Line; i < lines.Length; i++)
            {
                var line = lines[i];
                var content = line.TrimStart();
                if (content.Length == 0 || content.StartsWith('#')) continue;
                var at = line.Length - content.Length;
                if (at < indent) break;
                if (at == indent && content.StartsWith("cite:", StringComparison.Ordinal)) return row with { Line = i + 1, Column = at + 1 };
            }
            return row;
        }
    }
}
