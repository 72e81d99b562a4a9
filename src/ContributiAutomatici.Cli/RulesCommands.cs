using System.CommandLine;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using ContributiAutomatici.Tooling;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Cli;

/// <summary><c>validate</c>, <c>list</c> and <c>test</c>: the rule files themselves.</summary>
internal static class RulesCommands
{
    public static Command Validate(Io io)
    {
        var command = new Command("validate", "Check and compile every rule set of the rules folder; print each with its tables, rows and load times. " +
                                              "A refused folder prints every error as file:line: reason and exits 1.");
        var watch = new Option<bool>("--watch")
        {
            Description = "Stay, and validate again each time a file of the rules folder changes (300 ms after the last change), in " +
                          "this process: its compiler is warm, so an edited expression compiles in a fraction of a first run's time. " +
                          "Each round ends with a 'watch:' line; Ctrl+C ends",
        };
        command.Options.Add(watch);
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r => r.GetValue(watch)
            ? Watch(source(r), io.Out)
            : source(r) is var rules && rules.Catalog() is { } catalog ? Validate(catalog, rules.Root, io.Out) : Program.InputError);
        return command;
    }

    /// <summary>Quiet time after the last change before validating again (an editor writes a file in several steps), as the server's reload.</summary>
    private static readonly TimeSpan WatchDebounce = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// <c>validate --watch</c>: a rule author's loop. The folder is validated, then again after each change, by this process: Roslyn,
    /// loaded and JIT-compiled by the first compilation, stays warm, so a later expression edit compiles its rule sets in a fraction
    /// of a fresh process's time (RESULTS.md (f), "Compile what changed"). A round refused prints its errors (stderr) as
    /// <c>validate</c> does; the loop goes on until the process is ended.
    /// </summary>
    private static int Watch(RuleSource first, TextWriter stdout)
    {
        void Round(RuleSource rules, string why)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var catalog = rules.Catalog();
            if (catalog is not null) Validate(catalog, rules.Root, stdout);
            stdout.WriteLine($"watch: {(catalog is null ? "refused" : "valid")} ({why}; {sw.Elapsed.TotalMilliseconds:0} ms); " +
                             $"watching {rules.Root} (Ctrl+C ends)");
            stdout.Flush();
        }
        if (!Directory.Exists(first.Root))
        {
            Round(first, "start");
            return Program.InputError;
        }
        // Watching before the first round: a file saved while a round runs is validated by the next one, never missed.
        using var changed = new SemaphoreSlim(0);
        using var watcher = new FileSystemWatcher(first.Root)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.DirectoryName | NotifyFilters.Size,
        };
        void Changed(object? sender, FileSystemEventArgs e) => changed.Release();
        watcher.Changed += Changed;
        watcher.Created += Changed;
        watcher.Deleted += Changed;
        watcher.Renamed += Changed;
        watcher.Error += (_, _) => changed.Release(); // events lost (the kernel's queue overflowed): validate again to be sure
        watcher.EnableRaisingEvents = true;
        Round(first, "start");
        while (true)
        {
            changed.Wait();
            while (changed.Wait(WatchDebounce)) { } // until the folder has been quiet for the debounce
            Round(first.Again(), "a file changed");
        }
    }

    private static int Validate(RuleCatalog catalog, string rules, TextWriter stdout)
    {
        foreach (var rs in catalog.RuleSets)
        {
            var d = rs.Definition;
            stdout.WriteLine($"ok {d.Id}: {d.Tables.Count} tables, {Rows(d)} rows, {rs.Cells.Count} role cells, " +
                             $"{d.Lists.Sum(l => l.Entries.Count)} list entries; sha256 {d.ContentHash[..16]}; {rs.Source.ToString().ToLowerInvariant()} " +
                             $"(checked {rs.Timings.Checked.TotalMilliseconds:0} ms, emitted {rs.Timings.Emitted.TotalMilliseconds:0} ms, " +
                             $"sandboxed {rs.Timings.Sandboxed.TotalMilliseconds:0} ms, ready {rs.Timings.Total.TotalMilliseconds:0} ms)");
            // Each figure is defined once: what the rule set defines, and what it reads from elsewhere by path.
            var figures = d.Tables.SelectMany(t => t.Rows).SelectMany(r => r.Figures).ToList();
            var referred = figures.Where(f => f.Ref is not null).ToList();
            stdout.WriteLine($"   figures: {figures.Count - referred.Count} defined, {referred.Count} referred to by path" +
                             (referred.Any(f => f.Ref!.Contains('/')) ? $" ({referred.Count(f => f.Ref!.Contains('/'))} borrowed from another version)" : "") +
                             $"; quantities: {(d.Quantities.Count == 0 ? "none" : string.Join(", ", d.Quantities.Select(q => q.Name + (q.Terms.Count > 1 ? $" ({q.Terms.Count} terms)" : ""))))}" +
                             (d.Lists.Any(l => l.Borrows is not null)
                                 ? "; lists read from another version: " + string.Join(", ", d.Lists.Where(l => l.Borrows is not null).Select(l => $"{l.Kind} ({l.Borrows}" +
                                     (l.Removes.Count > 0 ? $", {l.Removes.Count} removed" : "") + ")"))
                                 : "") +
                             (d.Lists.Any(l => l.Groups.Count > 0)
                                 ? "; groups: " + string.Join(", ", d.Lists.SelectMany(l => l.Groups.Select(g => $"{l.Kind}/{g.Name} ({g.Ids.Count})")))
                                 : ""));
            // Where an overlay replaced a row's expressions, an edit of that row in the version is shadowed: say so.
            foreach (var row in d.Tables.SelectMany(t => t.Rows).Where(r => r.ReplacedBy is not null))
                stdout.WriteLine($"   replaces {row.Id} ({row.ReplacedBy}): an edit of {row.Id}'s expressions in {d.BaseId} does not apply while the overlay does");
        }
        foreach (var v in catalog.Versions.Select(v => v.Definition))
        {
            var overlays = catalog.OverlaysOf(v.Id).ToList();
            var cites = v.Tables.Count + Rows(v) + overlays.Sum(o => o.Overlay!.Rows.Count);
            stdout.WriteLine(v.LawText is { } law
                ? $"law {v.Id}: DM {law.Decree} ({law.File}), {law.Paragraphs.Count} paragraphs; the cites of {v.Tables.Count} tables, {Rows(v)} rows" +
                  $"{string.Concat(overlays.Select(o => $" and {o.Overlay!.Rows.Count} row patches of {o.Id}"))} resolved ({cites})"
                : $"law {v.Id}: no {Engine.Law.DecreeText.FileName} beside it, its cites not checked");
        }
        stdout.WriteLine($"{catalog.RuleSets.Count} rule set(s) in {rules} valid ({catalog.LoadTime.TotalMilliseconds:0} ms; " +
                         $"{catalog.FoldersFromCache} of {catalog.Folders} folder(s) read as already checked from the cache, the others parsed)");
        ReportAssemblies(stdout);
        return Program.Ok;
    }

    /// <summary>
    /// For the tests of a start (or a figure-only reform) without Roslyn: with CONTRIBUTI_REPORT_ASSEMBLIES=1, every assembly
    /// the process loaded, one "assembly NAME" line each.
    /// </summary>
    internal static void ReportAssemblies(TextWriter stdout)
    {
        if (Environment.GetEnvironmentVariable("CONTRIBUTI_REPORT_ASSEMBLIES") == "1")
            foreach (var a in AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).Order(StringComparer.Ordinal))
                stdout.WriteLine("assembly " + a);
    }

    private static int Rows(RuleSetDefinition d) => d.Tables.Sum(t => t.Rows.Count());

    public static Command List(Io io)
    {
        var command = new Command("list", "The loaded decree versions, each version with its overlays (the ids 'diff' and 'compare' take), " +
                                          "and the overlays: application years, tables, rows and content hash.");
        var json = CommonOptions.Json("Print the contributi.v1.ListRuleSetsResponse the server's ListRuleSets returns");
        command.Options.Add(json);
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r => source(r).Catalog() is { } catalog ? List(catalog, r.GetValue(json), io.Out) : Program.InputError);
        return command;
    }

    private static int List(RuleCatalog catalog, bool json, TextWriter o)
    {
        if (json)
        {
            var response = new V1.ListRuleSetsResponse();
            response.RuleSets.AddRange(catalog.Versions.Select(v => ResponseMapper.Summary(v, catalog)));
            response.RuleSets.AddRange(catalog.Overlays.Select(ResponseMapper.Summary));
            o.WriteLine(new JsonFormatter(JsonFormatter.Settings.Default.WithIndentation()).Format(response));
            return Program.Ok;
        }
        var width = catalog.RuleSets.Select(r => r.Id).Concat(catalog.Overlays.Select(x => x.Id)).Max(id => id.Length);
        foreach (var rs in catalog.RuleSets)
        {
            var d = rs.Definition;
            var what = d.AppliedOverlays.Count == 0
                ? $"version, application years {d.ApplicationYearFrom}-{d.ApplicationYearTo?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""}"
                : $"{d.BaseId} with {string.Join(", ", d.AppliedOverlays)}";
            o.WriteLine($"{d.Id.PadRight(width)}  {d.Tables.Count} tables, {Rows(d),4} rows  sha256 {d.ContentHash}  {what}");
        }
        foreach (var d in catalog.Overlays)
            o.WriteLine($"{d.Id.PadRight(width)}  overlay of {d.Overlay!.Patches}, {d.Overlay.Rows.Count} row patches  sha256 {d.ContentHash}  " +
                        $"{d.Overlay.From:yyyy-MM-dd} to {d.Overlay.To:yyyy-MM-dd}{(d.Overlay.OnByDefault ? ", on by default" : "")}");
        o.WriteLine($"{catalog.Versions.Count()} version(s), {catalog.Overlays.Count} overlay(s) in {catalog.LoadTime.TotalMilliseconds:0} ms");
        return Program.Ok;
    }

    public static Command Test(Io io)
    {
        var command = new Command("test", "Run the golden tests (works and the points the decree gives them; years and their allocation) of every rule set, " +
                                          "or of one. A failing case prints its file:line and the difference, and exits 1.");
        var id = new Argument<string?>("RULE_SET_ID") { Arity = ArgumentArity.ZeroOrOne, Description = "A version or overlay id (dm-2021, covid-19); all when absent" };
        command.Arguments.Add(id);
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r => source(r).Catalog() is { } catalog ? Test(catalog, r.GetValue(id), io) : Program.InputError);
        return command;
    }

    private static int Test(RuleCatalog catalog, string? only, Io io)
    {
        int passed = 0, failed = 0;
        var errors = new List<RuleError>();
        var sets = catalog.Versions.Select(v => v.Definition).Concat(catalog.Overlays).ToList();
        if (only is not null && sets.All(d => d.Id != only))
        {
            io.Err.WriteLine("test: " + RuleSource.Unknown(only, sets.Select(d => d.Id)));
            return Program.InputError;
        }
        foreach (var rs in sets.Where(r => only is null || r.Id == only))
        {
            var cases = GoldenTests.Load(rs, errors);
            foreach (var c in cases) Report(GoldenTests.Run(c, catalog), c.File, c.Line, c.Name);
            var allocations = AllocationGoldenTests.Load(rs.Directory, rs.Overlay?.Patches ?? rs.Id, errors);
            foreach (var c in allocations) Report(AllocationGoldenTests.Run(c, catalog), c.File, c.Line, c.Name);
            io.Out.WriteLine($"{rs.Id}: {cases.Count} golden case(s), {allocations.Count} golden allocation(s)");
        }
        foreach (var e in errors) io.Err.WriteLine(e);
        io.Out.WriteLine($"{passed} passed, {failed + errors.Count} failed");
        return failed + errors.Count == 0 ? Program.Ok : Program.InputError;

        void Report(GoldenResult r, string file, int line, string name)
        {
            if (r.Passed)
            {
                passed++;
                return;
            }
            failed++;
            io.Out.WriteLine($"FAIL {file}:{line} {name}");
            foreach (var f in r.Failures) io.Out.WriteLine($"     {f}");
        }
    }
}
