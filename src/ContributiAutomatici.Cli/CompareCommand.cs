using System.Globalization;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Cli;

/// <summary>
/// <c>diff A B</c>: what differs between two rule sets (ids of loaded versions, "dm-2021+covid-19" for a version with
/// an overlay, or folders of rule files). <c>compare --works FILE --a A --b B</c>: works (JSON lines of
/// ScoreWorkRequest) under both; <c>compare --year FILE --a A --b B [--html report.html]</c>: a year under both.
/// A side is a compiled rule set id exactly: "dm-2021" is the version alone, "dm-2021+covid-19" with the overlay.
/// </summary>
internal static class CompareCommand
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithIndentation());

    public static int Diff(RuleCatalog catalog, string? a, string? b, bool json, TextWriter stdout, TextWriter stderr)
    {
        if (a is null || b is null)
        {
            stderr.WriteLine("diff needs two rule sets: ids (dm-2021, dm-2021+covid-19) or folders of rule files");
            return 2;
        }
        var errors = new List<RuleError>();
        var da = Definition(catalog, a, errors);
        var db = Definition(catalog, b, errors);
        if (da is null || db is null)
        {
            foreach (var e in errors) stderr.WriteLine(e);
            return 1;
        }
        var diff = RuleSetDiff.Compare(da, db);
        if (json) stdout.WriteLine(Json.Format(diff));
        else RuleSetDiff.Write(diff, stdout);
        return 0;
    }

    /// <summary>A loaded rule set by id, or a folder of rule files parsed (not compiled: a diff needs no scoring).</summary>
    private static RuleSetDefinition? Definition(RuleCatalog catalog, string spec, List<RuleError> errors)
    {
        if (catalog.Find(spec) is { } rs) return rs.Definition;
        if (catalog.Overlays.FirstOrDefault(o => o.Id == spec) is { } o) return o;
        if (Directory.Exists(spec)) return RuleFileParser.Parse(Path.GetFullPath(spec), errors);
        errors.Add(new RuleError(spec, 0, $"neither a loaded rule set ({string.Join(", ", catalog.RuleSets.Select(r => r.Id))}) nor a folder of rule files"));
        return null;
    }

    /// <summary>A side as the CLI names it: a compiled rule set id, exactly.</summary>
    private static V1.RuleSetRef Side(string spec)
    {
        var parts = spec.Split('+');
        var side = new V1.RuleSetRef { RuleSetId = parts[0], WithoutOverlays = { "*" } };
        side.WithOverlays.AddRange(parts.Skip(1));
        return side;
    }

    public static int Compare(RuleCatalog catalog, Program.Options opts, TextWriter stdout, TextWriter stderr)
    {
        var (a, b) = (opts.Value("--a"), opts.Value("--b"));
        if (a is null || b is null || (opts.Value("--works") is null) == (opts.Value("--year") is null))
        {
            stderr.WriteLine("compare needs --a SIDE --b SIDE and either --works FILE.jsonl or --year FILE (.json or .jsonl)");
            return 2;
        }
        var file = opts.Value("--works") ?? opts.Value("--year")!;
        try
        {
            return opts.Value("--works") is not null
                ? Works(catalog, file, Side(a), Side(b), opts.Json, stdout)
                : Year(catalog, file, Side(a), Side(b), opts, stdout);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or IOException or InvalidJsonException)
        {
            stderr.WriteLine($"{file}: {ex.Message}");
            return 1;
        }
        catch (Exception ex) when (Program.ReportRequestError(ex, file, stderr))
        {
            return 1;
        }
    }

    private static int Works(RuleCatalog catalog, string file, V1.RuleSetRef a, V1.RuleSetRef b, bool json, TextWriter o)
    {
        var n = 0;
        foreach (var line in File.ReadLines(file).Where(l => l.Trim().Length > 0))
        {
            var request = JsonParser.Default.Parse<V1.ScoreWorkRequest>(line);
            var c = Comparisons.CompareWork(new V1.CompareWorksRequest
            {
                RequestId = (++n).ToString(CultureInfo.InvariantCulture), A = a, B = b, Work = request.Work, Roles = { request.Roles },
            }, catalog);
            if (json)
            {
                o.WriteLine(JsonFormatter.Default.Format(c));
                continue;
            }
            o.WriteLine($"work {(c.WorkId.Length > 0 ? c.WorkId : "#" + n)}: {c.A} -> {c.B}" +
                        (c.AIncomplete || c.BIncomplete ? $"  (incomplete: {(c.AIncomplete ? c.A : "")} {(c.BIncomplete ? c.B : "")})" : ""));
            foreach (var r in c.Roles)
            {
                o.WriteLine($"  {RoleNames.Key((Engine.Model.Role)(int)r.Role)}: {r.ATotal} -> {r.BTotal} ({Signed(r.Difference)})");
                foreach (var q in r.Quotas.Where(q => q.Difference != "0")) o.WriteLine($"    {q.QuotaId,-20} {q.APoints} -> {q.BPoints} ({Signed(q.Difference)})");
                foreach (var row in r.Rows)
                    o.WriteLine($"    {row.RowId,-20} {(row.APoints.Length > 0 ? row.APoints : "-")} -> {(row.BPoints.Length > 0 ? row.BPoints : "-")}  {row.Label} [{row.Citation}]");
            }
            if (c.AProvisionalRows.Count + c.BProvisionalRows.Count > 0)
                o.WriteLine($"  provisional rows: {string.Join(", ", c.AProvisionalRows.Concat(c.BProvisionalRows).Distinct())}");
        }
        return 0;
    }

    private static int Year(RuleCatalog catalog, string file, V1.RuleSetRef a, V1.RuleSetRef b, Program.Options opts, TextWriter o)
    {
        var items = AllocateCommand.Read(file);
        var header = items.FirstOrDefault(i => i.ItemCase == V1.AllocateRequest.ItemOneofCase.Header)?.Header ?? new V1.AllocationHeader();
        var sides = new V1.CompareSides
        {
            A = Header(header, a), B = Header(header, b),
            Top = int.TryParse(opts.Value("--top"), NumberStyles.None, CultureInfo.InvariantCulture, out var top) ? top : 10,
        };
        var reader = new Comparisons.YearReader(catalog);
        reader.Add(new V1.CompareAllocationsRequest { Sides = sides });
        foreach (var item in items.Where(i => i.ItemCase != V1.AllocateRequest.ItemOneofCase.Header))
            reader.Add(item.ItemCase switch
            {
                V1.AllocateRequest.ItemOneofCase.Company => new V1.CompareAllocationsRequest { Company = item.Company },
                V1.AllocateRequest.ItemOneofCase.Work => new V1.CompareAllocationsRequest { Work = item.Work },
                _ => new V1.CompareAllocationsRequest { Claim = item.Claim },
            });
        var result = reader.Compare();
        if (opts.Value("--html") is { } html) File.WriteAllText(html, ComparisonReport.Html(result));
        if (opts.Json) o.WriteLine(Json.Format(result));
        else ComparisonReport.Text(result, o);
        return 0;
    }

    private static V1.AllocationHeader Header(V1.AllocationHeader year, V1.RuleSetRef side)
    {
        var h = year.Clone();
        h.RuleSetId = side.RuleSetId;
        h.WithOverlays.Clear();
        h.WithOverlays.AddRange(side.WithOverlays);
        h.WithoutOverlays.Clear();
        h.WithoutOverlays.AddRange(side.WithoutOverlays);
        return h;
    }

    internal static string Signed(string d) => d.StartsWith('-') ? d : "+" + d;
}
