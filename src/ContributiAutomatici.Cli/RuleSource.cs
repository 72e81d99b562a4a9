using System.CommandLine;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Cli;

/// <summary>The options every verb that reads the rules shares.</summary>
internal static class CommonOptions
{
    public static Option<string?> Rules() => new("--rules")
    {
        HelpName = "DIR",
        Description = "The rules folder [default: $CONTRIBUTI_RULES_DIR, else a rules/ folder in or above the current directory, else the rules shipped with contributi]",
    };

    public static Option<bool> NoCache() => new("--no-cache") { Description = "Compile the rules without reading or writing the compiled-rules cache (nor reading the compiled rules shipped with the program)" };

    public static Option<bool> Json(string what) => new("--json") { Description = what };

    /// <summary>
    /// Adds --with-overlay and --without-overlay (each repeatable; '*' for every default) to a verb that names rule sets by
    /// selector (dm-2021, dm-2021+covid-19, dm-2021~covid-19, 2021): they apply after the selector's own modifiers, as a
    /// request's with_overlays and without_overlays do.
    /// </summary>
    public static Func<ParseResult, (string[] With, string[] Without)> AddOverlayOptions(Command command)
    {
        var with = new Option<string[]>("--with-overlay") { Description = "Apply this overlay too (repeatable)", HelpName = "OVERLAY", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var without = new Option<string[]>("--without-overlay") { Description = "Leave this overlay off ('*': every overlay the version applies by default; repeatable)", HelpName = "OVERLAY", Arity = ArgumentArity.ZeroOrMore };
        command.Options.Add(with);
        command.Options.Add(without);
        return r => (r.GetValue(with) ?? [], r.GetValue(without) ?? []);
    }

    /// <summary>
    /// Adds --rule-set SELECTOR (instead of <paramref name="insteadOf"/>) and the overlay options to a verb that reads its rule
    /// set from its input.
    /// </summary>
    public static (Option<string?> RuleSet, Func<ParseResult, (string[] With, string[] Without)> Overlays) AddSelectorOptions(Command command, string insteadOf)
    {
        var ruleSet = new Option<string?>("--rule-set")
        {
            HelpName = "SELECTOR",
            Description = $"The rule set, instead of {insteadOf}: a version (dm-2021: with the overlays it applies by default), " +
                          "VERSION+OVERLAY, VERSION~OVERLAY (without it), or an application year",
        };
        command.Options.Add(ruleSet);
        return (ruleSet, AddOverlayOptions(command));
    }

    /// <summary>Adds --reform FILE (a what-if reform's YAML, examples/reforms) to a verb; the file given, for its action.</summary>
    public static Option<string?> AddReformOption(Command command, string name = "--reform", string? description = null)
    {
        var reform = new Option<string?>(name)
        {
            HelpName = "REFORM.yaml",
            Description = description ?? "A what-if reform (YAML, rules/schema/reform.schema.json) applied on top of the rule set: scored beside the law " +
                          "(figures and lists: nothing compiled; rows added or replaced: compiled once)",
        };
        command.Options.Add(reform);
        return reform;
    }

    /// <summary>
    /// A --reform file as a request's reform: read and parsed here first, so that its errors print at its own lines
    /// (<c>R.yaml:7:5: ...</c>); null with them printed. What it names is checked when it is applied (errors through
    /// <see cref="ScoreCommand.ReportRequestError"/>, which puts the reform's lines back on the file).
    /// </summary>
    public static V1.Reform? ReadReform(string path, TextWriter stderr)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{path}: {ex.Message}");
            return null;
        }
        var errors = new List<RuleError>();
        if (RuleFileParser.ParseReform(path, text, errors) is null || errors.Count > 0)
        {
            foreach (var e in errors) stderr.WriteLine(e);
            return null;
        }
        return new V1.Reform { Yaml = text };
    }

    /// <summary>A selector with the overlay options folded in, as the grammar writes it ("dm-2021" and --without-overlay covid-19: "dm-2021~covid-19").</summary>
    public static string Fold(string selector, (string[] With, string[] Without) overlays) =>
        selector + string.Concat(overlays.With.Select(o => "+" + o)) + string.Concat(overlays.Without.Select(o => "~" + o));

    /// <summary>Adds --rules and --no-cache to a verb; the source they describe, for its action.</summary>
    public static Func<ParseResult, RuleSource> AddRuleOptions(Command command, Io io)
    {
        var rules = Rules();
        var noCache = NoCache();
        command.Options.Add(rules);
        command.Options.Add(noCache);
        return r => new RuleSource(r.GetValue(rules), r.GetValue(noCache), io.Err);
    }
}

/// <summary>
/// The rules folder a verb reads (as given, else <see cref="RulesLocator"/>), parsed or compiled on first use only;
/// a refusal is printed on stderr (every file:line: reason) and the caller exits 1.
/// </summary>
internal sealed class RuleSource(string? given, bool noCache, TextWriter stderr)
{
    private RuleCatalog? _catalog;

    public string Root { get; } = RulesLocator.Find(given);

    private RuleCompileOptions Options() => new()
    {
        CacheDirectory = noCache ? null : RuleCompileOptions.DefaultCacheDirectory,
        ShippedDirectory = noCache ? null : RuleCompileOptions.DefaultShippedDirectory,
        Warn = w => stderr.WriteLine("warning: " + w),
    };

    /// <summary>
    /// The rule sets of a rules folder (this one, or <paramref name="root"/>) resolved as definitions, each version with its
    /// overlay combinations, not compiled; null with the errors printed.
    /// </summary>
    public RuleDefinitions? Resolved(string? root = null)
    {
        if (root is null && !Exists()) return null;
        try
        {
            return RuleCatalog.LoadDefinitions(root ?? Root, Options());
        }
        catch (RuleLoadException ex)
        {
            Report(ex.Errors);
            return null;
        }
    }

    /// <summary>Another rules folder compiled with the same options (this one's catalog when it is the same folder), or null (the errors printed).</summary>
    public RuleCatalog? Other(string root) =>
        Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar) == Path.GetFullPath(Root).TrimEnd(Path.DirectorySeparatorChar)
            ? Catalog()
            : new RuleSource(root, noCache, stderr).Catalog();

    /// <summary>The same folder and options, read afresh (nothing of this one's catalog kept): <c>validate --watch</c>'s next round.</summary>
    public RuleSource Again() => new(Root, noCache, stderr);

    /// <summary>Every rule set compiled, or null (the errors printed).</summary>
    public RuleCatalog? Catalog()
    {
        if (_catalog is not null || !Exists()) return _catalog;
        try
        {
            _catalog = RuleCatalog.Load(Root, Options());
        }
        catch (RuleLoadException ex)
        {
            Report(ex.Errors);
        }
        return _catalog;
    }

    /// <summary>Every rule set parsed and checked as files, not compiled (for what needs their lists, not their scoring), or null.</summary>
    public IReadOnlyList<RuleSetDefinition>? Definitions()
    {
        if (!Exists()) return null;
        var errors = new List<RuleError>();
        var defs = Directory.GetDirectories(Root).Where(d => File.Exists(Path.Combine(d, RuleFileParser.ManifestName)))
            .Order(StringComparer.Ordinal).Select(d => RuleFileParser.Parse(d, errors)).OfType<RuleSetDefinition>().ToList();
        if (defs.Count == 0 && errors.Count == 0) errors.Add(new RuleError(Root, 0, "no rule set (a folder with ruleset.yaml) in the rules folder"));
        if (errors.Count == 0) return defs;
        Report(errors);
        return null;
    }

    /// <summary>The message for an unknown rule-set id, naming the known ones.</summary>
    public static string Unknown(string id, IEnumerable<string> known) => $"unknown rule set '{id}' (loaded: {string.Join(", ", known)})";

    private bool Exists()
    {
        if (Directory.Exists(Root)) return true;
        stderr.WriteLine(given is null
            ? $"rules folder not found: no --rules DIR, no ${RulesLocator.EnvironmentVariable}, no rules/ folder in or above the current directory, and '{Root}' does not exist"
            : $"rules folder '{Root}' does not exist");
        return false;
    }

    private void Report(IReadOnlyList<RuleError> errors)
    {
        // An error of the folder itself has no line: said plainly, not as PATH:0:.
        foreach (var e in errors) stderr.WriteLine(e.Line > 0 ? e.ToString() : $"{e.File}: {e.Message}");
        stderr.WriteLine($"refused: {errors.Count} error(s) in {Root}; nothing loaded");
    }
}
