using System.CommandLine;
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

    public static Command BuildDiff(Io io)
    {
        var command = new Command("diff", "What differs between two rule sets: rows added, removed and changed, each changed figure, condition, " +
                                          "points expression, quota, policy or citation.");
        var a = SideArgument("A");
        var b = SideArgument("B");
        var json = CommonOptions.Json("Print the contributi.v1.DiffRuleSetsResponse");
        command.Arguments.Add(a);
        command.Arguments.Add(b);
        command.Options.Add(json);
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r => Diff(source(r), r.GetValue(a)!, r.GetValue(b)!, r.GetValue(json), io));
        return command;

        static Argument<string> SideArgument(string name) => new(name)
        {
            Description = "A loaded rule set (dm-2021, dm-2021+covid-19, covid-19: see 'contributi list') or a folder of rule files (rules/dm-2021)",
        };
    }

    private static int Diff(RuleSource source, string a, string b, bool json, Io io)
    {
        var errors = new List<RuleError>();
        var da = Definition(source, a, errors);
        var db = Definition(source, b, errors);
        if (da is null || db is null)
        {
            foreach (var e in errors) io.Err.WriteLine(e.Line > 0 ? e.ToString() : $"diff: {e.Message}");
            return Program.InputError;
        }
        var diff = RuleSetDiff.Compare(da, db);
        if (json) io.Out.WriteLine(Json.Format(diff));
        else RuleSetDiff.Write(diff, io.Out);
        return Program.Ok;
    }

    /// <summary>
    /// A folder of rule files parsed (not compiled: a diff needs no scoring), else a loaded rule set by id (the rules
    /// compiled only then).
    /// </summary>
    private static RuleSetDefinition? Definition(RuleSource source, string spec, List<RuleError> errors)
    {
        if (File.Exists(Path.Combine(spec, RuleFileParser.ManifestName))) return RuleFileParser.Parse(Path.GetFullPath(spec), errors);
        if (source.Catalog() is not { } catalog) return null;
        if (catalog.Find(spec) is { } rs) return rs.Definition;
        if (catalog.Overlays.FirstOrDefault(o => o.Id == spec) is { } o) return o;
        errors.Add(new RuleError(spec, 0, $"{RuleSource.Unknown(spec, catalog.RuleSets.Select(r => r.Id).Concat(catalog.Overlays.Select(x => x.Id)))}, " +
                                          "and not a folder of rule files (with ruleset.yaml)"));
        return null;
    }

    /// <summary>Whether a side names a compiled rule set: a version, or a version and overlays of its own.</summary>
    private static bool Resolves(RuleCatalog catalog, string spec)
    {
        if (catalog.Find(spec) is not null) return true;
        var parts = spec.Split('+');
        var overlays = catalog.OverlaysOf(parts[0]).Select(o => o.Id).ToHashSet(StringComparer.Ordinal);
        return catalog.FindVersion(parts[0]) is not null && parts.Skip(1).All(overlays.Contains);
    }

    /// <summary>A side as the CLI names it: a compiled rule set id, exactly.</summary>
    private static V1.RuleSetRef Side(string spec)
    {
        var parts = spec.Split('+');
        var side = new V1.RuleSetRef { RuleSetId = parts[0], WithoutOverlays = { "*" } };
        side.WithOverlays.AddRange(parts.Skip(1));
        return side;
    }

    public static Command BuildCompare(Io io)
    {
        var command = new Command("compare", "The same works, or the same year, under two rule sets: who gains, who loses, and the table rows that explain it.");
        var a = SideOption("--a");
        var b = SideOption("--b");
        var works = new Option<string?>("--works") { Description = "Works to score under both: JSON lines of contributi.v1.ScoreWorkRequest", HelpName = "FILE.jsonl" };
        var year = new Option<string?>("--year") { Description = "A year to allocate under both: an AllocationYear (.json) or AllocateRequest lines (.jsonl)", HelpName = "FILE" };
        var json = CommonOptions.Json("Print the contributi.v1 comparison messages");
        var html = new Option<string?>("--html") { Description = "With --year: write a self-contained HTML report there", HelpName = "REPORT.html" };
        var top = AllocateCommand.Top();
        foreach (var o in new Option[] { a, b, works, year, json, html, top }) command.Options.Add(o);
        command.Validators.Add(r =>
        {
            if ((r.GetResult(works) is null) == (r.GetResult(year) is null)) r.AddError("compare takes either --works FILE.jsonl or --year FILE (one of them)");
            if (r.GetResult(html) is not null && r.GetResult(year) is null) r.AddError("--html is a report of a year: it needs --year FILE");
        });
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r =>
        {
            var file = r.GetValue(works) ?? r.GetValue(year)!;
            if (source(r).Catalog() is not { } catalog) return Program.InputError;
            // A side that names no rule set is the fault of its option, not of the file.
            var bad = new[] { (a.Name, r.GetValue(a)!), (b.Name, r.GetValue(b)!) }.Where(x => !Resolves(catalog, x.Item2)).ToList();
            foreach (var (option, spec) in bad) io.Err.WriteLine($"{option}: {RuleSource.Unknown(spec, catalog.RuleSets.Select(x => x.Id))}");
            if (bad.Count > 0) return Program.InputError;
            try
            {
                return r.GetValue(works) is not null
                    ? Works(catalog, file, Side(r.GetValue(a)!), Side(r.GetValue(b)!), r.GetValue(json), io.Out)
                    : Year(catalog, file, Side(r.GetValue(a)!), Side(r.GetValue(b)!), r.GetValue(json), r.GetValue(html), r.GetValue(top), io.Out);
            }
            catch (JsonInputException ex)
            {
                io.Err.WriteLine(ex.Message);
                return Program.InputError;
            }
            catch (IOException ex)
            {
                io.Err.WriteLine($"{file}: {ex.Message}");
                return Program.InputError;
            }
            catch (Exception ex) when (ScoreCommand.ReportRequestError(ex, file, io.Err))
            {
                return Program.InputError;
            }
        });
        return command;

        static Option<string> SideOption(string name) => new(name)
        {
            Required = true, HelpName = "SIDE",
            Description = "A compiled rule set id, exactly: 'dm-2021' is the version alone, 'dm-2021+covid-19' with the overlay (see 'contributi list')",
        };
    }

    private static int Works(RuleCatalog catalog, string file, V1.RuleSetRef a, V1.RuleSetRef b, bool json, TextWriter o)
    {
        var n = 0;
        foreach (var (line, number) in File.ReadLines(file).Select((l, i) => (l, i + 1)).Where(l => l.l.Trim().Length > 0))
        {
            var request = JsonInput.Parse<V1.ScoreWorkRequest>(line, file, number);
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

    private static int Year(RuleCatalog catalog, string file, V1.RuleSetRef a, V1.RuleSetRef b, bool json, string? html, int top, TextWriter o)
    {
        var items = AllocateCommand.Read(file);
        var header = items.FirstOrDefault(i => i.ItemCase == V1.AllocateRequest.ItemOneofCase.Header)?.Header ?? new V1.AllocationHeader();
        var sides = new V1.CompareSides
        {
            A = Header(header, a), B = Header(header, b),
            Top = top,
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
        if (html is not null) File.WriteAllText(html, ComparisonReport.Html(result));
        if (json) o.WriteLine(Json.Format(result));
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
