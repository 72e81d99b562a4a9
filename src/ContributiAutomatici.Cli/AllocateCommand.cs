using System.CommandLine;
using System.Globalization;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using ContributiAutomatici.Tooling;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Cli;

/// <summary>
/// <c>allocate</c>: a year from a file (one AllocationYear as JSON, or AllocateRequest items as JSON lines) allocated
/// in-process; a readable summary per quota and the top companies, or <c>--json</c> for the whole result.
/// <c>synth</c>: a synthetic year for tests and benchmarks.
/// </summary>
internal static class AllocateCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Build(Io io)
    {
        var command = new Command("allocate", "Allocate a year's budget in-process: per quota the resources, points, point value, caps and rounding; " +
                                              "the top companies; what the decree keeps out, with its article.");
        var file = new Argument<string>("YEAR")
        {
            Description = "A contributi.v1.AllocationYear (.json, examples/year-2023.json), or one contributi.v1.AllocateRequest per line (.jsonl)",
        };
        var json = CommonOptions.Json("Print the whole contributi.v1.AllocationResult");
        var policy = new Option<string?>("--policy") { Description = "The excess policy of the caps, instead of the year's or the rule set's" };
        policy.AcceptOnlyFromAmong("unassigned", "redistribute");
        var top = Top();
        var company = new Option<string[]>("--company")
        {
            Description = "Print this company's statement (its credits, each claim's line, what is kept out), not the top companies; " +
                          "repeat for several. With --json: the summary and these statements only",
            HelpName = "ID", AllowMultipleArgumentsPerToken = false,
        };
        var html = new Option<string?>("--html")
        {
            Description = "Also write the year (or, with --company, those statements) as one self-contained Italian HTML page", HelpName = "FILE",
        };
        command.Arguments.Add(file);
        command.Options.Add(json);
        command.Options.Add(html);
        command.Options.Add(policy);
        command.Options.Add(top);
        command.Options.Add(company);
        var (ruleSet, overlays) = CommonOptions.AddSelectorOptions(command, "the year's header");
        var reform = CommonOptions.AddReformOption(command);
        var source = CommonOptions.AddRuleOptions(command, io);
        command.SetAction(r => Run(source(r), r.GetValue(file)!, r.GetValue(json), r.GetValue(policy), r.GetValue(top),
            r.GetValue(company) ?? [], r.GetValue(html), (r.GetValue(ruleSet), overlays(r)), r.GetValue(reform), io));
        return command;
    }

    /// <summary>--top N: how many companies (and exclusions) the readable summary shows.</summary>
    internal static Option<int> Top()
    {
        var top = new Option<int>("--top") { Description = "How many companies (and exclusions) to show", DefaultValueFactory = _ => 10, HelpName = "N" };
        AtLeast(top, 0, "--top is a count: 0 or more");
        return top;
    }

    /// <summary>A usage error below <paramref name="min"/> (a value that is not a number is System.CommandLine's error already).</summary>
    private static void AtLeast(Option<int> option, int min, string message) =>
        option.Validators.Add(r =>
        {
            if (r.Tokens is [var token] && int.TryParse(token.Value, NumberStyles.Integer, Inv, out var value) && value < min) r.AddError(message);
        });

    private static int Run(RuleSource source, string file, bool json, string? policy, int top, string[] companies, string? html,
        (string? Selector, (string[] With, string[] Without) Overlays) rules, string? reformFile, Io io)
    {
        V1.Reform? reform = null;
        if (reformFile is not null && (reform = CommonOptions.ReadReform(reformFile, io.Err)) is null) return Program.InputError;
        // The catalog first, then the year read item by item into the allocation's reader (a large year's JSON lines are not
        // all held as messages first).
        if (source.Catalog() is not { } catalog) return Program.InputError;
        AllocationOutcome outcome;
        IReadOnlyList<string> statementsFor;
        try
        {
            var reader = new AllocationMapper.Reader(catalog);
            var first = true;
            foreach (var item in ReadItems(file))
            {
                if (first && item.Header is { } header)
                {
                    if (policy is not null) header.ExcessPolicy = policy == "redistribute" ? V1.ExcessPolicy.Redistribute : V1.ExcessPolicy.Unassigned;
                    header.StatementsFor.Add(companies);
                    // The same selector and overlay options as every verb (they apply after the header's own).
                    if (rules.Selector is { } selector) header.RuleSetId = selector;
                    header.WithOverlays.AddRange(rules.Overlays.With);
                    header.WithoutOverlays.AddRange(rules.Overlays.Without);
                    if (reform is not null) header.Reform = reform;
                }
                first = false;
                reader.Add(item);
            }
            outcome = Allocator.Run(reader.Build());
            statementsFor = reader.StatementsFor;
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
        if (html is not null)
        {
            try
            {
                File.WriteAllText(html, AllocationReport.Html(AllocationMapper.Result(AllocationMapper.Items(outcome, statementsFor))));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                io.Err.WriteLine($"{html}: {ex.Message}");
                return Program.InputError;
            }
        }
        if (json)
        {
            // Written item by item straight from the outcome: the same text as the whole AllocationResult formatted at once, without
            // building it or a message per item.
            AllocationMapper.WriteJson(outcome, statementsFor, io.Out);
            io.Out.WriteLine();
            return Program.Ok;
        }
        WriteSummary(outcome, top, statementsFor.Count == 0, io.Out);
        foreach (var id in statementsFor) CompanyStatementText.Write(outcome, id, io.Out);
        return Program.Ok;
    }

    /// <summary>
    /// A year file: one AllocationYear (JSON), or one AllocateRequest per line (JSON lines, for large years). A JSON error
    /// is a <see cref="JsonInputException"/> naming the file, line and column.
    /// </summary>
    internal static List<V1.AllocateRequest> Read(string file) => ReadItems(file).ToList();

    /// <summary>As <see cref="Read"/>, item by item: JSON lines are parsed as they are enumerated.</summary>
    internal static IEnumerable<V1.AllocateRequest> ReadItems(string file)
    {
        if (file.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
            return File.ReadLines(file).Select((l, i) => (Text: l, Number: i + 1)).Where(l => l.Text.Trim().Length > 0)
                .Select(l => JsonInput.Parse<V1.AllocateRequest>(l.Text, file, l.Number));
        return AllocationMapper.Items(JsonInput.Parse<V1.AllocationYear>(File.ReadAllText(file), file));
    }

    internal static string Eur(decimal d) => d.ToString("#,0.00", Inv);

    private static string Residue(decimal d) => d.ToString("0.####", Inv);

    private static string Moved(Reconciliation a) =>
        a.Redistributed > 0 ? $"; redistributed EUR {Eur(a.Redistributed)} (cut by the caps, paid to the others)" : "";

    /// <summary>The unassigned money by cause, the causes that have any: " (work cap 1.00, company cap 2.00)".</summary>
    private static string Causes(Reconciliation a)
    {
        var causes = new (string Name, decimal Amount)[]
        {
            ("work cap", a.UnassignedWorkCap), ("company cap", a.UnassignedCompanyCap), ("short-film limit", a.UnassignedShortFilmsLimit),
            ("no admitted claimant", a.UnassignedNoClaimant),
        }.Where(c => c.Amount > 0).Select(c => $"{c.Name} {Eur(c.Amount)}").ToList();
        return causes.Count > 0 ? $" ({string.Join(", ", causes)})" : "";
    }

    /// <summary>The year per quota, then (<paramref name="companies"/>) the top companies and what is kept out.</summary>
    private static void WriteSummary(AllocationOutcome o, int top, bool companies, TextWriter w)
    {
        w.WriteLine($"{o.RuleSetId} (sha256 {o.ContentHash[..16]}, {o.Resolution})  application year {o.ApplicationYear}, credited {o.CreditingYear}");
        if (o.Reform is { } reform) w.WriteLine($"  reform {reform.Id} applied (sha256 {reform.ContentHash[..16]}): {reform.Title}");
        w.WriteLine($"budget EUR {Eur(o.Budget)}; excess policy {o.Excess.ToString().ToLowerInvariant()} ({(o.ExcessFromRequest ? "request" : "rule set")}); " +
                    $"{o.Companies.Count} companies, {o.Works.Count} works, {o.ClaimCount} claims, {o.Exclusions.Count} exclusions");
        w.WriteLine();
        w.WriteLine($"{"quota",-20} {"resources",16} {"points",14} {"EUR/point",12} {"allocated",16} {"unassigned",16} {"residue",8} {"redistributed",16}");
        foreach (var q in o.Quotas)
        {
            if (q.Account is not { } a)
            {
                w.WriteLine($"{q.Quota.Id,-20} {Eur(q.Resources),16}  {(q.Quota.Reserved ? "reserved, not allocated" : "split into its sub-quotas")} [{q.Quota.Citation}]");
                continue;
            }
            w.WriteLine($"{q.Quota.Id,-20} {Eur(a.Resources),16} {q.TotalPoints.ToString("0.##", Inv),14} {q.PointValue.ToString("0.####", Inv),12} " +
                        $"{Eur(a.Allocated),16} {Eur(a.Unassigned),16} {Residue(a.RoundingResidue),8} {Eur(a.Redistributed),16}");
            if (q.ShortFilms is { Binding: true } sf)
                w.WriteLine($"{"",-20} short films limit {sf.LimitPercent.ToString("0.##", Inv)}% binding: EUR {Eur(sf.Resources)} to {sf.Points.ToString("0.##", Inv)} points at {sf.PointValue.ToString("0.####", Inv)}; the other works at {sf.OtherPointValue.ToString("0.####", Inv)}");
            foreach (var p in q.Pools)
                w.WriteLine($"{"",-20} {(p.Pool == "short_films" ? "short films' pool" : "other works' pool")}: EUR {Eur(p.Account.Resources)} = " +
                            $"exact {Eur(p.Account.Allocated)} + unassigned {Eur(p.Account.Unassigned)}{Causes(p.Account)}{Moved(p.Account)}");
            if (q.Pools.Count == 0 && (a.Unassigned > 0 || a.Redistributed > 0))
                w.WriteLine($"{"",-20} unassigned{Causes(a)}{Moved(a)}");
        }
        w.WriteLine();
        var t = o.Account;
        w.WriteLine($"budget EUR {Eur(o.Budget)} = allocated EUR {Eur(t.Allocated)} + unassigned EUR {Eur(t.Unassigned)} + reserved EUR {Eur(o.Reserved)} + rounding residue EUR {Residue(t.RoundingResidue)}");
        if (t.Unassigned > 0 || t.Redistributed > 0)
            w.WriteLine($"unassigned{Causes(t)}{Moved(t)}");
        w.WriteLine();
        if (!companies) return;
        w.WriteLine($"top {Math.Min(top, o.Companies.Count)} companies:");
        var shown = o.Companies.OrderByDescending(c => c.Total).ThenBy(c => c.Id, StringComparer.Ordinal).Take(top).ToList();
        // The columns as wide as their longest id and name, so a long id does not push the amounts out of line.
        var (idWidth, nameWidth) = (shown.Select(c => c.Id.Length).DefaultIfEmpty().Max(), shown.Select(c => c.Name.Length).DefaultIfEmpty().Max());
        foreach (var c in shown)
        {
            var caps = c.Credits.SelectMany(x => x.Caps).Distinct().ToList();
            w.WriteLine($"  {c.Id.PadRight(idWidth)}  {c.Name.PadRight(nameWidth)}  EUR {Eur(c.Total),16}  {string.Join(", ", c.Credits.Select(x => $"{x.QuotaId} {Eur(x.Amount)}"))}" +
                        (caps.Count > 0 ? $"  capped: {string.Join("; ", caps)}" : ""));
        }
        if (o.Exclusions.Count > 0)
        {
            w.WriteLine();
            w.WriteLine($"kept out ({o.Exclusions.Count}):");
            foreach (var e in o.Exclusions.Take(top))
                w.WriteLine($"  {(e.CompanyId.Length > 0 ? e.CompanyId + " " : "")}{e.WorkId}{(e.Role is { } r ? " " + Engine.Rules.RoleNames.Key(r) : "")}{(e.Field.Length > 0 ? " " + e.Field : "")}  [{e.Article}] {e.Reason}");
            if (o.Exclusions.Count > top) w.WriteLine($"  ... and {o.Exclusions.Count - top} more (--json for all)");
        }
    }

    public static Command BuildSynth(Io io)
    {
        var command = new Command("synth", "Write a synthetic year (JSON lines of contributi.v1.AllocateRequest) for tests and benchmarks: " +
                                           "the same for the same seed, festivals, prizes and markets from the rule set's own lists. Compiles no rule.");
        var companies = Count("--companies", "How many companies");
        var works = Count("--works", "How many works");
        var seed = new Option<int>("--seed") { Description = "The random seed", DefaultValueFactory = _ => 1 };
        var year = new Option<int>("--year") { Description = "The application year", DefaultValueFactory = _ => 2023 };
        var budget = new Option<decimal>("--budget") { Description = "The budget in EUR", DefaultValueFactory = _ => 100_000_000m, HelpName = "EUR" };
        var ruleSet = new Option<string?>("--rule-set") { Description = "A version id [default: the version in force for --year]", HelpName = "ID" };
        var output = new Option<string?>("--out") { Description = "The file to write [default: standard output]", HelpName = "FILE" };
        foreach (var o in new Option[] { companies, works, seed, year, budget, ruleSet, output }) command.Options.Add(o);
        var rules = CommonOptions.Rules();
        command.Options.Add(rules);
        command.SetAction(r =>
        {
            // The rule set's lists come from its files, parsed and checked; nothing is compiled.
            if (new RuleSource(r.GetValue(rules), noCache: true, io.Err).Definitions() is not { } defs) return Program.InputError;
            var versions = defs.Where(d => d.Kind == Engine.Rules.RuleSetKind.Version).ToList();
            var y = r.GetValue(year);
            var id = r.GetValue(ruleSet);
            var version = id is not null
                ? versions.FirstOrDefault(d => d.Id == id)
                : versions.Where(d => d.ApplicationYearFrom <= y && (d.ApplicationYearTo is null || y <= d.ApplicationYearTo))
                    .MaxBy(d => d.ApplicationYearFrom);
            if (version is null)
            {
                io.Err.WriteLine("synth: " + (id is not null ? RuleSource.Unknown(id, versions.Select(d => d.Id)) : $"no version governs application year {y}"));
                return Program.InputError;
            }
            var items = YearSynthesizer.Items(version.Id, new ListCatalog(version.Lists), r.GetValue(companies), r.GetValue(works), r.GetValue(seed), y,
                r.GetValue(budget));
            var path = r.GetValue(output);
            var writer = path is not null ? new StreamWriter(path) : io.Out;
            try
            {
                foreach (var item in items) writer.WriteLine(JsonFormatter.Default.Format(item));
            }
            finally
            {
                if (!ReferenceEquals(writer, io.Out)) writer.Dispose();
            }
            return Program.Ok;
        });
        return command;

        static Option<int> Count(string name, string description)
        {
            var option = new Option<int>(name) { Description = description, Required = true, HelpName = "N" };
            AtLeast(option, 1, $"{name} is a count above 0");
            return option;
        }
    }
}
