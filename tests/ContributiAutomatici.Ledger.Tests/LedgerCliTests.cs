using System.Diagnostics;
using System.Text.RegularExpressions;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Ledger.Tests;

/// <summary>
/// The CLI verbs, and the kill test: `contributi ledger post` in a child process killed in the middle of a posting
/// (inside its transaction, credits written and no entry yet; and at spread moments of its run), the ledger reopened:
/// the whole posting or none of it. The statement's HTML page in headless Chromium shows the JSON's figures in Italian.
/// </summary>
public partial class LedgerCliTests
{
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "contributi.dll");

    private static (int Code, string Out, string Err) Contributi(params string[] args)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        var code = ContributiAutomatici.Cli.Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void ChildKilledMidPosting_LeavesTheWholePostingOrNone(string backend)
    {
        var db = Backends.NewTarget(backend);
        var year = Path.Combine(Directory.CreateTempSubdirectory("contributi-ledger-kill-").FullName, "year.jsonl");
        Assert.Equal(0, Contributi("synth", "--companies", "150", "--works", "1500", "--seed", "7", "--out", year).Code);
        var posting = YearPosting.Allocate(Repo.Catalog, File.ReadLines(year).Select(l => JsonParser.Default.Parse<V1.AllocateRequest>(l)),
            new DateOnly(2024, 3, 1)).Posting;
        var expectedEntries = posting.Credits.Count + posting.Credits.Count(c => c.AuthorsShare > 0);
        var ledger = LedgerStore.Open(db);

        // 1. Inside the transaction: every credit row written, no entry yet; killed there.
        using (var child = Post(year, db, pause: true))
        {
            var line = child.StandardError.ReadLine();
            Assert.StartsWith("ledger: paused mid-posting", line);
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }
        AssertAllOrNothing(ledger, posting, expectedEntries, mustBeEmpty: true);

        // 2. At moments spread over a run (allocating, opening, writing, committing), each reopened and checked.
        var sw = Stopwatch.StartNew();
        using (var full = Post(year, db, pause: false)) full.WaitForExit();
        var runMs = sw.ElapsedMilliseconds;
        Assert.Equal(expectedEntries, ledger.Journal().Count);
        var db2 = Backends.NewTarget(backend);
        var ledger2 = LedgerStore.Open(db2);
        foreach (var fraction in new[] { 0.6, 0.8, 0.9, 0.97 })
        {
            using var child = Post(year, db2, pause: false);
            Thread.Sleep((int)(runMs * fraction));
            if (!child.HasExited) child.Kill(entireProcessTree: true);
            child.WaitForExit();
            AssertAllOrNothing(ledger2, posting, expectedEntries, mustBeEmpty: false);
        }
        // The ledger is usable after every kill: the posting completes (or was complete) exactly once.
        ledger2.Post(posting);
        AssertAllOrNothing(ledger2, posting, expectedEntries, mustBeEmpty: false);
        Assert.Equal(expectedEntries, ledger2.Journal().Count);
    }

    private static void AssertAllOrNothing(LedgerStore ledger, PostingRequest posting, int expectedEntries, bool mustBeEmpty)
    {
        var reopened = LedgerStore.Open(Target(ledger));
        var journal = reopened.Journal();
        if (mustBeEmpty || journal.Count == 0)
        {
            Assert.Empty(journal);
            Assert.Empty(reopened.Companies());
            return;
        }
        Assert.Equal(expectedEntries, journal.Count);
        Assert.Equal(posting.Credits.Sum(c => c.Amount), journal.Sum(e => e.Amount));
        Assert.Equal(posting.Credits.Select(c => c.CompanyId).Distinct().Count(), reopened.Companies().Count);
    }

    private static string Target(LedgerStore s) => s.Target;

    private static Process Post(string year, string db, bool pause)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            ArgumentList = { Cli, "ledger", "post", year, "--db", db, "--on", "2024-03-01" },
        };
        if (pause) psi.Environment["CONTRIBUTI_LEDGER_PAUSE_MID_POSTING"] = "1";
        var p = Process.Start(psi)!;
        if (!pause) p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEndAsync();
        return p;
    }

    [Fact]
    public void Verbs_PostTwice_Statement_Reinvest_Refusal_Expire_OnSqlite()
    {
        var db = Backends.NewTarget("sqlite");
        var year = Path.Combine(Repo.Root, "examples", "year-2023.json");
        var first = Contributi("ledger", "post", year, "--db", db, "--on", "2024-03-01");
        Assert.True(first.Code == 0, first.Err);
        Assert.Contains("posted 18 credits of 2023, EUR 5,002,024.79", first.Out);
        Assert.Contains("nothing changed", Contributi("ledger", "post", year, "--db", db, "--on", "2024-03-01").Out);

        var json = Contributi("ledger", "statement", "alfa-film", "--db", db, "--at", "2024-06-30", "--json");
        var statement = JsonParser.Default.Parse<V1.Statement>(json.Out);
        Assert.Equal(LedgerTests.Outcome2023.Companies.Single(c => c.Id == "alfa-film").Total.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture),
            statement.Held);

        var request = Path.Combine(Path.GetDirectoryName(db)!, "draw.json");
        File.WriteAllText(request, """
            {"company_id":"alfa-film","requested_on":{"year":2025,"month":2,"day":1},"new_work_id":"nuovo-film","work_kind":"tv_web",
             "use":"national_distribution","cost":"3000000","amount":"250000","net_worth":"2500000","authors_shares_documented":true}
            """);
        var refused = Contributi("ledger", "reinvest", request, "--db", db);
        Assert.Equal(1, refused.Code);
        Assert.Contains("use: a tv_web work may draw for development, production, international_distribution, home_entertainment; " +
                        "not for national_distribution [art. 14.1.b]", refused.Err);
        File.WriteAllText(request, File.ReadAllText(request).Replace("\"tv_web\"", "\"cinema\""));
        var drawn = Contributi("ledger", "reinvest", request, "--db", db, "--json");
        Assert.True(drawn.Code == 0, drawn.Err);
        Assert.Equal("250000.00", JsonParser.Default.Parse<V1.ReinvestResponse>(drawn.Out).Amount);

        var expired = Contributi("ledger", "expire", "--db", db, "--at", "2029-01-01", "--json");
        var report = JsonParser.Default.Parse<V1.LapseReport>(expired.Out);
        Assert.Equal((LedgerTests.Outcome2023.Allocated - 250_000m).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), report.Total);
        Assert.Equal("art. 12.6", report.Article);
        var bad = Contributi("ledger", "balance", "alfa-film", "--db", db, "--at", "2029-13-01");
        Assert.Equal((1, "--at: a date YYYY-MM-DD, got '2029-13-01'"), (bad.Code, bad.Err.Trim()));
    }

    [Fact]
    public void StatementHtml_InHeadlessChromium_ShowsTheJsonsFiguresInItalian()
    {
        var db = Backends.NewTarget("sqlite");
        var ledger = LedgerStore.Open(db);
        ledger.Post(LedgerTests.Posting2023);
        ledger.Draw(LedgerTests.Draw("alfa-film", 250_000m, new DateOnly(2025, 2, 1)) with { Stage = "1/3" });
        var html = Path.Combine(Path.GetDirectoryName(db)!, "statement.html");
        var r = Contributi("ledger", "statement", "alfa-film", "--db", db, "--at", "2025-06-30", "--json", "--html", html);
        Assert.True(r.Code == 0, r.Err);
        var s = JsonParser.Default.Parse<V1.Statement>(r.Out);
        var dom = Chromium(html);
        Assert.Contains("<html lang=\"it\">", dom);
        Assert.Contains("Comunicazione del fondo potenziale (art. 12, comma 7)", dom);
        Assert.Equal("30/06/2025", Id(dom, "at"));
        foreach (var (id, value) in new[] { ("credited", s.Credited), ("drawn", s.Drawn), ("lapsed", s.Lapsed), ("authors", s.AuthorsSetAside),
                     ("available", s.Available), ("held", s.Held) })
            Assert.Equal(Italian(value), Id(dom, id));
        Assert.Equal("2.349.514,58\u00a0€", Id(dom, "held"));
        // One row per credit, its held amount as the JSON line's, its deadline 31/12/2028; the rows sum to the total.
        var rows = HeldCells().Matches(dom).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(s.Lines.Select(l => Italian(l.Held)), rows);
        Assert.Equal(s.Lines.Count, Regex.Count(dom, "<td class=\"n\">31/12/2028</td>"));
        Assert.Equal(decimal.Parse(s.Held, System.Globalization.CultureInfo.InvariantCulture), s.Lines.Sum(l => decimal.Parse(l.Held, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Contains("01/02/2025", dom);
    }

    private static string Italian(string amount) =>
        StatementHtml.Eur(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture));

    private static string Id(string dom, string id) =>
        WebUnescape(Regex.Match(dom, $"id=\"{id}\"[^>]*>([^<]*)<").Groups[1].Value);

    private static string WebUnescape(string s) => System.Net.WebUtility.HtmlDecode(s);

    [GeneratedRegex("<td class=\"n held\">([^<]*)</td>")]
    private static partial Regex HeldCells();

    /// <summary>The page as headless Chromium renders it (Debian's chromium; .ci/run installs it).</summary>
    private static string Chromium(string file) => WebUnescape(HeadlessChromium.DumpDom(file));
}
