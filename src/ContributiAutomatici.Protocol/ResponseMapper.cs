using System.Globalization;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Protocol;

/// <summary>Maps the engine's results and rule sets onto contributi.v1 messages.</summary>
public static partial class ResponseMapper
{
    /// <summary>Decimals of the points in responses: rounded half away from zero, no trailing zeros.</summary>
    public const int PointsScale = 10;

    /// <summary>A decimal as a canonical string: invariant culture, no trailing zeros ("190", "203.2", not "203.20").</summary>
    public static string Dec(decimal d)
    {
        Span<char> buffer = stackalloc char[64];
        return d == 0m ? "0" : new string(buffer[..Canonical(d, buffer)]);
    }

    /// <summary>The characters of <see cref="Dec(decimal)"/> written into <paramref name="buffer"/> (64 chars): their count.</summary>
    internal static int Canonical(decimal d, Span<char> buffer)
    {
        // The same string as the custom format "0.####…" (28 #), without parsing a format at every call: the invariant
        // digits with their scale, then the trailing zeros of the fraction (and a bare point) cut.
        if (d == 0m)
        {
            buffer[0] = '0';
            return 1;
        }
        d.TryFormat(buffer, out var n, default, CultureInfo.InvariantCulture);
        if (buffer[..n].IndexOf('.') >= 0)
        {
            while (buffer[n - 1] == '0') n--;
            if (buffer[n - 1] == '.') n--;
        }
        return n;
    }

    /// <summary>A work's category by its producers' States (art. 2.f-h) and its art. 5.8 threshold, as the contract carries it.</summary>
    public static V1.CoproductionStatus Coproduction(CoproductionStatus s) => Coproduction(s, new V1.CoproductionStatus());

    /// <summary><see cref="Coproduction(CoproductionStatus)"/> written into <paramref name="into"/> (a new or a reused message).</summary>
    internal static V1.CoproductionStatus Coproduction(CoproductionStatus s, V1.CoproductionStatus into)
    {
        into.Category = (V1.CoproductionCategory)(int)s.Category;
        into.Label = s.Label;
        into.Article = s.Article;
        into.Reason = s.Reason;
        into.ThresholdPercent = s.ThresholdPercent is { } t ? Dec(t, into.ThresholdPercent) : "";
        into.ThresholdArticle = s.ThresholdArticle;
        into.ThresholdReason = s.ThresholdReason;
        return into;
    }

    /// <summary>Points at the documented scale (10 decimals), canonical: equal numbers print equal.</summary>
    public static decimal Points(decimal d) => Math.Round(d, PointsScale, MidpointRounding.AwayFromZero);

    /// <param name="excluded">The results kept out to report; null: the result's own (<see cref="ScoreResult.Excluded"/>).</param>
    /// <param name="coproduction">The work's category (art. 2.f-h) and art. 5.8 threshold, when the caller classed it.</param>
    public static V1.ScoreWorkResponse ToProto(ScoreResult result, IReadOnlyList<Exclusion>? excluded = null, CoproductionStatus? coproduction = null)
    {
        var response = new V1.ScoreWorkResponse { RuleSetId = result.RuleSetId, ContentHash = result.ContentHash, WorkId = result.WorkId };
        if (Said(coproduction)) response.Coproduction = Coproduction(coproduction!);
        excluded ??= result.Excluded;
        if (excluded.Count > 0) response.Excluded.AddRange(excluded.Select(Exclusion));
        if (result.Overlays.Count > 0) response.Overlays.AddRange(result.Overlays);
        response.Incomplete = result.Incomplete;
        foreach (var role in result.Roles)
        {
            // Each row once, in the order the roles name them.
            foreach (var row in role.MissingRows)
                if (!response.MissingRows.Contains(row)) response.MissingRows.Add(row);
            foreach (var row in role.ProvisionalRows)
                if (!response.ProvisionalRows.Contains(row)) response.ProvisionalRows.Add(row);
        }
        // Every number at the points scale, and every total the exact sum of the numbers printed under it: a quota's
        // points are the sum of its lines as printed (without lines: the quota's points at the scale), a role's total
        // the sum of its quotas as printed.
        foreach (var role in result.Roles)
        {
            var rs = new V1.RoleScore { Role = (V1.Role)(int)role.Role };
            var total = 0m;
            foreach (var q in role.Quotas)
            {
                var points = q.Lines.Count > 0 ? q.Lines.Sum(l => Points(l.Points)) : Points(q.Points);
                total += points;
                var qs = new V1.QuotaScore { QuotaId = q.QuotaId, Points = Dec(points) };
                if (q.Lines.Count > 0) qs.Lines.AddRange(q.Lines.Select(Line));
                rs.Quotas.Add(qs);
            }
            rs.TotalPoints = Dec(total);
            if (role.NotApplied.Count > 0) rs.NotApplied.AddRange(role.NotApplied.Select(Line));
            response.Roles.Add(rs);
        }
        return response;
    }

    /// <summary>
    /// Whether an answer says the work's category: a co-production's, compartecipazione's or one declared; not a national
    /// work's (most works: nothing added to their answer, as in the allocation's statements).
    /// </summary>
    private static bool Said(CoproductionStatus? s) => s is not null && s.Category != Engine.Model.CoproductionCategory.National;

    // One reused totals buffer per thread: the scoring between two awaits runs on one thread, and the totals are read before it returns.
    [ThreadStatic] private static PointTotals? t_totals;

    /// <summary>
    /// The answer to a mapped request, as the server gives it: a request that asks no explanation (totals_only) is scored
    /// on the allocation-free totals path (<see cref="CompiledRuleSet.ScoreTotals"/>), the others on the explained path. Both
    /// give the same message for the same totals-only request (<c>ProductPathTests</c>).
    /// </summary>
    public static V1.ScoreWorkResponse Score(ScoringRequest request) => Score(request, null);

    /// <summary>
    /// <see cref="Score(ScoringRequest)"/> into <paramref name="reuse"/>, a message this method returned before whose bytes
    /// were already written: on the totals path its role and quota messages are rewritten in place and a quota's points keep
    /// their string while the value is the same. The explained path, and a null <paramref name="reuse"/>, give a new message.
    /// The server writes its totals answers as bytes instead (<see cref="Encode"/>, <see cref="ScoreAnswerBytes"/>: the same
    /// bytes, no string per number).
    /// </summary>
    public static V1.ScoreWorkResponse Score(ScoringRequest request, V1.ScoreWorkResponse? reuse)
    {
        // The work's category (art. 2.f-h) and its art. 5.8 threshold, said with every answer.
        var coproduction = request.RuleSet.Coproductions.Classify(request.Work);
        if (!AsksTotals(request))
            return ToProto(request.RuleSet.Score(request.Work, request.Roles, request.Options), request.Excluded, coproduction);
        var totals = Totals(request);
        var response = reuse ?? new V1.ScoreWorkResponse();
        Fill(response, request.RuleSet, request.Work.Id, request.Roles, totals, request.Excluded);
        response.Coproduction = Said(coproduction) ? Coproduction(coproduction!, response.Coproduction ?? new V1.CoproductionStatus()) : null;
        response.Reform = null;
        return response;
    }

    // A rule set's version id (RuleSetDefinition.BaseId cuts it out of the id at every call): once per definition.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<RuleSetDefinition, string> BaseIds = new();

    /// <summary><paramref name="d"/>'s <see cref="RuleSetDefinition.BaseId"/>, the same string every time (nothing allocated per answer).</summary>
    private static string BaseId(RuleSetDefinition d) => BaseIds.GetValue(d, static d => d.BaseId);

    /// <summary>Whether <paramref name="request"/> asks no explanation (totals_only): answered from the totals path.</summary>
    public static bool AsksTotals(ScoringRequest request) => !(request.Options.Explain || request.Options.IncludeNotApplied);

    /// <summary>The request scored on the totals path into this thread's buffer (valid until the thread's next scoring).</summary>
    internal static PointTotals Totals(ScoringRequest request)
    {
        var totals = t_totals ??= new PointTotals();
        request.RuleSet.ScoreTotals(request.Work, request.Roles, totals);
        return totals;
    }

    /// <summary>
    /// The totals of one scoring as <see cref="ToProto(ScoreResult, IReadOnlyList{Exclusion}?)"/> gives a result without lines:
    /// per role (in the order asked) the quotas that scored, in the manifest's order, at the points scale, and their sum.
    /// </summary>
    public static V1.ScoreWorkResponse ToProto(CompiledRuleSet ruleSet, string workId, IReadOnlyList<Engine.Model.RoleInput> roles,
        PointTotals totals, IReadOnlyList<Exclusion>? excluded = null)
    {
        var response = new V1.ScoreWorkResponse();
        Fill(response, ruleSet, workId, roles, totals, excluded);
        return response;
    }

    /// <summary>
    /// Writes the totals into <paramref name="response"/>, new or written before (every field of a totals answer but
    /// coproduction and reform is set here): role and quota messages already there are rewritten, the surplus removed.
    /// </summary>
    private static void Fill(V1.ScoreWorkResponse response, CompiledRuleSet ruleSet, string workId, IReadOnlyList<Engine.Model.RoleInput> roles,
        PointTotals totals, IReadOnlyList<Exclusion>? excluded)
    {
        var d = ruleSet.Definition;
        response.RuleSetId = BaseId(d);
        response.ContentHash = d.ContentHash;
        response.WorkId = workId;
        excluded ??= totals.Excluded;
        response.Excluded.Clear();
        for (var i = 0; i < excluded.Count; i++) response.Excluded.Add(Exclusion(excluded[i]));
        // One by one: AddRange of a list checks it for nulls through a boxed enumerator.
        response.Overlays.Clear();
        for (var i = 0; i < d.AppliedOverlays.Count; i++) response.Overlays.Add(d.AppliedOverlays[i]);
        response.Incomplete = totals.Incomplete;
        response.MissingRows.Clear();
        response.ProvisionalRows.Clear();
        for (var k = 0; k < roles.Count; k++)
        {
            // By index: no enumerator for the (mostly empty) lists of flagged rows.
            var missing = totals.MissingRows(roles[k].Role);
            for (var i = 0; i < missing.Count; i++)
                if (!response.MissingRows.Contains(missing[i])) response.MissingRows.Add(missing[i]);
            var provisional = totals.ProvisionalRows(roles[k].Role);
            for (var i = 0; i < provisional.Count; i++)
                if (!response.ProvisionalRows.Contains(provisional[i])) response.ProvisionalRows.Add(provisional[i]);
        }
        var quotaIds = totals.QuotaIds;
        var roleScores = response.Roles;
        for (var k = 0; k < roles.Count; k++)
        {
            var role = roles[k].Role;
            if (k == roleScores.Count) roleScores.Add(new V1.RoleScore());
            var rs = roleScores[k];
            rs.Role = (V1.Role)(int)role;
            rs.NotApplied.Clear();
            var quotas = rs.Quotas;
            var n = 0;
            var total = 0m;
            for (var q = 0; q < quotaIds.Count; q++)
            {
                var sum = totals.Quota(role, q);
                if (decimal.Sign(sum) == 0) continue;
                var points = Points(sum);
                total += points;
                if (n == quotas.Count) quotas.Add(new V1.QuotaScore());
                var qs = quotas[n++];
                qs.QuotaId = quotaIds[q];
                qs.Points = Dec(points, qs.Points);
                qs.Lines.Clear();
            }
            while (quotas.Count > n) quotas.RemoveAt(quotas.Count - 1);
            rs.TotalPoints = Dec(total, rs.TotalPoints);
        }
        while (roleScores.Count > roles.Count) roleScores.RemoveAt(roleScores.Count - 1);
    }

    /// <summary><see cref="Dec(decimal)"/>, or <paramref name="written"/> when it already says that number (no new string).</summary>
    private static string Dec(decimal d, string written)
    {
        Span<char> buffer = stackalloc char[64];
        var n = Canonical(d, buffer);
        return buffer[..n].SequenceEqual(written) ? written : new string(buffer[..n]);
    }

    private static V1.ScoreLine Line(Engine.Scoring.ScoreLine l)
    {
        var line = new V1.ScoreLine
        {
            RowId = l.RowId, Label = l.Label, Citation = l.Citation, Role = (V1.Role)(int)l.Role,
            QuotaId = l.QuotaId, Points = Dec(Points(l.Points)), Reason = l.Reason ?? "",
        };
        line.Inputs.AddRange(l.Inputs.Select(i => new V1.InputValue { Name = i.Key, Value = i.Value }));
        return line;
    }

    public static V1.RuleSetSummary Summary(CompiledRuleSet rs, RuleCatalog? catalog = null)
    {
        var s = Summary(rs.Definition);
        if (catalog is not null) s.Overlays.AddRange(catalog.OverlaysOf(rs.Id).Select(o => o.Id));
        return s;
    }

    /// <summary>A version's or an overlay's summary: what it is, its dates, its rows by provenance.</summary>
    public static V1.RuleSetSummary Summary(RuleSetDefinition d)
    {
        var s = new V1.RuleSetSummary
        {
            Id = d.Id, Title = d.Title, Decree = d.Decree, InForceFrom = Date(d.InForceFrom),
            ApplicationYearFrom = d.ApplicationYearFrom,
            ContentHash = d.ContentHash, RowCount = d.Tables.Sum(t => t.Rows.Count()),
        };
        if (d.InForceTo is { } to) s.InForceTo = Date(to);
        if (d.ApplicationYearTo is { } last) s.ApplicationYearTo = last;
        var rows = d.Tables.SelectMany(t => t.Rows).ToList();
        s.Kind = d.Kind.ToString().ToLowerInvariant(); // "version", "overlay" (or "reform"), as the manifest writes it
        s.Supersedes = d.Supersedes ?? "";
        s.SourcedRows = rows.Count(r => r.Provenance == Provenance.Sourced);
        s.ProvisionalRows = rows.Count(r => r.Provenance == Provenance.Provisional);
        s.MissingRows = rows.Count(r => r.Provenance == Provenance.Missing);
        if (d.Overlay is { } o)
        {
            s.Patches = o.Patches;
            s.OnByDefault = o.OnByDefault;
            s.WindowFrom = Date(o.From);
            s.WindowTo = Date(o.To);
            s.OverlayRowPatches = o.Rows.Count;
        }
        s.Tables.AddRange(d.Tables.Select(t => new V1.TableSummary { Id = t.Id, Title = t.Title, Citation = t.Citation, RowCount = t.Rows.Count() }));
        return s;
    }

    /// <summary>A compiled rule set's tables and rows; with the catalog, its summary names the version's overlays.</summary>
    public static V1.GetRuleSetResponse Detail(CompiledRuleSet rs, RuleCatalog? catalog = null)
    {
        var d = rs.Definition;
        var detail = new V1.GetRuleSetResponse { Summary = Summary(rs, catalog) };
        detail.Quotas.AddRange(d.Quotas.Select(q => new V1.Quota
        {
            Id = q.Id, Title = q.Title, SharePercent = Dec(q.SharePercent), ParentId = q.ParentId ?? "", Reserved = q.Reserved, Citation = q.Citation,
        }));
        foreach (var t in d.Tables)
        {
            var table = new V1.Table { Id = t.Id, Title = t.Title, Citation = t.Citation };
            foreach (var section in t.Sections)
                foreach (var row in section.Rows)
                {
                    var r = new V1.Row
                    {
                        Id = row.Id, Label = row.Label, Citation = row.Citation, Section = section.Id,
                        Provenance = row.Provenance.ToString().ToLowerInvariant(), Borrows = row.Borrows ?? "", PatchedBy = { row.PatchedBy },
                    };
                    r.Figures.AddRange(row.Figures.Select(Figure));
                    if (d.LawText is { } law)
                        r.DecreeText.AddRange(law.Resolve(row.Citation, out _).Where(a => a.Paragraph is not null).Select(a => new V1.DecreeParagraph
                        {
                            Address = a.Address.Display, Decree = "DM " + law.Decree, Text = string.Join("\n", law.Words(a.Paragraph!)),
                            Location = $"{Path.GetFileName(law.File)}:{a.Paragraph!.Line}",
                        }));
                    if (row.Windowed is { } w)
                        r.Windowed = new V1.WindowedFigures
                        {
                            OverlayId = w.OverlayId, From = Date(w.From), To = Date(w.To), Citation = w.Citation, Figures = { w.Figures.Select(Figure) },
                        };
                    r.Cells.AddRange(row.Cells.Select(c => new V1.RoleCell
                    {
                        Role = (V1.Role)(int)c.Role, QuotaId = row.QuotaId,
                        Condition = string.Join(" && ", new[] { t.Applies, section.When, row.When, c.When }.OfType<RuleExpression>().Select(e => "(" + e.Text + ")")),
                        Points = c.Points.Text,
                    }));
                    table.Rows.Add(r);
                }
            detail.Tables.Add(table);
        }
        return detail;
    }

    public static V1.Exclusion Exclusion(Exclusion e) => new()
    {
        CompanyId = e.CompanyId, WorkId = e.WorkId, Role = e.Role is { } r ? (V1.Role)(int)r : V1.Role.Unspecified,
        Field = e.Field, Article = e.Article, Reason = e.Reason,
    };

    private static V1.Figure Figure(Figure f) => new() { Name = f.Name, Value = Dec(f.Value), Unit = f.Unit, Citation = f.Citation };

    public static Google.Type.Date Date(DateOnly d) => new() { Year = d.Year, Month = d.Month, Day = d.Day };

}
