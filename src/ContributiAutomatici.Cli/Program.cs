using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Reflection;

namespace ContributiAutomatici.Cli;

/// <summary>
/// The rule authors' command line (System.CommandLine): one verb per task, help per verb on stdout, usage errors with
/// suggestions on stderr. Exit codes: 0 ok, 1 a rule or input error (rule files refused, a golden case failed, a bad
/// request or file, an unknown rule set), 2 usage. Only the verbs that need the rules load them.
/// </summary>
public static class Program
{
    public const int Ok = 0;
    public const int InputError = 1;
    public const int UsageError = 2;

    internal const string ExitCodes = """
        Exit codes:
          0  ok
          1  a rule or input error: rule files refused, a golden case failed, a bad request or file, an unknown rule set
          2  usage: an unknown verb or option, a missing or malformed argument
        """;

    public static int Main(string[] args) => Run(args, Console.In, Console.Out, Console.Error);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, TextReader.Null, stdout, stderr);

    public static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var root = Build(new Io(stdin, stdout, stderr));
        var parsed = root.Parse(args);
        // An unknown option that an argument took as its value is the error to name (not the file it then leaves over).
        var stray = parsed.Action is ParseErrorAction || parsed.Action == parsed.CommandResult.Command.Action ? StrayOptions(parsed) : [];
        if (stray.Count == 0 && parsed.Action is ParseErrorAction errorAction)
        {
            // System.CommandLine's messages and typo corrections, all on stderr; the whole help only when nothing was given.
            errorAction.ShowHelp = args.Length == 0;
            parsed.Invoke(new InvocationConfiguration { Output = stderr, Error = stderr, ProcessTerminationTimeout = null });
        }
        else if (stray.Count == 0)
            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, ProcessTerminationTimeout = null });
        foreach (var (option, suggestions) in stray)
        {
            stderr.WriteLine($"Unrecognized option '{option}'.");
            if (suggestions.Count > 0) stderr.WriteLine($"Did you mean {string.Join(" or ", suggestions.Select(x => $"'{x}'"))}?");
        }
        if (args.Length > 0)
            stderr.WriteLine($"See 'contributi{(parsed.CommandResult.Command == root ? "" : " " + parsed.CommandResult.Command.Name)} --help'.");
        return UsageError;
    }

    /// <summary>
    /// Unknown options that a verb's argument took as its value (score --jsn FILE: System.CommandLine binds '--jsn' to
    /// REQUEST), each with the verb's nearest options. '-' alone is standard input; a file named -x is given as ./-x.
    /// </summary>
    private static List<(string Option, List<string> Suggestions)> StrayOptions(ParseResult parsed)
    {
        var command = parsed.CommandResult.Command;
        var names = command.Options.Concat(parsed.RootCommandResult.Command.Options.Where(o => o.Recursive))
            .Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--", StringComparison.Ordinal)).Distinct().ToList();
        return parsed.CommandResult.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens)
            .Where(t => t.Value.Length > 1 && t.Value[0] == '-')
            .Select(t =>
            {
                var ranked = names.Select(n => (Name: n, Distance: Distance(t.Value, n))).Where(x => x.Distance <= 3).ToList();
                var best = ranked.Count > 0 ? ranked.Min(x => x.Distance) : 0;
                return (t.Value, ranked.Where(x => x.Distance == best).Select(x => x.Name).ToList());
            })
            .ToList();
    }

    /// <summary>Levenshtein distance, for the suggestions.</summary>
    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    /// <summary>The verbs, their arguments and options.</summary>
    internal static RootCommand Build(Io io)
    {
        var root = new RootCommand("""
            contributi: the rule authors' command line of ContributiAutomatici (law 220/2016, contributi automatici).
            Validates and tests the rule files, scores works, allocates a year's budget, compares decree versions.
            """);
        foreach (var option in root.Options)
        {
            if (option is HelpOption help && help.Action is HelpAction builtIn) help.Action = new HelpWithExitCodes(builtIn);
            if (option is VersionOption version) version.Action = new InformationalVersion();
        }
        root.Subcommands.Add(RulesCommands.Validate(io));
        root.Subcommands.Add(RulesCommands.List(io));
        root.Subcommands.Add(RulesCommands.Test(io));
        root.Subcommands.Add(ScoreCommand.Build(io));
        root.Subcommands.Add(AllocateCommand.Build(io));
        root.Subcommands.Add(AllocateCommand.BuildSynth(io));
        root.Subcommands.Add(CompareCommand.BuildDiff(io));
        root.Subcommands.Add(CompareCommand.BuildCompare(io));
        root.Subcommands.Add(LawCommands.BuildShow(io));
        root.Subcommands.Add(LawCommands.BuildFigures(io));
        root.Subcommands.Add(PlanCommand.Build(io));
        root.Subcommands.Add(LedgerCommand.Build(io));
        var verb = new Argument<string?>("verb") { Arity = ArgumentArity.ZeroOrOne, Description = "the verb to describe" };
        var helpVerb = new Command("help", "Describe a verb (the same as 'contributi VERB --help').") { Hidden = true };
        helpVerb.Arguments.Add(verb);
        helpVerb.SetAction(r => root.Parse(r.GetValue(verb) is { } v ? [v, "--help"] : ["--help"]).Invoke(r.InvocationConfiguration));
        root.Subcommands.Add(helpVerb);
        return root;
    }

    /// <summary>The version of this command line (informational: version and source revision), not of the host running it.</summary>
    internal static string Version =>
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(Program).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The built-in help, followed by the exit codes.</summary>
    private sealed class HelpWithExitCodes(HelpAction builtIn) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            builtIn.Invoke(parseResult);
            parseResult.InvocationConfiguration.Output.WriteLine(ExitCodes);
            return Ok;
        }
    }

    private sealed class InformationalVersion : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(Version);
            return Ok;
        }
    }
}

/// <summary>Where a verb reads (standard input, for '-') and writes: its results on stdout, its errors and warnings on stderr.</summary>
internal sealed record Io(TextReader In, TextWriter Out, TextWriter Err);
