using System.Diagnostics;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using YamlDotNet.RepresentationModel;

namespace ContributiAutomatici.Tests;

/// <summary>
/// The catalogue of hostile and careless expressions (Catalogue/hostile-expressions.yaml): each is refused at load
/// with the real file and a line of the expression, or scores deterministically and in bounded time, or fails as an
/// error of its row.
/// </summary>
public class HostileExpressionTests
{
    public sealed record Entry(int Index, string Expr, string? Refused, decimal? Points, string? Error, bool Accepted);

    public static IReadOnlyList<Entry> Catalogue { get; } = LoadCatalogue();

    private static IReadOnlyList<Entry> LoadCatalogue()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Catalogue", "hostile-expressions.yaml"))));
        var entries = new List<Entry>();
        foreach (var node in ((YamlSequenceNode)stream.Documents[0].RootNode).Children.Cast<YamlMappingNode>())
        {
            string? Get(string key) => node.Children.TryGetValue(new YamlScalarNode(key), out var v) ? ((YamlScalarNode)v).Value : null;
            var refused = Get("refused");
            var error = Get("error");
            var points = Get("points") is { } p ? decimal.Parse(p, System.Globalization.CultureInfo.InvariantCulture) : (decimal?)null;
            entries.Add(new Entry(entries.Count, Get("expr")!, refused, points, error, refused is null && error is null));
        }
        return entries;
    }

    [Fact]
    public void The_catalogue_has_at_least_60_hostile_expressions_of_every_kind()
    {
        Assert.True(Catalogue.Count(e => e.Refused is not null) >= 60, $"{Catalogue.Count(e => e.Refused is not null)} refused entries");
        Assert.True(Catalogue.Count(e => e.Accepted) >= 10);
        Assert.True(Catalogue.Count(e => e.Error is not null) >= 3);
    }

    [Fact]
    public void Every_refused_expression_is_refused_at_load_with_its_file_and_a_line_of_the_expression()
    {
        var refused = Catalogue.Where(e => e.Refused is not null).ToList();
        using var t = CatalogueRules.Write(refused);
        var ex = Assert.Throws<RuleLoadException>(() => RuleCatalog.Load(t.Rules.Root, new RuleCompileOptions { CacheDirectory = null }));

        var failures = new List<string>();
        foreach (var e in refused)
        {
            var (from, to) = t.Lines[e.Index];
            var mine = ex.Errors.Where(x => x.Line >= from && x.Line <= to).ToList();
            if (mine.Count == 0) failures.Add($"#{e.Index} '{e.Expr}': not refused (expected /{e.Refused}/)");
            else if (!mine.Any(x => System.Text.RegularExpressions.Regex.IsMatch(x.Message, e.Refused!)))
                failures.Add($"#{e.Index} '{e.Expr}': refused as '{string.Join(" | ", mine.Select(x => x.Message))}', expected /{e.Refused}/");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // Every refusal names the real table file and a line inside some expression: nothing points elsewhere.
        Assert.All(ex.Errors, x =>
        {
            Assert.Equal(Path.GetFullPath(t.TableFile), Path.GetFullPath(x.File));
            Assert.Contains(t.Lines.Values, l => x.Line >= l.From && x.Line <= l.To);
        });
        Assert.DoesNotContain(ex.Errors, x => x.Message.Contains("public sealed class", StringComparison.Ordinal)); // no generated source
    }

    [Fact]
    public void Every_accepted_expression_scores_deterministically_in_bounded_time()
    {
        var accepted = Catalogue.Where(e => e.Accepted).ToList();
        using var t = CatalogueRules.Write(accepted);
        var first = RuleCatalog.Load(t.Rules.Root, new RuleCompileOptions { CacheDirectory = null }).RuleSets[0];
        var second = RuleCatalog.Load(t.Rules.Root, new RuleCompileOptions { CacheDirectory = null }).RuleSets[0];
        var work = CatalogueRules.LargeWork(first.Lists);

        first.Score(work, [new(Role.Producer)]); // warm-up (JIT)
        var sw = Stopwatch.StartNew();
        var a = Points(first.Score(work, [new(Role.Producer)], ScoreOptions.TotalsOnly));
        var elapsed = sw.Elapsed;
        var b = Points(first.Score(work, [new(Role.Producer)]));
        var c = Points(second.Score(work, [new(Role.Producer)]));

        // 1,000 entries in every list, every accepted expression at once: bounded well under a second.
        Assert.True(elapsed < TimeSpan.FromSeconds(1), $"scoring took {elapsed.TotalMilliseconds} ms");
        foreach (var e in accepted)
        {
            var row = $"T.A.{e.Index}";
            Assert.True(b.GetValueOrDefault(row) == c.GetValueOrDefault(row), $"#{e.Index} '{e.Expr}' differs between two compilations");
            if (e.Points is { } expected) Assert.True(expected == b.GetValueOrDefault(row), $"#{e.Index} '{e.Expr}': expected {expected}, got {b.GetValueOrDefault(row)}");
        }
        Assert.Equal(a.Values.Sum(), b.Values.Sum());
    }

    [Fact]
    public void Every_failing_expression_is_an_error_of_its_row_naming_role_file_and_line()
    {
        foreach (var e in Catalogue.Where(e => e.Error is not null))
        {
            using var t = CatalogueRules.Write([e]);
            var set = RuleCatalog.Load(t.Rules.Root, new RuleCompileOptions { CacheDirectory = null }).RuleSets[0];
            var ex = Assert.Throws<RuleEvaluationException>(() => set.Score(CatalogueRules.LargeWork(set.Lists), [new(Role.Producer)]));
            Assert.Matches(e.Error!, ex.Reason);
            Assert.Equal($"row T.A.{e.Index} (producer) points at test-set/t.yaml:{t.Lines[e.Index].From}", ex.Site);
            Assert.Contains(ex.Site, ex.Message);
        }
    }

    private static Dictionary<string, decimal> Points(ScoreResult r)
    {
        var d = new Dictionary<string, decimal>();
        foreach (var q in r.Roles[0].Quotas)
            foreach (var l in q.Lines) d[l.RowId] = l.Points;
        if (r.Roles[0].Quotas.All(q => q.Lines.Count == 0)) d["total"] = r.Roles[0].TotalPoints;
        return d;
    }
}

/// <summary>A rule set with one producer row per catalogue entry, its expression as a block scalar, with the repository's lists.</summary>
internal sealed class CatalogueRules : IDisposable
{
    public required TempRules Rules { get; init; }
    public required string TableFile { get; init; }
    public required Dictionary<int, (int From, int To)> Lines { get; init; }

    public static CatalogueRules Write(IReadOnlyList<HostileExpressionTests.Entry> entries)
    {
        var t = TempRules.WithRow("0");
        foreach (var list in new[] { "tabella-6-festival.yaml", "tabella-7-premi.yaml", "tabella-8-mercati.yaml" })
            File.Copy(Path.Combine(Repo.Rules, "dm-2021", list), Path.Combine(t.Set, list));
        File.AppendAllText(Path.Combine(t.Set, "ruleset.yaml"), "\nlists: [tabella-6-festival.yaml, tabella-7-premi.yaml, tabella-8-mercati.yaml]\n");
        var lines = new List<string> { "table: T", "title: \"t\"", "cite: \"t\"", "sections:", "  - id: A", "    title: \"a\"", "    quota: q", "    rows:" };
        var where = new Dictionary<int, (int, int)>();
        foreach (var e in entries)
        {
            lines.AddRange([$"      - id: T.A.{e.Index}", $"        label: \"catalogue {e.Index}\"", "        cite: \"c\"", "        role: producer", "        points: |-"]);
            var from = lines.Count + 1;
            lines.AddRange(e.Expr.Split('\n').Select(l => "          " + l));
            where[e.Index] = (from, lines.Count);
        }
        var table = Path.Combine(t.Set, "t.yaml");
        File.WriteAllLines(table, lines);
        return new CatalogueRules { Rules = t, TableFile = table, Lines = where };
    }

    /// <summary>1,000 entries in every list of the work.</summary>
    public static Work LargeWork(ListCatalog lists)
    {
        const int n = 1000;
        string[] Ids(string kind) => lists.Lists.Single(l => l.Kind == kind).Entries.Select(e => e.Id).Distinct().Take(10).ToArray();
        var festivals = Ids("festivals");
        var prizes = Ids("prizes");
        var markets = Ids("markets");
        var day = new DateOnly(2022, 1, 1);
        return new Work
        {
            Id = "w",
            Title = "catalogue",
            Kind = WorkKind.Cinema,
            FirstReleaseDate = new DateOnly(2022, 7, 10),
            ProductionCost = 3_000_000m,
            BoxOffice = [.. Enumerable.Range(0, n).Select(i => new DatedAmount(day.AddDays(i % 300), 1_000m))],
            MediaSales = [.. Enumerable.Range(0, n).Select(i => new MediaSale(day, 100m))],
            ForeignSales = [.. Enumerable.Range(0, n).Select(i => new ForeignSale(day, 10m, $"{(char)('A' + i % 50 / 10)}{(char)('A' + i % 50 % 10)}"))],
            ItalianPhases = Enum.GetValues<ProcessingPhase>(),
            Festivals = [.. Enumerable.Range(0, n).Select(i => new FestivalEntry(festivals[i % festivals.Length],
                i % 2 == 0 ? FestivalSection.Competition : FestivalSection.OfficialOutOfCompetition, day, i % 10 < 5, i % 3))],
            Prizes = [.. Enumerable.Range(0, n).Select(i => new PrizeEntry(prizes[i % prizes.Length],
                i % 2 == 0 ? PrizeCategory.BestFilm : PrizeCategory.Artistic, i % 4 < 2 ? PrizeOutcome.Win : PrizeOutcome.Nomination, day))],
            Markets = [.. Enumerable.Range(0, n).Select(i => new MarketEntry(markets[i % markets.Length], day))],
        };
    }

    public void Dispose() => Rules.Dispose();
}
