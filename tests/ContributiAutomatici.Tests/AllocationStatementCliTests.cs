using ContributiAutomatici.Cli;
using Google.Protobuf;
using static ContributiAutomatici.Tests.AllocationAccountTests;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>
/// Issue 25 item 3: <c>allocate YEAR --company ID</c>, one company's statement (text and --json) from the whole year's
/// allocation: the summary of the whole year, the company's credits with one line per claim, summing to its amount in
/// the full result.
/// </summary>
public sealed class AllocationStatementCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("contributi-statement-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var exit = Program.Run(args, TextReader.Null, o, e);
        return (exit, o.ToString(), e.ToString());
    }

    private static V1.AllocationResult Json(string output) =>
        JsonParser.Default.Parse<V1.AllocationResult>(output);

    [Fact]
    public void A_synthetic_years_company_statement_is_its_part_of_the_full_result_and_its_lines_sum_to_its_amount()
    {
        var year = Path.Combine(_dir, "year.jsonl");
        var (s, _, serr) = Run("synth", "--companies", "300", "--works", "3000", "--seed", "11", "--out", year, "--rules", Repo.Rules);
        Assert.True(s == 0, serr);
        var (f, fullOut, ferr) = Run("allocate", year, "--json", "--rules", Repo.Rules);
        Assert.True(f == 0, ferr);
        var full = Json(fullOut);
        // The company with most credits, and one with a capped credit if the year has one.
        var many = full.Companies.OrderByDescending(c => c.Credits.Sum(x => x.Lines.Count)).ThenBy(c => c.CompanyId, StringComparer.Ordinal).First();
        var capped = full.Companies.FirstOrDefault(c => c.Credits.Any(x => x.Caps.Count > 0)) ?? many;

        var (e, oneOut, oerr) = Run("allocate", year, "--json", "--company", many.CompanyId, "--company", capped.CompanyId, "--rules", Repo.Rules);
        Assert.True(e == 0, oerr);
        var one = Json(oneOut);
        Assert.Equal(full.Summary, one.Summary); // the whole year's summary, always
        Assert.Equal(full.Companies.Where(c => c.CompanyId == many.CompanyId || c.CompanyId == capped.CompanyId), one.Companies);
        var works = one.Companies.SelectMany(c => c.Credits).SelectMany(x => x.Lines).Select(l => l.WorkId).ToHashSet();
        Assert.All(works, w => Assert.Contains(one.Works, x => x.WorkId == w));
        Assert.All(one.Works, w => Assert.Equal(full.Works.Single(x => x.WorkId == w.WorkId), w));
        Assert.True(one.Works.Count < full.Works.Count);
        CheckStatements(one);
        foreach (var c in one.Companies)
        {
            Assert.NotEmpty(c.Credits);
            Assert.Equal(D(c.Total), c.Credits.Sum(x => x.Lines.Sum(l => D(l.ExactAmount)) + D(x.Rounding)));
        }

        // The text statement says the same amounts, per credit, as the JSON.
        var (t, text, terr) = Run("allocate", year, "--company", many.CompanyId, "--rules", Repo.Rules);
        Assert.True(t == 0, terr);
        Assert.Contains($"statement of {many.CompanyId} (", text, StringComparison.Ordinal);
        Assert.DoesNotContain("top 10 companies", text, StringComparison.Ordinal);
        var credits = text.Split('\n').Where(l => l.TrimStart().StartsWith("credit ", StringComparison.Ordinal)).Select(l => D(l.Trim()[6..].Trim().Replace(",", ""))).ToList();
        Assert.Equal(many.Credits.Select(x => D(x.Amount)), credits);
        foreach (var x in many.Credits)
            Assert.Contains($"  {x.QuotaId}: EUR {D(x.Amount).ToString("#,0.00", System.Globalization.CultureInfo.InvariantCulture)}, ", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_repro_statement_shows_alfa_films_company_cap_cut_per_claim()
    {
        var file = Path.Combine(_dir, "repro.json");
        File.WriteAllText(file, JsonFormatter.Default.Format(Repro()));
        var (e, output, err) = Run("allocate", file, "--json", "--company", "alfa-film", "--rules", Repo.Rules);
        Assert.True(e == 0, err);
        var r = Json(output);
        var economic = Assert.Single(Assert.Single(r.Companies).Credits, x => x.QuotaId == "cinema.economic");
        Assert.Equal("1575000", economic.Amount);
        // Redistribute (the repro's policy): the water level rises until alfa-film, the only claimant, reaches its cap
        // (art. 6.4.b) at 778.418451... EUR per point, where it stops: campione-incassi is cut by the work cap to 945,000,
        // every claim is company-capped and the company cap cuts nothing more at that value (its cut is in the quota's
        // account, measured at the nominal value, reading guide 7).
        var campione = Assert.Single(economic.Lines, l => l.WorkId == "campione-incassi");
        Assert.Equal(["work cap (art. 6.4.a)", "company cap (art. 6.4.b)"], campione.Caps);
        Assert.Equal(1_271_416.80m, Math.Round(D(campione.BeforeCaps), 2));
        Assert.Equal(326_416.80m, Math.Round(D(campione.CutByWorkCap), 2));
        Assert.All(economic.Lines, l => Assert.Contains("company cap (art. 6.4.b)", l.Caps));
        Assert.Equal(1_575_000m, economic.Lines.Sum(l => D(l.BeforeCaps) - D(l.CutByWorkCap)));
        Assert.Equal("413695.4148471616", r.Summary.Quotas.Single(q => q.QuotaId == "cinema.economic").Account.UnassignedCompanyCap);
        Assert.Equal(D(economic.Amount), economic.Lines.Sum(l => D(l.ExactAmount)) + D(economic.Rounding));
        Assert.Equal(["art. 4.1.b", "art. 4.1.b", "art. 4.1.d", "art. 4.1.d", "art. 5.2", "art. 5.8"],
            r.Exclusions.Select(x => x.Article).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_company_not_in_the_year_is_refused_naming_the_field()
    {
        var (e, _, err) = Run("allocate", Path.Combine(Repo.Root, "examples", "year-2023.json"), "--company", "no-such-srl", "--rules", Repo.Rules);
        Assert.Equal(1, e);
        Assert.Contains("items[0].header.statements_for[0]: company 'no-such-srl' is not one of the year's companies", err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_long_company_id_does_not_break_the_top_companies_table()
    {
        var year = JsonParser.Default.Parse<V1.AllocationYear>(File.ReadAllText(Path.Combine(Repo.Root, "examples", "year-2023.json")));
        const string LongId = "societa-cooperativa-di-produzione-e-distribuzione-cinematografica-indipendente";
        foreach (var c in year.Companies.Where(c => c.Id == "beta-produzioni")) c.Id = LongId;
        foreach (var c in year.Claims.Where(c => c.CompanyId == "beta-produzioni")) c.CompanyId = LongId;
        var file = Path.Combine(_dir, "long.json");
        File.WriteAllText(file, JsonFormatter.Default.Format(year));

        var (e, output, err) = Run("allocate", file, "--rules", Repo.Rules);
        Assert.True(e == 0, err);
        var rows = output.Split('\n').SkipWhile(l => !l.StartsWith("top ", StringComparison.Ordinal)).Skip(1).TakeWhile(l => l.Length > 0).ToList();
        Assert.Equal(8, rows.Count);
        Assert.Contains(rows, r => r.Contains(LongId, StringComparison.Ordinal));
        // The amounts in one column: "EUR" at the same place on every row.
        Assert.Single(rows.Select(r => r.IndexOf(" EUR ", StringComparison.Ordinal)).Distinct());
    }
}
