using System.CommandLine;
using System.Globalization;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Cli;

/// <summary>
/// <c>score</c>: one work (a ScoreWorkRequest as JSON) explained line by line, or many works (JSON lines of
/// ScoreWorkRequest: a .jsonl file, <c>--jsonl</c>, or standard input with <c>-</c>) with one result per line.
/// </summary>
internal static partial class ScoreCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Build(Io io)
    {
        var command = new Command("score", "Score a work: its points per role and quota, each line with its table row, citation and inputs. " +
                                           "Many works: JSON lines (one request per line), one result per line.");
        var file = new Argument<string>("REQUEST")
        {
            Description = "A contributi.v1.ScoreWorkRequest in the protobuf JSON mapping (examples/first-feature.json); " +
                          "a .jsonl file of them, one per line; '-' reads standard input (JSON lines when each line is a whole request)",
        };
        var json = CommonOptions.Json("Print the contributi.v1.ScoreWorkResponse (with many works: one per line)");
        var jsonl = new Option<bool>("--jsonl") { Description = "Read REQUEST as JSON lines whatever its name" };
        var notApplied = new Option<bool>("--not-applied") { Description = "Also list every row that did not apply, with its reason" };
        command.Arguments.Add(file);
        command.Options.Add(json);
        command.Options.Add(jsonl);
        command.Options.Add(notApplied);
        var (ruleSet, overlays) = CommonOptions.AddSelectorOptions(command, "the request's rule_set_id");
        var reformFile = CommonOptions.AddReformOption(command);
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r =>
        {
            var path = r.GetValue(file)!;
            var name = path == "-" ? "stdin" : path;
            var many = r.GetValue(jsonl) || path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
            V1.Reform? reform = null;
            if (r.GetValue(reformFile) is { } reformPath && (reform = CommonOptions.ReadReform(reformPath, io.Err)) is null) return Program.InputError;
            var options = new Options(r.GetValue(json), r.GetValue(notApplied), r.GetValue(ruleSet), overlays(r), reform, r.GetValue(reformFile));
            IEnumerable<string> lines;
            string? text = null;
            try
            {
                // A file of JSON lines is read as it is scored; one request, or standard input (to tell which it is), at once.
                if (many && path != "-") lines = File.ReadLines(path);
                else lines = (text = path == "-" ? io.In.ReadToEnd() : File.ReadAllText(path)).Split('\n');
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                io.Err.WriteLine($"{name}: {ex.Message}");
                return Program.InputError;
            }
            if (source(r).Catalog() is not { } catalog) return Program.InputError;
            return many || (path == "-" && IsJsonLines(Numbered(lines)))
                ? Many(catalog, name, Numbered(lines), options, io)
                : One(catalog, name, text!, options, io);
        });
        return command;
    }

    private sealed record Options(bool Json, bool NotApplied, string? RuleSet, (string[] With, string[] Without) Overlays, V1.Reform? Reform, string? ReformFile);

    /// <summary>Standard input is JSON lines when each of its lines is a whole object (a pretty-printed request is not).</summary>
    private static bool IsJsonLines(IEnumerable<(int Number, string Text)> lines) =>
        lines.All(l => l.Text.StartsWith('{') && l.Text.EndsWith('}'));

    /// <summary>The answer as the server gives it: the score, the exclusions, the co-production category, and the reform applied (its id and content hash).</summary>
    private static V1.ScoreWorkResponse Answer(ScoreResult result, CompiledRuleSet rs, RuleCatalog catalog, IReadOnlyList<Exclusion> excluded, Work work)
    {
        var answer = ResponseMapper.ToProto(result, excluded, rs.Coproductions.Classify(work));
        answer.Reform = ReformMapper.Applied(rs, catalog);
        return answer;
    }

    /// <summary>The non-blank lines with their 1-based numbers.</summary>
    private static IEnumerable<(int Number, string Text)> Numbered(IEnumerable<string> lines) =>
        lines.Select((l, i) => (i + 1, l.Trim())).Where(l => l.Item2.Length > 0);

    private static int One(RuleCatalog catalog, string name, string text, Options options, Io io)
    {
        if (Score(catalog, name, null, text, options, io.Err) is not var (result, req, excluded, work)) return Program.InputError;
        var coproduction = req.Coproductions.Classify(work);
        if (options.Json)
        {
            io.Out.WriteLine(new JsonFormatter(JsonFormatter.Settings.Default.WithIndentation()).Format(Answer(result, req, catalog, excluded, work)));
            return Program.Ok;
        }
        ScoreTable.Write(result, req, catalog, io.Out);
        if (coproduction.Category != CoproductionCategory.National)
            io.Out.WriteLine(ScoreTable.Coproduction(coproduction, work));
        foreach (var e in excluded) io.Out.WriteLine($"kept out: {e.Field} [{e.Article}] {e.Reason}");
        RulesCommands.ReportAssemblies(io.Out);
        return Program.Ok;
    }

    /// <summary>One result per line of input; a bad line is reported as file:line on stderr, the others are scored, and the exit is 1.</summary>
    private static int Many(RuleCatalog catalog, string name, IEnumerable<(int Number, string Text)> lines, Options options, Io io)
    {
        var failed = 0;
        foreach (var (number, line) in lines)
        {
            if (Score(catalog, name, number, line, options, io.Err) is not var (result, rs, excluded, work))
            {
                failed++;
                continue;
            }
            if (options.Json)
            {
                io.Out.WriteLine(JsonFormatter.Default.Format(Answer(result, rs, catalog, excluded, work)));
                continue;
            }
            var roles = string.Join("; ", result.Roles.Select(r => $"{RoleNames.Key(r.Role)} {r.TotalPoints.ToString("0.####", Inv)}"));
            io.Out.WriteLine($"{(result.WorkId.Length > 0 ? result.WorkId : "#" + number)}  {catalog.CanonicalName(rs)}  {roles}" +
                             (excluded.Count > 0 ? $"  ({excluded.Count} result(s) kept out)" : ""));
        }
        if (failed > 0) io.Err.WriteLine($"{failed} request(s) of {name} not scored");
        return failed == 0 ? Program.Ok : Program.InputError;
    }

    /// <summary>
    /// A request parsed, checked and scored; null with its errors printed against its file (and <paramref name="line"/>, a
    /// line of JSON lines), a JSON error with its line and column.
    /// </summary>
    private static (ScoreResult Result, CompiledRuleSet RuleSet, IReadOnlyList<Exclusion> Excluded, Work Work)? Score(
        RuleCatalog catalog, string file, int? line, string json, Options options, TextWriter stderr)
    {
        var where = line is { } n ? $"{file}:{n}" : file;
        V1.ScoreWorkRequest request;
        try
        {
            request = JsonInput.Parse<V1.ScoreWorkRequest>(json, file, line ?? 1);
        }
        catch (JsonInputException ex)
        {
            stderr.WriteLine(ex.Message);
            return null;
        }
        if (options.NotApplied) request.IncludeNotApplied = true;
        if (options.RuleSet is { } selector) request.RuleSetId = selector;
        request.WithOverlays.AddRange(options.Overlays.With);
        request.WithoutOverlays.AddRange(options.Overlays.Without);
        if (options.Reform is not null) request.Reform = options.Reform;
        ScoringRequest req;
        try
        {
            req = RequestMapper.Map(request, catalog);
        }
        catch (Exception ex) when (ReportRequestError(ex, where, stderr, options.ReformFile))
        {
            return null;
        }
        try
        {
            return (req.RuleSet.Score(req.Work, req.Roles, req.Options), req.RuleSet, req.Excluded, req.Work);
        }
        catch (RuleEvaluationException ex)
        {
            // A rule failed on this work (it divided by zero, overflowed): an error of that row, not a crash.
            stderr.WriteLine($"{where}: {ex.Message}");
            return null;
        }
    }

    /// <summary>A reform's error as the request mapper words it for its YAML ("line 7:5: ..."): the line (and column), the message.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^line (\d+(?::\d+)?): (.*)$", System.Text.RegularExpressions.RegexOptions.Singleline)]
    private static partial System.Text.RegularExpressions.Regex ReformLine();

    /// <summary>Prints a request's errors (every bad field, or the unknown version) against its file; false for any other exception.</summary>
    internal static bool ReportRequestError(Exception ex, string file, TextWriter stderr, string? reformFile = null)
    {
        switch (ex)
        {
            case InvalidRequestException invalid:
                foreach (var e in invalid.Errors)
                    stderr.WriteLine(reformFile is not null && e.Field.EndsWith("reform.yaml", StringComparison.Ordinal) && ReformLine().Match(e.Description) is { Success: true } m
                        ? $"{reformFile}:{m.Groups[1].Value}: {m.Groups[2].Value}"
                        : $"{file}: {e}");
                return true;
            case RuleSetNotFoundException notFound:
                stderr.WriteLine($"{file}: {notFound.Message}");
                return true;
            default:
                return false;
        }
    }
}

/// <summary>The explanation as a table for people.</summary>
internal static class ScoreTable
{
    /// <summary>
    /// "co-production: compartecipazione internazionale [art. 2.g] ...": the work's category by its producers' States, the
    /// art. 5.8 threshold and, with its Italian share below it, that the allocation keeps the work out.
    /// </summary>
    public static string Coproduction(CoproductionStatus s, Work work)
    {
        var inv = CultureInfo.InvariantCulture;
        var line = $"co-production: {s.Label}{(s.Article.Length > 0 ? $" [{s.Article}]" : "")}: {s.Reason}";
        if (s.ThresholdPercent is not { } t) return line;
        line += $"\n  {s.ThresholdReason} [{s.ThresholdArticle}]";
        return work.ItalianSharePercent is { } share
            ? line + $"; Italian share {share.ToString("0.####", inv)}%: {(share < t ? "below it, the allocation keeps the work out" : "counted")}"
            : line + "; Italian share not given: the allocation keeps the work out";
    }

    public static void Write(ScoreResult result, CompiledRuleSet rs, RuleCatalog catalog, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        // The rule set by its canonical selector, so the overlays applied (or left off) are never implicit.
        o.WriteLine($"{catalog.CanonicalName(rs)} (sha256 {result.ContentHash[..16]})  work: {(result.WorkId.Length > 0 ? result.WorkId : "-")}");
        foreach (var overlay in rs.Definition.AppliedOverlays)
            if (catalog.Overlays.FirstOrDefault(x => x.Id == overlay) is { } od)
                o.WriteLine($"  overlay {od.Id} applied: {od.Title} (results dated {od.Overlay!.From:yyyy-MM-dd} to {od.Overlay.To:yyyy-MM-dd})");
        if (rs.Definition.Reform is { } reform)
            o.WriteLine($"  reform {reform.Id} applied (sha256 {reform.ContentHash[..16]}{(reform.FigureOnly ? ", figures only: nothing compiled" : "")}): {reform.Title}");
        var quotas = rs.Definition.Quotas.ToDictionary(q => q.Id);
        foreach (var role in result.Roles)
        {
            o.WriteLine();
            o.WriteLine($"{RoleNames.Key(role.Role)}: {role.TotalPoints.ToString("0.####", inv)} points");
            foreach (var q in role.Quotas)
            {
                o.WriteLine($"  {q.QuotaId} ({quotas.GetValueOrDefault(q.QuotaId)?.Title}): {q.Points.ToString("0.####", inv)}");
                foreach (var l in q.Lines)
                {
                    o.WriteLine($"    {l.RowId,-18} {l.Points.ToString("0.####", inv),12}  {l.Label}");
                    o.WriteLine($"    {"",-18} {"",12}  [{l.Citation}]");
                    foreach (var (k, v) in l.Inputs) o.WriteLine($"    {"",-18} {"",12}    {k} = {v}");
                }
            }
            if (role.NotApplied.Count > 0)
            {
                o.WriteLine("  not applied:");
                foreach (var l in role.NotApplied) o.WriteLine($"    {l.RowId,-18} {l.Reason}");
            }
        }
    }
}
