using ContributiAutomatici.Cli;

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
        Assert.Matches($@"dm-2021/tabella-2\.yaml:{line}: .*string", err);
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
        Assert.Contains($"tabella-5.yaml:{line}: 'System.IO' is not allowed in a rule expression", err);
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
        Assert.Contains("producer T1.B.6: expected 55, got 50", output2);
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

    private static string WriteRequest(string json)
    {
        var file = Path.Combine(Path.GetTempPath(), $"req-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, json);
        return file;
    }
}
