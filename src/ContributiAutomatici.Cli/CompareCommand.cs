using System.CommandLine;
using System.Globalization;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using ContributiAutomatici.Tooling;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Cli;

/// <summary>
/// <c>diff A B</c>: what differs between two rule sets (selectors, an overlay's id, or folders of rule files).
/// <c>compare --works FILE --a A --b B</c>: works (JSON lines of ScoreWorkRequest) under both; <c>compare --year FILE --a A
/// --b B [--html report.html]</c>: a year under both. A side is a selector (<see cref="RuleSetSelector"/>), as in every
/// request: "dm-2021" is the version as in force (with the overlays it applies by default), "dm-2021+covid-19" the same,
/// "dm-2021~covid-19" without it; --with-overlay and --without-overlay apply to both sides.
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
        var overlays = CommonOptions.AddOverlayOptions(command);
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r => Diff(source(r), r.GetValue(a)!, r.GetValue(b)!, overlays(r), r.GetValue(json), io));
        return command;

        static Argument<string> SideArgument(string name) => new(name)
        {
            Description = "A rule set: a selector (dm-2021 as in force, dm-2021+covid-19, dm-2021~covid-19, 2021), an overlay's id (covid-19), " +
                          "or a folder of rule files (rules/dm-2021: that version as in force in its rules folder)",
        };
    }

    private static int Diff(RuleSource source, string a, string b, (string[] With, string[] Without) overlays, bool json, Io io)
    {
        var errors = new List<RuleError>();
        var da = Definition(source, a, overlays, errors);
        var db = Definition(source, b, overlays, errors);
        if (da is null || db is null)
        {
            foreach (var e in errors) io.Err.WriteLine(e.Line > 0 ? e.ToString() : $"diff: {e.Message}");
            return Program.InputError;
        }
        var diff = RuleSetDiff.Compare(da, db);
        if (json) io.Out.WriteLine(Json.Format(diff));
        else RuleSetDiffText.Write(diff, io.Out);
        return Program.Ok;
    }

    /// <summary>
    /// A side of a diff, as written, not compiled (a diff needs no scoring): a folder of rule files (the version in it as in
    /// force in its own rules folder: figure references resolved, default overlays applied), else a selector or an overlay
    /// id in the rules folder.
    /// </summary>
    private static RuleSetDefinition? Definition(RuleSource source, string spec, (string[] With, string[] Without) overlays, List<RuleError> errors)
    {
        if (File.Exists(Path.Combine(spec, RuleFileParser.ManifestName)))
        {
            var folder = Path.GetFullPath(spec).TrimEnd(Path.DirectorySeparatorChar);
            if (source.Resolved(Path.GetDirectoryName(folder)) is not { } theirs) return null;
            var version = theirs.Versions.Select(v => v.Version).FirstOrDefault(v => Path.GetFullPath(v.Directory).TrimEnd(Path.DirectorySeparatorChar) == folder);
            var overlay = theirs.Overlays.FirstOrDefault(o => Path.GetFullPath(o.Directory).TrimEnd(Path.DirectorySeparatorChar) == folder);
            if (overlay is not null) return overlay;
            if (version is null) { errors.Add(new RuleError(spec, 0, "not a version or overlay of its rules folder")); return null; }
            return Select(theirs, CommonOptions.Fold(version.Id, overlays), spec, errors);
        }
        if (source.Resolved() is not { } mine) return null;
        return Select(mine, CommonOptions.Fold(spec, overlays), spec, errors);
    }

    private static RuleSetDefinition? Select(RuleDefinitions defs, string selector, string spec, List<RuleError> errors)
    {
        if (defs.Select(selector, out var why) is { } def) return def;
        errors.Add(new RuleError(spec, 0, (why ?? $"'{selector}' is not loaded") + ", and not a folder of rule files (with ruleset.yaml)"));
        return null;
    }

    /// <summary>
    /// A side as the CLI names it, with the catalog it is read from: a selector in the rules folder, with the overlay options
    /// folded in; or a folder of rule files (rules/dm-2021), that version in its own rules folder. Null with the error printed,
    /// blamed on its option (--a, --b), not on the file.
    /// </summary>
    private static (RuleCatalog Catalog, V1.RuleSetRef Side)? Side(RuleSource rules, string option, string? spec, (string[] With, string[] Without) overlays, Io io)
    {
        if (spec is null)
        {
            // No side named (a reform's comparison): the rule set the input selects, or the one the reform names.
            if (rules.Catalog() is not { } inForce) return null;
            return (inForce, new V1.RuleSetRef { WithOverlays = { overlays.With }, WithoutOverlays = { overlays.Without } });
        }
        if (!File.Exists(Path.Combine(spec, RuleFileParser.ManifestName)))
        {
            if (rules.Catalog() is not { } catalog) return null;
            var selector = CommonOptions.Fold(spec, overlays);
            if (catalog.Select(selector, out var why) is null)
            {
                io.Err.WriteLine($"{option}: {why}, and not a folder of rule files (with ruleset.yaml)");
                return null;
            }
            return (catalog, new V1.RuleSetRef { RuleSetId = selector });
        }
        var folder = Path.GetFullPath(spec).TrimEnd(Path.DirectorySeparatorChar);
        if (rules.Other(Path.GetDirectoryName(folder)!) is not { } theirs) return null;
        if (theirs.Versions.FirstOrDefault(v => Path.GetFullPath(v.Definition.Directory).TrimEnd(Path.DirectorySeparatorChar) == folder) is not { } version)
        {
            io.Err.WriteLine($"{spec}: not a decree version of its rules folder (an overlay is compared as VERSION+OVERLAY)");
            return null;
        }
        return (theirs, new V1.RuleSetRef { RuleSetId = CommonOptions.Fold(version.Id, overlays) });
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
        var keep = new Option<bool>("--keep-point-values")
        {
            Description = "With --year: allocate b with the budget that keeps every point value of a (what a reform would cost without redistributing)",
        };
        foreach (var o in new Option[] { a, b, works, year, json, html, top, keep }) command.Options.Add(o);
        var reformB = CommonOptions.AddReformOption(command, "--reform",
            "A what-if reform (YAML) applied on side b: the law (--a, else the rule set the input or the reform names) against the law with the reform");
        var reformA = CommonOptions.AddReformOption(command, "--reform-a", "A what-if reform applied on side a (reform against reform)");
        command.Validators.Add(r =>
        {
            if ((r.GetResult(a) is null || r.GetResult(b) is null) && r.GetResult(reformB) is null && r.GetResult(reformA) is null)
                r.AddError("compare needs --a SIDE and --b SIDE, or --reform REFORM.yaml (the law against the law with the reform)");
            if (r.GetResult(keep) is not null && r.GetResult(year) is null) r.AddError("--keep-point-values is about a year's budget: it needs --year FILE");
            if ((r.GetResult(works) is null) == (r.GetResult(year) is null)) r.AddError("compare takes either --works FILE.jsonl or --year FILE (one of them)");
            if (r.GetResult(html) is not null && r.GetResult(year) is null) r.AddError("--html is a report of a year: it needs --year FILE");
        });
        var overlays = CommonOptions.AddOverlayOptions(command);
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r =>
        {
            var file = r.GetValue(works) ?? r.GetValue(year)!;
            var rules = source(r);
            // A side that is a folder of rule files is read from its own rules folder (compiled there): the money effect of an edit.
            if (Side(rules, a.Name, r.GetValue(a), overlays(r), io) is not var (catalog, sa) || Side(rules, b.Name, r.GetValue(b), overlays(r), io) is not var (catalogB, sb))
                return Program.InputError;
            var reformFile = r.GetValue(reformB) ?? r.GetValue(reformA);
            if (r.GetValue(reformB) is { } fb && (sb.Reform = CommonOptions.ReadReform(fb, io.Err)) is null) return Program.InputError;
            if (r.GetValue(reformA) is { } fa && (sa.Reform = CommonOptions.ReadReform(fa, io.Err)) is null) return Program.InputError;
            try
            {
                return r.GetValue(works) is not null
                    ? Works(catalog, catalogB, file, sa, sb, r.GetValue(json), io.Out)
                    : Year(catalog, catalogB, file, sa, sb, r.GetValue(json), r.GetValue(html), r.GetValue(top), r.GetValue(keep), io.Out);
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
            catch (Exception ex) when (ScoreCommand.ReportRequestError(ex, file, io.Err, reformFile))
            {
                return Program.InputError;
            }
        });
        return command;

        static Option<string?> SideOption(string name) => new(name)
        {
            HelpName = "SIDE",
            Description = "A rule set: a version as in force (dm-2021: with the overlays it applies by default), VERSION+OVERLAY, " +
                          "VERSION~OVERLAY (without it), or an application year (see 'contributi list')",
        };
    }

    private static int Works(RuleCatalog catalog, RuleCatalog catalogB, string file, V1.RuleSetRef a, V1.RuleSetRef b, bool json, TextWriter o)
    {
        var n = 0;
        foreach (var (line, number) in File.ReadLines(file).Select((l, i) => (l, i + 1)).Where(l => l.l.Trim().Length > 0))
        {
            var request = JsonInput.Parse<V1.ScoreWorkRequest>(line, file, number);
            var c = Comparisons.CompareWork(new V1.CompareWorksRequest
            {
                RequestId = (++n).ToString(CultureInfo.InvariantCulture), A = Fill(a, request), B = Fill(b, request), Work = request.Work, Roles = { request.Roles },
            }, catalog, catalogB);
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

    /// <summary>A side that names no rule set (a reform's comparison) takes the request's own selection.</summary>
    private static V1.RuleSetRef Fill(V1.RuleSetRef side, V1.ScoreWorkRequest request)
    {
        if (side.RuleSetId.Length > 0 || side.HasApplicationYear || side.Reform?.Yaml is { Length: > 0 } && request.RuleSetId.Length == 0 && !request.HasApplicationYear)
            return side;
        var filled = side.Clone();
        filled.RuleSetId = request.RuleSetId;
        if (request.HasApplicationYear) filled.ApplicationYear = request.ApplicationYear;
        return filled;
    }

    private static int Year(RuleCatalog catalog, RuleCatalog catalogB, string file, V1.RuleSetRef a, V1.RuleSetRef b, bool json, string? html, int top, bool keep, TextWriter o)
    {
        var items = AllocateCommand.Read(file);
        var header = items.FirstOrDefault(i => i.ItemCase == V1.AllocateRequest.ItemOneofCase.Header)?.Header ?? new V1.AllocationHeader();
        var sides = new V1.CompareSides
        {
            A = Header(header, a), B = Header(header, b),
            Top = top, KeepPointValues = keep,
        };
        var reader = new Comparisons.YearReader(catalog, catalogB);
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
        h.Reform = side.Reform;
        // A side that names no rule set (a reform's comparison) keeps the year's own, with the overlay options added.
        if (side.RuleSetId.Length == 0)
        {
            h.WithOverlays.AddRange(side.WithOverlays);
            h.WithoutOverlays.AddRange(side.WithoutOverlays);
            return h;
        }
        h.RuleSetId = side.RuleSetId;
        h.WithOverlays.Clear();
        h.WithOverlays.AddRange(side.WithOverlays);
        h.WithoutOverlays.Clear();
        h.WithoutOverlays.AddRange(side.WithoutOverlays);
        return h;
    }

    internal static string Signed(string d) => d.StartsWith('-') ? d : "+" + d;
}
