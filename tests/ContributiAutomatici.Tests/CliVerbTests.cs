using System.Globalization;
using System.Reflection;
using System.Text.Json;
using ContributiAutomatici.Cli;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>
/// The command line as a user meets it: help per verb, the version, usage errors with suggestions (exit 2), unknown
/// rule sets and a missing rules folder (exit 1), rules loaded only by the verbs that need them, list, and score of JSON lines.
/// </summary>
public class CliVerbTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args) => RunWith(TextReader.Null, args);

    private static (int Exit, string Out, string Err) RunWith(TextReader stdin, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var exit = Program.Run(args, stdin, o, e);
        return (exit, o.ToString(), e.ToString());
    }

    private static readonly string Missing = Path.Combine(Path.GetTempPath(), "contributi-no-such-rules-" + Guid.NewGuid().ToString("N"));

    private static string FirstFeature => Path.Combine(Repo.Root, "examples", "first-feature.json");

    [Theory]
    [InlineData("validate", "validate [options]")]
    [InlineData("list", "list [options]")]
    [InlineData("test", "test [<RULE_SET_ID>] [options]")]
    [InlineData("score", "score <REQUEST> [options]")]
    [InlineData("allocate", "allocate <YEAR> [options]")]
    [InlineData("synth", "synth [options]")]
    [InlineData("diff", "diff <A> <B> [options]")]
    [InlineData("compare", "compare [options]")]
    [InlineData("show", "show <ROWID> [options]")]
    [InlineData("figures", "figures <PATH> [options]")]
    public void Each_verb_has_its_help_on_stdout_with_the_exit_codes_and_exit_0_without_loading_rules(string verb, string usage)
    {
        // --rules names a folder that does not exist: help never reads it.
        foreach (var help in new[] { "--help", "-h" })
        {
            var (exit, output, err) = Run(verb, help, "--rules", Missing);
            Assert.True(exit == 0, err);
            Assert.Contains(usage, output);
            Assert.Contains("--rules <DIR>", output);
            Assert.Contains("Exit codes:", output);
            Assert.Contains("2  usage", output);
            Assert.Equal("", err);
        }
        var (exit2, output2, _) = Run("help", verb);
        Assert.Equal(0, exit2);
        Assert.Contains(usage, output2);
    }

    [Fact]
    public void The_root_help_lists_every_verb_and_the_exit_codes()
    {
        var (exit, output, err) = Run("--help");
        Assert.Equal(0, exit);
        Assert.Equal("", err);
        foreach (var verb in new[] { "validate", "list", "test", "score", "allocate", "synth", "diff", "compare", "show", "figures" })
            Assert.Matches($@"(?m)^  {verb}\b", output);
        Assert.Contains("1  a rule or input error", output);
    }

    [Fact]
    public void Version_is_the_informational_version_of_the_command_line()
    {
        var (exit, output, err) = Run("--version");
        Assert.True(exit == 0, err);
        var expected = typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(expected, output.Trim());
        Assert.Matches(@"^\d+\.\d+\.\d+", output);
    }

    [Fact]
    public void An_unknown_verb_is_a_usage_error_with_a_suggestion()
    {
        var (exit, output, err) = Run("scroe", FirstFeature);
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Contains("'scroe' was not matched. Did you mean one of the following?", err);
        Assert.Matches(@"(?m)^score\r?$", err);
    }

    [Fact]
    public void An_unknown_option_is_a_usage_error_with_a_suggestion()
    {
        var (exit, output, err) = Run("validate", "--rulez", Repo.Rules);
        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.Contains("'--rulez' was not matched. Did you mean one of the following?", err);
        Assert.Matches(@"(?m)^--rules\r?$", err);

        // An unknown option that the verb's argument would take as its value is named as the error, not the file after it.
        var (exit2, output2, err2) = Run("score", "--jsn", FirstFeature);
        Assert.Equal(2, exit2);
        Assert.Equal("", output2);
        Assert.Contains("Unrecognized option '--jsn'.", err2);
        Assert.Contains("Did you mean '--json'?", err2);
        Assert.Contains("See 'contributi score --help'.", err2);
    }

    [Fact]
    public void A_missing_argument_or_a_malformed_option_is_a_usage_error()
    {
        var (exit, _, err) = Run("score");
        Assert.Equal(2, exit);
        Assert.Contains("Required argument missing for command: 'score'", err);

        var (exit2, _, err2) = Run("synth", "--companies", "many", "--works", "3");
        Assert.Equal(2, exit2);
        Assert.Contains("Cannot parse argument 'many' for option '--companies'", err2);
        var (exit2b, _, err2b) = Run("synth", "--companies", "0", "--works", "3");
        Assert.Equal(2, exit2b);
        Assert.Contains("--companies is a count above 0", err2b);

        var (exit3, _, err3) = Run("allocate", Path.Combine(Repo.Root, "examples", "year-2023.json"), "--policy", "share");
        Assert.Equal(2, exit3);
        Assert.Contains("share", err3);
        Assert.Contains("redistribute", err3);

        var (exit4, _, err4) = Run("compare", "--a", "dm-2021", "--b", "dm-2017");
        Assert.Equal(2, exit4);
        Assert.Contains("either --works FILE.jsonl or --year FILE", err4);

        var (exit5, output5, err5) = Run();
        Assert.Equal(2, exit5);
        Assert.Equal("", output5);
        Assert.Contains("Required command was not provided.", err5);
        Assert.Contains("Exit codes:", err5);
    }

    [Fact]
    public void An_unknown_rule_set_id_is_an_error_naming_the_loaded_ones()
    {
        var (exit, output, err) = Run("test", "nosuchset", "--rules", Repo.Rules, "--no-cache");
        Assert.Equal(1, exit);
        Assert.DoesNotContain("passed", output);
        Assert.Contains("test: unknown rule set 'nosuchset' (loaded: dm-2017, dm-2021, covid-19)", err);

        var (exit2, _, err2) = Run("diff", "dm-2021", "dm-2031", "--rules", Repo.Rules, "--no-cache");
        Assert.Equal(1, exit2);
        Assert.Contains("unknown rule set 'dm-2031' (versions: dm-2017, dm-2021)", err2);

        var (exit3, _, err3) = Run("synth", "--companies", "2", "--works", "2", "--rule-set", "dm-2031", "--rules", Repo.Rules);
        Assert.Equal(1, exit3);
        Assert.Contains("synth: unknown rule set 'dm-2031' (loaded: dm-2017, dm-2021)", err3);
    }

    [Fact]
    public void A_missing_rules_folder_is_reported_plainly()
    {
        var (exit, output, err) = Run("validate", "--rules", Missing);
        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.Equal($"rules folder '{Missing}' does not exist", err.Trim());

        using var empty = new TempRules();
        Directory.CreateDirectory(empty.Root);
        var (exit2, _, err2) = Run("list", "--rules", empty.Root, "--no-cache");
        Assert.Equal(1, exit2);
        Assert.Contains($"{empty.Root}: no rule set (a folder with ruleset.yaml) under the rules folder", err2);
        Assert.DoesNotContain(":0:", err2);
    }

    [Fact]
    public void Synth_and_help_never_compile_the_rules_validate_does()
    {
        // A rule calling System.IO is refused by the compiler's sandbox, not by the file parser: only a verb that
        // compiles sees it.
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/tabella-5.yaml", "\"Per(Claimant.HomeEntertainmentTotal, eur_per_point)\"", "'System.IO.File.ReadAllText(\"/etc/passwd\").Length'");
        var (exit, _, err) = Run("validate", "--rules", t.Root, "--no-cache");
        Assert.Equal(1, exit);
        Assert.Contains("'System.IO' is not allowed in a rule expression", err);

        var (exit2, output2, err2) = Run("synth", "--companies", "3", "--works", "2", "--seed", "7", "--rules", t.Root);
        Assert.True(exit2 == 0, err2);
        var lines = output2.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = JsonParser.Default.Parse<V1.AllocateRequest>(lines[0]).Header;
        Assert.Equal(("dm-2021", 2023), (header.RuleSetId, header.ApplicationYear));
        Assert.Equal(3, lines.Count(l => l.Contains("\"company\"", StringComparison.Ordinal)));
        Assert.Equal(2, lines.Count(l => l.Contains("\"work\"", StringComparison.Ordinal)));

        var (exit3, _, _) = Run("score", "--help", "--rules", t.Root);
        Assert.Equal(0, exit3);
    }

    [Fact]
    public void List_shows_each_version_combination_and_overlay_with_rows_and_content_hash()
    {
        var (exit, output, err) = Run("list", "--rules", Repo.Rules, "--no-cache");
        Assert.True(exit == 0, err);
        foreach (var rs in Repo.Catalog.RuleSets)
        {
            var d = rs.Definition;
            Assert.Matches($@"(?m)^{System.Text.RegularExpressions.Regex.Escape(d.Id)}\s+{d.Tables.Count} tables,\s+{d.Tables.Sum(x => x.Rows.Count())} rows  sha256 {d.ContentHash}  ", output);
        }
        Assert.Matches(@"(?m)^dm-2021\s+5 tables,\s+126 rows .* version, application years 2020-", output);
        Assert.Matches(@"(?m)^dm-2021\+covid-19 .* dm-2021 with covid-19", output);
        Assert.Matches($@"(?m)^covid-19\s+overlay of dm-2021, \d+ row patches  sha256 {Repo.Catalog.Overlays.Single().ContentHash}  2020-02-23 to 2022-03-31, on by default", output);
        Assert.Contains("2 version(s), 1 overlay(s)", output);

        var (exit2, json, _) = Run("list", "--rules", Repo.Rules, "--no-cache", "--json");
        Assert.Equal(0, exit2);
        var response = JsonParser.Default.Parse<V1.ListRuleSetsResponse>(json);
        Assert.Equal(["dm-2017", "dm-2021", "covid-19"], response.RuleSets.Select(r => r.Id).ToList());
        Assert.Equal(126, response.RuleSets[1].RowCount);
        Assert.Equal(["covid-19"], response.RuleSets[1].Overlays);
    }

    [Fact]
    public void Score_of_JSON_lines_prints_one_result_per_work_and_names_a_bad_line_by_its_number()
    {
        var file = Path.Combine(Path.GetTempPath(), $"works-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(file, [Line(), Line(work => work["italian_share_percent"] = "150"), "", Line(work => work["id"] = "seconda")]);
        try
        {
            var (exit, output, err) = Run("score", file, "--rules", Repo.Rules, "--no-cache");
            Assert.Equal(1, exit);
            Assert.Equal([
                "esempio-opera-prima  dm-2021+covid-19  producer 847.3333; theatrical_distributor 203.2",
                "seconda  dm-2021+covid-19  producer 847.3333; theatrical_distributor 203.2",
            ], output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList());
            Assert.Contains($"{file}:2: work.italian_share_percent: a share is 0-100%", err);
            Assert.Contains($"1 request(s) of {file} not scored", err);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Score_reads_JSON_lines_or_one_request_from_standard_input()
    {
        var lines = string.Join('\n', Line(), Line(work => work["id"] = "seconda"));
        var (exit, output, err) = RunWith(new StringReader(lines), "score", "-", "--json", "--rules", Repo.Rules, "--no-cache");
        Assert.True(exit == 0, err);
        var responses = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonParser.Default.Parse<V1.ScoreWorkResponse>(l)).ToList();
        Assert.Equal(["esempio-opera-prima", "seconda"], responses.Select(r => r.WorkId).ToList());
        Assert.All(responses, r => Assert.Equal(847.3333m, Math.Round(decimal.Parse(r.Roles[0].TotalPoints, CultureInfo.InvariantCulture), 4)));

        // A pretty-printed request on standard input is one request: the explanation, line by line.
        var (exit2, output2, err2) = RunWith(new StringReader(File.ReadAllText(FirstFeature)), "score", "-", "--rules", Repo.Rules, "--no-cache");
        Assert.True(exit2 == 0, err2);
        Assert.Contains("producer: 847.3333 points", output2);
        Assert.Matches(@"T1\.A\.1\s+386\.6667\s+Incasso sala", output2);
    }

    [Fact]
    public void Score_explains_a_co_production_s_category_with_its_article_and_the_art_5_8_threshold()
    {
        // The README's example as an Italian-Korean film of EUR 6 million, 15% Italian, recognised 2026-09-01: no agreement
        // with Korea is in force in the shipped list, so a compartecipazione (art. 2.g) held to 20% (art. 5.8).
        var line = Line(w =>
        {
            w["production_cost"] = "6000000";
            w["co_producers"] = new[] { new Dictionary<string, object> { ["company_id"] = "seoul-pictures", ["country"] = "KR", ["rights_share_percent"] = "85" } };
            w["nationality_recognised_on"] = new Dictionary<string, int> { ["year"] = 2026, ["month"] = 9, ["day"] = 1 };
        });
        var file = Path.Combine(Path.GetTempPath(), $"contributi-korean-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, line);

        var (exit, output, err) = Run("score", file, "--rules", Repo.Rules, "--no-cache");
        File.Delete(file);

        Assert.True(exit == 0, err);
        Assert.Contains("co-production: compartecipazione internazionale [art. 2.g]: no co-production agreement in force with KR on 2026-09-01", output);
        Assert.Contains("Italian share of at least 20% for a compartecipazione internazionale, whatever its cost [art. 5.8]; Italian share 15%: below it, the allocation keeps the work out", output);
    }

    /// <summary>The README's example request on one line, changed by <paramref name="edit"/>.</summary>
    private static string Line(Action<Dictionary<string, object?>>? edit = null)
    {
        var request = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(FirstFeature))!;
        var work = JsonSerializer.Deserialize<Dictionary<string, object?>>(request["work"].GetRawText())!;
        edit?.Invoke(work);
        var copy = request.ToDictionary(kv => kv.Key, kv => (object?)kv.Value);
        copy["work"] = work;
        return JsonSerializer.Serialize(copy);
    }
}
