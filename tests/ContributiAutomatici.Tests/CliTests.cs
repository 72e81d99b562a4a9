using ContributiAutomatici.Cli;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Tooling;

namespace ContributiAutomatici.Tests;

/// <summary>The rule authors' command line, run in-process on real rule folders.</summary>
public class CliTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var exit = Program.Run([.. args, "--no-cache"], o, e);
        return (exit, o.ToString(), e.ToString());
    }

    [Fact]
    public void Validate_accepts_the_repository_rules()
    {
        var (exit, output, _) = Run("validate", "--rules", Repo.Rules);
        Assert.Equal(0, exit);
        Assert.Contains("ok dm-2021: 5 tables, 126 rows", output);
    }

    [Fact]
    public void Validate_prints_file_and_line_of_a_planted_error_and_exits_non_zero()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/tabella-2.yaml", "\"Per(Work.DurationMinutes, minutes_per_point)\"", "'Per(Work.DurationMinutes, \"50\")'");
        var line = t.LineOf("dm-2021/tabella-2.yaml", "Per(Work.DurationMinutes, \"50\")");
        var (exit, _, err) = Run("validate", "--rules", t.Root);
        Assert.Equal(1, exit);
        Assert.Matches($@"dm-2021/tabella-2\.yaml:{line}:\d+: rule set dm-2021, table T2, row \S+ \(\w+\) points: .*text \(string\)", err);
        Assert.Contains("nothing loaded", err);
    }

    [Fact]
    public void Validate_refuses_a_rule_calling_System_IO_File()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/tabella-5.yaml", "\"Per(Claimant.HomeEntertainmentTotal, eur_per_point)\"", "'System.IO.File.ReadAllText(\"/etc/passwd\").Length'");
        var line = t.LineOf("dm-2021/tabella-5.yaml", "System.IO.File");
        var (exit, _, err) = Run("validate", "--rules", t.Root);
        Assert.Equal(1, exit);
        Assert.Matches($@"tabella-5\.yaml:{line}: rule set dm-2021, table T5, row \S+ \(\w+\) points: 'System\.IO' is not allowed in a rule expression", err);
    }

    [Fact]
    public void Score_prints_the_explanation_of_the_example_work_line_by_line()
    {
        var (exit, output, err) = Run("score", Path.Combine(Repo.Root, "examples", "first-feature.json"), "--rules", Repo.Rules);
        Assert.True(exit == 0, err);
        Assert.Contains("producer: 847.3333 points", output);
        Assert.Contains("cinema.economic (Sottoquota risultati economici): 657.3333", output);
        Assert.Matches(@"T1\.A\.1\s+386\.6667\s+Incasso sala", output);
        Assert.Contains("Work.BoxOfficeTotal = 2400000", output);
        Assert.Contains("match = venezia (fascia A): 100", output);
        Assert.Contains("theatrical_distributor: 203.2 points", output);
    }

    [Fact]
    public void Score_as_json_is_the_grpc_response_message()
    {
        var (exit, output, _) = Run("score", Path.Combine(Repo.Root, "examples", "first-feature.json"), "--rules", Repo.Rules, "--json");
        Assert.Equal(0, exit);
        var response = Google.Protobuf.JsonParser.Default.Parse<Contracts.V1.ScoreWorkResponse>(output);
        Assert.Equal("dm-2021", response.RuleSetId);
        Assert.Equal("190", response.Roles[0].Quotas.Single(q => q.QuotaId == "cinema.cultural").Points);
    }

    [Fact]
    public void Score_names_every_bad_field_of_a_request()
    {
        var file = WriteRequest("""
            { "ruleSetId": "dm-2021",
              "work": { "kind": "WORK_KIND_CINEMA", "italianSharePercent": "150",
                        "boxOffice": [{ "date": { "year": 2016, "month": 5, "day": 1 }, "amount": "-5" }],
                        "festivals": [{ "festivalId": "venice", "section": "FESTIVAL_SECTION_COMPETITION" }] },
              "roles": [{ "role": "ROLE_PRODUCER" }] }
            """);
        try
        {
            var (exit, _, err) = Run("score", file, "--rules", Repo.Rules);
            Assert.Equal(1, exit);
            Assert.Contains("work.italian_share_percent: a share is 0-100%", err);
            Assert.Contains("work.box_office[0].amount: must be >= 0", err);
            Assert.Contains("work.festivals[0].festival_id: 'venice' is not a Tabella 6 festival", err);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Score_keeps_out_a_result_dated_before_2017_with_its_article_and_counts_the_others()
    {
        var file = Path.Combine(Path.GetTempPath(), $"old-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """
            { "ruleSetId": "dm-2021",
              "work": { "kind": "WORK_KIND_CINEMA",
                        "boxOffice": [{ "date": { "year": 2016, "month": 12, "day": 31 }, "amount": "900000" },
                                      { "date": { "year": 2022, "month": 5, "day": 1 }, "amount": "800000" }] },
              "roles": [{ "role": "ROLE_PRODUCER" }] }
            """);
        try
        {
            var (exit, output, err) = Run("score", file, "--rules", Repo.Rules);
            Assert.True(exit == 0, err);
            // 800,000 / 5,000 = 160: the 2016 period is kept out, the 2022 one counts.
            Assert.Contains("producer: 160 points", output);
            Assert.Contains("kept out: box_office[0] [art. 5.2] obtained on 2016-12-31, before 2017-01-01", output);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Test_runs_the_golden_cases_and_reports_a_failing_one_with_its_line()
    {
        var (exit, output, _) = Run("test", "--rules", Repo.Rules);
        Assert.Equal(0, exit);
        Assert.Matches(@"\d+ passed, 0 failed", output);

        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/tests/tabella-1.yaml", "T1.B.6: 50", "T1.B.6: 55");
        var (exit2, output2, _) = Run("test", "--rules", t.Root);
        Assert.Equal(1, exit2);
        Assert.Contains("FAIL ", output2);
        Assert.Contains("producer T1.B.6: expected 55.00, got 50.00", output2);
        Assert.Contains("1 failed", output2);
    }

    [Fact]
    public void Score_reports_a_rule_failing_on_the_work_as_an_error_of_its_row_and_exits_1()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/tabella-1.yaml", "producer: \"(Work.Essai ? producer_essai_points : 0) + (Work.SelectiveContributions ? producer_selective_points : 0)\"",
            "producer: \"Work.Essai ? 1m / (Work.SelectiveContributions ? 1m : 0m) : 0m\"");
        var line = t.LineOf("dm-2021/tabella-1.yaml", "Work.Essai ? 1m /");
        var file = WriteRequest("""{ "ruleSetId": "dm-2021", "work": { "kind": "WORK_KIND_CINEMA", "essai": true }, "roles": [{ "role": "ROLE_PRODUCER" }] }""");
        try
        {
            var (exit, _, err) = Run("score", file, "--rules", t.Root);
            Assert.Equal(1, exit);
            Assert.Contains($"row T1.B.1 (producer) points at dm-2021/tabella-1.yaml:{line}: division by zero", err);
            Assert.DoesNotContain("   at ", err);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Score_refuses_amounts_beyond_the_request_limits_naming_the_field()
    {
        var file = WriteRequest("""
            { "ruleSetId": "dm-2021",
              "work": { "kind": "WORK_KIND_CINEMA",
                        "boxOffice": [{ "date": { "year": 2022, "month": 5, "day": 1 }, "amount": "79228162514264337593543950335" },
                                      { "date": { "year": 2022, "month": 5, "day": 2 }, "amount": "79228162514264337593543950335" },
                                      { "date": { "year": 2022, "month": 5, "day": 3 }, "amount": "0.000001" }] },
              "roles": [{ "role": "ROLE_PRODUCER" }] }
            """);
        try
        {
            var (exit, _, err) = Run("score", file, "--rules", Repo.Rules);
            Assert.Equal(1, exit);
            Assert.Contains("work.box_office[0].amount: at most 1,000,000,000,000 in absolute value (request limit)", err);
            Assert.Contains("work.box_office[1].amount: at most 1,000,000,000,000", err);
            Assert.Contains("work.box_office[2].amount: at most 4 decimal places (request limit)", err);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void A_failing_golden_allocation_prints_expected_and_got_with_the_same_decimals()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace("dm-2021/tests/allocation/01-rounding.yaml", "pointValue: \"583.333333\"", "pointValue: \"583.333334\"");
        var (exit, output, _) = Run("test", "dm-2021", "--rules", t.Root);
        Assert.Equal(1, exit);
        Assert.Contains("pointValue: expected 583.333334, got 583.333333", output);
    }

    [Theory]
    [InlineData("386.67", "436.6666666666666666666666667", "expected 386.67, got 436.67")]
    [InlineData("55", "50", "expected 55.00, got 50.00")]
    [InlineData("0.5", "1E+7", "expected 0.50, got 10000000.00")]
    [InlineData("1926022.6", "-0.004", "expected 1926022.60, got 0.00")]
    public void Golden_numbers_print_expected_and_got_invariant_with_the_same_decimals_and_no_exponent(string expected, string got, string printed)
    {
        var want = GoldenNumbers.Parse(expected)!.Value;
        var value = GoldenNumbers.Parse(got)!.Value;
        Assert.False(GoldenNumbers.Match(value, want));
        Assert.Equal(printed, GoldenNumbers.ExpectedGot(want, value));
    }

    [Fact]
    public void A_JSON_error_in_a_request_names_its_line_and_column()
    {
        var unknown = WriteRequest("{\n  \"ruleSetId\": \"dm-2021\",\n  \"work\": {\n    \"boxOfice\": []\n  }\n}\n");
        var syntax = WriteRequest("{\n  \"work\": { \"kind\": \"WORK_KIND_CINEMA\", },\n  \"roles\": []\n}\n");
        var enumValue = WriteRequest("{ \"work\": { \"kind\": \"WORK_KIND_CINEM\" } }");
        try
        {
            var (exit, _, err) = Run("score", unknown, "--rules", Repo.Rules);
            Assert.Equal(1, exit);
            Assert.Contains($"{unknown}:4:5: Unknown field: boxOfice", err);
            (exit, _, err) = Run("score", syntax, "--rules", Repo.Rules);
            Assert.Equal(1, exit);
            Assert.StartsWith($"{syntax}:2:41: ", err);
            (exit, _, err) = Run("score", enumValue, "--rules", Repo.Rules);
            Assert.Equal(1, exit);
            Assert.Contains($"{enumValue}:1:21: Invalid enum value: WORK_KIND_CINEM", err);
        }
        finally
        {
            File.Delete(unknown);
            File.Delete(syntax);
            File.Delete(enumValue);
        }
    }

    [Fact]
    public void A_JSON_error_in_a_line_of_JSON_lines_names_that_line_and_its_column()
    {
        var file = Path.Combine(Path.GetTempPath(), $"year-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(file, File.ReadLines(Path.Combine(Repo.Root, "examples", "year-2023.jsonl")).Take(2).Append("").Append("{\"work\": {\"kindd\": 1}}"));
        try
        {
            var (exit, _, err) = Run("allocate", file, "--rules", Repo.Rules);
            Assert.Equal(1, exit);
            Assert.Contains($"{file}:4:11: Unknown field: kindd", err);
            (exit, _, err) = Run("compare", "--works", file, "--a", "dm-2021", "--b", "dm-2017", "--rules", Repo.Rules);
            Assert.Equal(1, exit);
            Assert.StartsWith($"{file}:1:", err);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Compare_blames_an_unknown_side_on_its_option_not_on_the_year_file()
    {
        var year = Path.Combine(Repo.Root, "examples", "year-2023.json");
        var (exit, _, err) = Run("compare", "--a", "dm-20X", "--b", "dm-2021+covid-19", "--year", year, "--rules", Repo.Rules);
        Assert.Equal(1, exit);
        Assert.StartsWith("--a: unknown rule set 'dm-20X' (versions: dm-2017, dm-2021)", err);
        Assert.DoesNotContain("year-2023", err);
        (exit, _, err) = Run("compare", "--a", "dm-2021", "--b", "dm-2021+covid-20", "--year", year, "--rules", Repo.Rules);
        Assert.Equal(1, exit);
        Assert.StartsWith("--b: 'covid-20' is not an overlay of dm-2021", err);
    }

    private static string WriteRequest(string json)
    {
        var file = Path.Combine(Path.GetTempPath(), $"req-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, json);
        return file;
    }
}
