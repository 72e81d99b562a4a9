using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Tests;

/// <summary>
/// What-if reforms (issue 28) in the engine: parsed from YAML into overlay definitions, applied on top of a rule set, a
/// figure-only one scored with the law's compiled class (nothing compiled), a structural one compiled once and kept, and
/// every refusal at the reform's line.
/// </summary>
public class ReformTests
{
    internal static string Example(string name) => Path.Combine(Repo.Root, "examples", "reforms", name);

    internal static ReformDefinition Parse(string text, string file = "reform.yaml")
    {
        var errors = new List<RuleError>();
        var reform = RuleFileParser.ParseReform(file, text, errors);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        return reform!;
    }

    private static ReformDefinition ParseExample(string name) => Parse(File.ReadAllText(Example(name)), Example(name));

    /// <summary>The refusal of a reform applied to dm-2021 as in force (parse, merge or compile).</summary>
    internal static RuleLoadException Refused(string text, RuleCatalog? catalog = null)
    {
        catalog ??= Repo.Catalog;
        var errors = new List<RuleError>();
        var reform = RuleFileParser.ParseReform("reform.yaml", text, errors);
        if (reform is null) return new RuleLoadException(errors);
        return Assert.Throws<RuleLoadException>(() => catalog.WithReform(catalog.Select("dm-2021", out _)!, reform, out _));
    }

    private static readonly Work BoxOfficeWork = new()
    {
        Id = "w", Kind = WorkKind.Cinema, FirstReleaseDate = new DateOnly(2021, 5, 1),
        // One entry inside the art. 17 window (the Covid-19 overlay's +100% row reads T1.A.1's tiers), one after it.
        BoxOffice = [new(new DateOnly(2021, 6, 1), 400_000m), new(new DateOnly(2022, 6, 1), 600_000m)],
    };

    private static decimal Line(ScoreResult result, string rowId) =>
        result.For(Role.Producer)!.Quotas.SelectMany(q => q.Lines).Where(l => l.RowId == rowId).Sum(l => l.Points);

    [Fact]
    public void A_figure_only_reform_changes_the_figure_and_every_row_that_reads_it_with_nothing_compiled()
    {
        var catalog = Repo.Catalog;
        var law = catalog.Select("dm-2021", out _)!;
        var reform = ParseExample("tier-1-4000.yaml");
        Assert.True(reform.FigureOnly);
        using var compilations = RuleCompiler.CountCompilations();

        var rs = catalog.WithReform(law, reform, out var source);

        Assert.Equal(0, compilations.Compilations);
        Assert.True(source is ReformSource.Refigured or ReformSource.Cached);
        Assert.Equal("dm-2021+covid-19@tier-1-4000", rs.Id);
        Assert.Equal("tier-1-4000", rs.Definition.Reform!.Id);
        Assert.Equal(reform.ContentHash, rs.Definition.Reform.ContentHash);
        Assert.NotEqual(law.ContentHash, rs.ContentHash);
        var before = law.Score(BoxOfficeWork, [new RoleInput(Role.Producer)]);
        var after = rs.Score(BoxOfficeWork, [new RoleInput(Role.Producer)]);
        // 1,000,000 of box office: 200 points at 1 per 5,000, 250 at 1 per 4,000; the +100% row on the 400,000 in the window: 80 -> 100.
        Assert.Equal(200m, Line(before, "T1.A.1"));
        Assert.Equal(250m, Line(after, "T1.A.1"));
        Assert.Equal(80m, Line(before, "T1.A.1.covid"));
        Assert.Equal(100m, Line(after, "T1.A.1.covid"));
        // The explanation prints the reform's figure.
        Assert.Contains(after.For(Role.Producer)!.Quotas.SelectMany(q => q.Lines).Single(l => l.RowId == "T1.A.1").Inputs,
            i => i.Key == "tier_1_eur_per_point" && i.Value == "4000 EUR");
        // The law is untouched.
        Assert.Equal(200m, Line(law.Score(BoxOfficeWork, [new RoleInput(Role.Producer)]), "T1.A.1"));
    }

    [Fact]
    public void A_reform_that_adds_and_disables_rows_is_compiled_once_and_taken_again_from_the_cache()
    {
        var catalog = RuleCatalog.Load(Repo.Rules, new RuleCompileOptions { CacheDirectory = null });
        var law = catalog.Select("dm-2021", out _)!;
        var reform = ParseExample("korea-markets.yaml");
        Assert.False(reform.FigureOnly);
        var work = new Work
        {
            Id = "k", Kind = WorkKind.Cinema, ItalianSharePercent = 60,
            CoProducers = [new CoProducer("seoul-films", "KR", 40m)], NationalityRecognisedOn = new DateOnly(2022, 6, 1),
            Markets = [new MarketEntry(catalog.Select("dm-2021", out _)!.Lists.Lists.Single(l => l.Kind == "markets").Entries[0].Id)],
        };

        var first = catalog.WithReform(law, reform, out var s1);
        var second = catalog.WithReform(law, reform, out var s2);

        Assert.Equal(ReformSource.Compiled, s1);
        Assert.Equal(ReformSource.Cached, s2);
        Assert.Same(first, second);
        Assert.Equal(1, catalog.Reforms.Compiled);
        Assert.Equal(1, catalog.Reforms.Hits);
        var lawScore = law.Score(work, [new RoleInput(Role.Producer)]);
        var reformScore = first.Score(work, [new RoleInput(Role.Producer)]);
        Assert.Equal(25m, Line(lawScore, "T1.C.17"));
        Assert.Equal(0m, Line(reformScore, "T1.C.17"));
        Assert.DoesNotContain(first.Cells, c => c.Row.Id == "T1.C.17");
        Assert.Equal(10m, Line(reformScore, "T1.C.korea"));
        Assert.Equal(0m, Line(first.Score(work with { CoProducers = [] }, [new RoleInput(Role.Producer)]), "T1.C.korea"));
    }

    [Fact]
    public void The_least_recently_used_compiled_reform_is_let_go_and_its_load_context_unloaded()
    {
        var catalog = RuleCatalog.Load(Repo.Rules, new RuleCompileOptions { CacheDirectory = null });
        catalog.Reforms.Capacity = 1;
        var law = catalog.Select("dm-2021", out _)!;
        var unloaded = CompileAndLetGo(catalog, law);
        catalog.WithReform(law, Parse(Structural(2)), out _);
        Assert.Equal(1, catalog.Reforms.Evicted);
        Assert.Equal(1, catalog.Reforms.Count);
        for (var i = 0; i < 20 && unloaded.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(unloaded.IsAlive, "the evicted reform's load context was not unloaded");

        static WeakReference CompileAndLetGo(RuleCatalog catalog, CompiledRuleSet law)
        {
            var rs = catalog.WithReform(law, Parse(Structural(1)), out _);
            // Scored, with and without explanations, as a server would: nothing of the scoring may keep its code alive.
            Assert.Equal(1m, Line(rs.Score(BoxOfficeWork, [new RoleInput(Role.Producer)]), "T1.C.extra"));
            var totals = new PointTotals();
            rs.ScoreTotals(BoxOfficeWork, [new RoleInput(Role.Producer)], totals);
            var context = System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(rs.Create!.Method.DeclaringType!.Assembly)!;
            Assert.True(context.IsCollectible);
            return new WeakReference(context);
        }
    }

    internal static string Structural(int n) => $$"""
        id: structural-{{n}}
        title: "a row scoring {{n}}"
        changes:
          - add: T1.C.extra
            after: T1.C.16
            label: "riga aggiunta"
            cite: "prova"
            role: producer
            points: "{{n}}m"
        """;

    [Theory]
    [InlineData("  - figure: T1.A.1.tier_1_eur_per_pont\n    value: 4000", 4, "row T1.A.1 has no figure tier_1_eur_per_pont; did you mean 'tier_1_eur_per_point'")]
    [InlineData("  - figure: T1.A.99.tier_1_eur_per_point\n    value: 4000", 4, "names row T1.A.99, which dm-2021\\+covid-19 does not have")]
    [InlineData("  - figure: T1.A.1.tier_1_eur_per_point\n    value: 4.000", 4, "did you mean 4000\\?")]
    [InlineData("  - figure: T1.A.1.covid.tier_1_eur_per_point\n    value: 4000", 4, "read by reference: change T1.A.1.tier_1_eur_per_point")]
    [InlineData("  - quota: cinema\n    share: 64", 4, "the quotas add up to 101%, not 100%")]
    [InlineData("  - quota: cinema.economic\n    share: 51", 4, "the sub-quotas of 'cinema' add up to 101%, not 100%")]
    [InlineData("  - disable: T1.C.170\n    cite: x", 4, "reform r disables row T1.C.170, which dm-2021\\+covid-19 does not have")]
    [InlineData("  - list: markets\n    remove: cannes", 4, "list markets of dm-2021\\+covid-19 has no entry 'cannes'")]
    [InlineData("  - add: T1.X\n    after: T1.C.16\n    label: x\n    cite: x\n    role: producer\n    points: 'System.IO.File.ReadAllText(\"/etc/passwd\").Length'", 9, "")]
    [InlineData("  - figur: T1.A.1.x", 4, "a change is one of")]
    public void A_reform_naming_what_does_not_exist_or_breaking_the_quotas_is_refused_at_its_line(string change, int line, string message)
    {
        var ex = Refused($"id: r\ntitle: t\nchanges:\n{change}\n");
        Assert.Contains(ex.Errors, e => e.File == "reform.yaml" && e.Line == line && System.Text.RegularExpressions.Regex.IsMatch(e.Message, message));
    }

    [Fact]
    public void Every_hostile_expression_of_the_catalogue_sent_as_a_reform_row_is_refused_at_its_line()
    {
        var refused = HostileExpressionTests.Catalogue.Where(e => e.Refused is not null).ToList();
        var (text, where) = CatalogueReform(refused);
        var ex = Refused(text);

        var failures = new List<string>();
        foreach (var e in refused)
        {
            var (from, to) = where[e.Index];
            var mine = ex.Errors.Where(x => x.File == "reform.yaml" && x.Line >= from && x.Line <= to).ToList();
            if (mine.Count == 0) failures.Add($"#{e.Index} '{e.Expr}': not refused (expected /{e.Refused}/)");
            else if (!mine.Any(x => System.Text.RegularExpressions.Regex.IsMatch(x.Message, e.Refused!)))
                failures.Add($"#{e.Index} '{e.Expr}': refused as '{string.Join(" | ", mine.Select(x => x.Message))}', expected /{e.Refused}/");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>A reform adding one producer row per catalogue entry (T1.H.i, after T1.C.16), and the lines of each expression.</summary>
    private static (string Text, Dictionary<int, (int From, int To)> Lines) CatalogueReform(IEnumerable<HostileExpressionTests.Entry> entries)
    {
        var lines = new List<string> { "id: hostile", "title: \"catalogue\"", "changes:" };
        var where = new Dictionary<int, (int From, int To)>();
        foreach (var e in entries)
        {
            lines.AddRange([$"  - add: T1.H.{e.Index}", "    after: T1.C.16", $"    label: \"catalogue {e.Index}\"", "    cite: \"c\"", "    role: producer", "    points: |-"]);
            var from = lines.Count + 1;
            lines.AddRange(e.Expr.Split('\n').Select(l => "      " + l));
            where[e.Index] = (from, lines.Count);
        }
        return (string.Join("\n", lines) + "\n", where);
    }

    [Fact]
    public void Every_harmless_expression_of_the_catalogue_sent_as_a_reform_row_compiles_and_scores_deterministically()
    {
        var accepted = HostileExpressionTests.Catalogue.Where(e => e.Accepted).ToList();
        var catalog = RuleCatalog.Load(Repo.Rules, new RuleCompileOptions { CacheDirectory = null });
        var rs = catalog.WithReform(catalog.Select("dm-2021~covid-19", out _)!, Parse(CatalogueReform(accepted).Text), out var source);
        Assert.Equal(ReformSource.Compiled, source);
        var work = CatalogueRules.LargeWork(rs.Lists);
        var first = rs.Score(work, [new RoleInput(Role.Producer)]);
        var second = rs.Score(work, [new RoleInput(Role.Producer)]);
        foreach (var e in accepted)
            Assert.True(Line(first, $"T1.H.{e.Index}") == Line(second, $"T1.H.{e.Index}"), $"#{e.Index} '{e.Expr}' scored twice differently");
        Assert.Equal(first.For(Role.Producer)!.TotalPoints, second.For(Role.Producer)!.TotalPoints);
    }

    [Fact]
    public void A_figure_changed_from_a_date_holds_for_the_results_dated_from_then_only_and_is_compiled()
    {
        var reform = Parse("""
            id: dated
            title: "dal 2022"
            changes:
              - figure: T1.A.1.tier_1_eur_per_point
                value: 4000
                from: 2022-01-01
            """);
        Assert.False(reform.FigureOnly);
        var catalog = RuleCatalog.Load(Repo.Rules, new RuleCompileOptions { CacheDirectory = null });
        var law = catalog.Select("dm-2021~covid-19", out _)!;
        using var compilations = RuleCompiler.CountCompilations();
        var rs = catalog.WithReform(law, reform, out var source);
        Assert.Equal(ReformSource.Compiled, source);
        Assert.Equal(1, compilations.Compilations);
        // 400,000 dated 2021 at 1 per 5,000 (80), 600,000 dated 2022 at 1 per 4,000 (150); the law: 200 on the whole.
        Assert.Equal(200m, Line(law.Score(BoxOfficeWork, [new RoleInput(Role.Producer)]), "T1.A.1"));
        Assert.Equal(230m, Line(rs.Score(BoxOfficeWork, [new RoleInput(Role.Producer)]), "T1.A.1"));
    }

    [Fact]
    public void Lists_quotas_caps_and_policy_are_figure_only_and_change_the_definition()
    {
        var reform = Parse("""
            id: mix
            title: "mix"
            changes:
              - list: markets
                remove: berlinale-coproduction-market
              - quota: cinema
                share: 60
              - quota: tv_web
                share: 21
              - work_cap: 25
              - excess: redistribute
            """);
        Assert.True(reform.FigureOnly);
        using var compilations = RuleCompiler.CountCompilations();
        var rs = Repo.Catalog.WithReform(Repo.Catalog.Select("dm-2021", out _)!, reform, out _);
        Assert.Equal(0, compilations.Compilations);
        Assert.Equal(60m, rs.Definition.Quotas.Single(q => q.Id == "cinema").SharePercent);
        Assert.Equal(21m, rs.Definition.Quotas.Single(q => q.Id == "tv_web").SharePercent);
        Assert.Equal(25m, rs.Definition.Allocation!.WorkCap.Value);
        Assert.Equal(Engine.Allocation.ExcessPolicy.Redistribute, rs.Definition.Allocation.DefaultExcess);
        Assert.DoesNotContain(rs.Lists.Lists.Single(l => l.Kind == "markets").Entries, e => e.Id == "berlinale-coproduction-market");
    }
}
