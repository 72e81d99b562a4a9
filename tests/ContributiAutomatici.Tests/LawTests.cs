using ContributiAutomatici.Cli;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Law;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Tests;

/// <summary>
/// The law beside its rows: the decree's text in each version's folder (decreto.md), every cite resolved to its paragraphs,
/// a cite that names no paragraph refused at its file:line, and the CLI's <c>show</c> and <c>figures</c>.
/// </summary>
public class LawTests
{
    private const string T1 = "dm-2021/tabella-1.yaml";

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var exit = Program.Run(args, TextReader.Null, o, e);
        return (exit, o.ToString(), e.ToString());
    }

    /// <summary>The addresses' keys of a cite, space-separated.</summary>
    private static string Keys(string cite)
    {
        var problems = new List<string>();
        var keys = Citation.Parse(cite, problems).SelectMany(r => r.Addresses).Select(a => a.Key);
        Assert.Empty(problems);
        return string.Join(" ", keys);
    }

    [Fact]
    public void A_cite_is_read_into_articles_commas_letters_and_tables_sections_items()
    {
        Assert.Equal("T1/A/1 art7/1/a", Keys("Tabella 1, A.1; art. 7.1.a"));
        Assert.Equal("T1/A/1 art7/1/a", Keys("Tabella 1, A.1 (rapporto incasso/costo); art. 7.1.a"));
        Assert.Equal("art17/2/a", Keys("art. 17.2.a"));
        Assert.Equal("art3/2/a/1", Keys("art. 3.2.a.1"));
        Assert.Equal("T1/A/2 art7/1/b art7/1/c", Keys("Tabella 1, A.2; art. 7.1.b-c"));
        Assert.Equal("art9/5 T3/B T3/C", Keys("Art. 9.5; Tabella 3, B e C"));
        Assert.Equal("T6/B T6/C", Keys("Tabella 6 fasce B e C"));
        Assert.Equal("T6/A", Keys("Tabella 6 fascia A"));
        Assert.Equal("T6/B/1)/n.9", Keys("Tabella 6, fascia B, 1) tutte le opere, n. 9"));
        // The notes in parentheses are the author's words, even when they hold another decree's address.
        var problems = new List<string>();
        var reference = Assert.Single(Citation.Parse("DM 31/07/2017, Tabella 1 (parametro presunto; valori provvisori da DM 2021 Tabella 1, A.1)", problems));
        Assert.Empty(problems);
        Assert.Equal("31/07/2017", reference.Decree);
        Assert.Equal("T1", Assert.Single(reference.Addresses).Key);
        Citation.Parse("incassi fino a € 5 milioni", problems);
        Assert.Contains("is not an address", Assert.Single(problems));
    }

    [Fact]
    public void Every_row_table_and_row_patch_of_every_shipped_rule_set_resolves_to_paragraphs_of_its_decree()
    {
        var catalog = Repo.Catalog;
        var resolved = 0;
        foreach (var d in catalog.RuleSets.Select(s => s.Definition).Concat(catalog.Overlays))
        {
            var text = d.LawText;
            Assert.True(text is not null, $"{d.Id} has its decree's text beside it");
            Assert.Equal(d.Id.StartsWith("dm-2017", StringComparison.Ordinal) ? "31/07/2017" : "15/07/2021", text!.Decree);
            var cites = d.Tables.Select(t => (What: "table " + t.Id, Cite: t.Citation))
                .Concat(d.Tables.SelectMany(t => t.Rows).Select(r => (What: "row " + r.Id, Cite: r.Citation)))
                .Concat((d.Overlay?.Rows ?? []).Select(p => (What: "patch of " + p.RowId, Cite: p.Citation)));
            foreach (var (what, cite) in cites)
            {
                var addresses = text.Resolve(cite, out var problems);
                Assert.True(problems.Count == 0, $"{d.Id} {what}: {string.Join("; ", problems)}");
                Assert.NotEmpty(addresses);
                Assert.All(addresses, a => Assert.NotEmpty(text.WithParts(a.Paragraph!).SelectMany(p => p.Lines)));
                resolved += addresses.Count;
            }
        }
        Assert.True(resolved > 400, $"{resolved} addresses resolved");
        // Not checked at load (lists are not rows), but DM 2021's list entries name their lines too ("Tabella 8, n. 13"): the
        // decree's lists (Tabelle 6-8); the dated lists of States cite their own sources (treaties, the DGCA, the OECD).
        var d2021 = catalog.FindVersion("dm-2021")!.Definition;
        foreach (var entry in d2021.Lists.Where(l => !RuleFileParser.StateListKinds.Contains(l.Kind)).SelectMany(l => l.Entries))
        {
            var line = Assert.Single(d2021.LawText!.Resolve(entry.Citation, out var problems));
            Assert.True(problems.Count == 0, $"{entry.Id}: {string.Join("; ", problems)}");
            Assert.StartsWith(line.Address.Parts[^1]["n.".Length..] + ".", Assert.Single(line.Paragraph!.Lines));
        }
        // What the words are: art. 17.2.a of DM 2021 is the +100% of the box office; dm-2017's tables say that their text is not available.
        var dm2021 = catalog.FindVersion("dm-2021")!.Definition.LawText!;
        Assert.Contains("incrementati del 100 per cento", string.Join(" ", dm2021.Resolve("art. 17.2.a", out _)[0].Paragraph!.Lines));
        var dm2017 = catalog.FindVersion("dm-2017")!.Definition.LawText!;
        Assert.Contains("testo non disponibile", dm2017.Resolve("DM 31/07/2017, Tabella 2", out _)[0].Paragraph!.Heading);
    }

    [Fact]
    public void A_planted_bad_cite_is_refused_with_the_file_and_line_of_the_cite_and_the_reference_that_failed()
    {
        using var t = TempRules.CopyOfRepo();
        t.Replace(T1, "cite: \"Tabella 1, A.1; art. 7.1.a\"", "cite: \"Tabella 1, A.1; art. 7.9.a\"");
        t.Replace("covid-19/ruleset.yaml", "cite: \"art. 17.2.b\"", "cite: \"art. 17.2.z\"");
        var ex = t.LoadFails(RuleCompileOptions.DefaultCacheDirectory);
        Assert.Equal(2, ex.Errors.Count);
        var row = Assert.Single(ex.Errors, e => e.File.EndsWith("tabella-1.yaml", StringComparison.Ordinal));
        Assert.Equal(t.LineOf(T1, "art. 7.9.a"), row.Line);
        Assert.Equal(9, row.Column);
        Assert.Contains("row T1.A.1", row.Message);
        Assert.Contains("art. 7.9.a is no paragraph of DM 15/07/2021", row.Message);
        Assert.Contains("art. 7 has art. 7.1, art. 7.2, art. 7.3, art. 7.4", row.Message);
        // An overlay's cite resolves in the text of the version it patches.
        var patch = Assert.Single(ex.Errors, e => e.File.EndsWith("ruleset.yaml", StringComparison.Ordinal));
        Assert.Equal(t.LineOf("covid-19/ruleset.yaml", "art. 17.2.z"), patch.Line);
        Assert.Contains("patch of T4.A.1", patch.Message);
        Assert.Contains("art. 17.2.z is no paragraph", patch.Message);

        // validate says the same, file:line:column first, and exits 1.
        var (exit, _, err) = Run("validate", "--rules", t.Root);
        Assert.Equal(1, exit);
        Assert.Contains($"tabella-1.yaml:{row.Line}:9: row T1.A.1: cite \"Tabella 1, A.1; art. 7.9.a\": art. 7.9.a is no paragraph", err);

        // The shipped rules: validate says what it resolved.
        var (ok, output, okErr) = Run("validate", "--rules", Repo.Rules);
        Assert.True(ok == 0, okErr);
        Assert.Matches(@"(?m)^law dm-2021: DM 15/07/2021 \(.*decreto\.md\), \d+ paragraphs; the cites of 5 tables, \d+ rows and \d+ row patches of covid-19 resolved \(\d+\)$", output);
        Assert.Matches(@"(?m)^law dm-2017: DM 31/07/2017 \(.*decreto\.md\), \d+ paragraphs; the cites of 6 tables, \d+ rows resolved \(\d+\)$", output);
    }

    [Fact]
    public void A_cite_naming_another_decree_and_a_figure_cite_are_told_apart()
    {
        using var t = TempRules.CopyOfRepo();
        // A figure's cite quotes the decree's words: never resolved. A row's cite naming DM 2021 in dm-2017 is refused.
        t.Replace("dm-2021/tabella-1.yaml", "cite: \"1 punto ogni € 5.000\"", "cite: \"art. 99 (a quotation, not an address)\"");
        t.Replace("dm-2017/tabella-1.yaml", "cite: \"DM 31/07/2017, Tabella 1 (parametro presunto; valori provvisori da DM 2021 Tabella 1, A.1)\"",
            "cite: \"DM 15/07/2021, Tabella 1, A.1\"");
        // dm-2021 is unchanged: compiled from the cache the tests share; dm-2017 is refused before compiling.
        var error = Assert.Single(t.LoadFails(RuleCompileOptions.DefaultCacheDirectory).Errors);
        Assert.EndsWith("tabella-1.yaml", error.File);
        Assert.Contains("dm-2017", error.File);
        Assert.Contains("names DM 15/07/2021, and the text beside this rule set is DM 31/07/2017", error.Message);
    }

    [Fact]
    public void Show_prints_the_row_its_figures_its_overlays_and_the_decree_words_of_Tabella_1_A1_and_art_7_1_a()
    {
        var (exit, output, err) = Run("show", "T1.A.1", "--rules", Repo.Rules);
        Assert.True(exit == 0, err);
        Assert.StartsWith("T1.A.1 – Incasso sala cinematografica", output);
        Assert.Contains("  rule set    dm-2021 (the version alone", output);
        Assert.Contains("  cite        Tabella 1, A.1; art. 7.1.a", output);
        Assert.Contains("  producer                Tiers(producer_box_office, producer_scale)", output);
        Assert.Contains("  tier_1_eur_per_point       5000 EUR  cite \"1 punto ogni € 5.000\"  (", output);
        // Art. 17.1 changes the quantity the producer's column reads, not the row: shown under the quantity.
        Assert.Contains("  producer_box_office = Work.BoxOfficeTotal  (Incassi lordi in sala considerati per il produttore;", output);
        Assert.Contains("    covid-19 (on by default, not applied here; window 2020-02-23 to 2022-03-31): plus derogation_revenue; cite \"art. 17.1\"", output);
        Assert.Contains("decree: DM 15/07/2021 – Disposizioni applicative in materia di contributi automatici", output);
        // Tabella 1, A.1's words, then art. 7.1.a's.
        var table = output.IndexOf("  Tabella 1, A.1 (decreto.md:", StringComparison.Ordinal);
        var article = output.IndexOf("  art. 7.1.a (decreto.md:", StringComparison.Ordinal);
        Assert.True(table > 0 && article > table, output);
        Assert.Contains("1 punto ogni € 5.000 fino a 1 milione di incasso", output[table..article].ReplaceLineEndings(" ").Replace("    ", "", StringComparison.Ordinal));
        Assert.Contains("Periodo Estivo (1° giugno al 31 agosto)", output[table..article].ReplaceLineEndings(" ").Replace("    ", "", StringComparison.Ordinal));
        Assert.Contains("a) in relazione ai proventi relativi ai diritti di utilizzazione e sfruttamento economico dei film", output[article..]);

        // An overlay's row, in the combination that has it; a dm-2017 row, with the text that is not available.
        var (exit2, covid, _) = Run("show", "T1.A.1.covid", "--rules", Repo.Rules);
        Assert.Equal(0, exit2);
        Assert.Contains("  rule set    dm-2021+covid-19 (dm-2021 with covid-19)", covid);
        Assert.Contains("a) i soli punteggi derivanti dagli incassi realizzati effettivamente in sala cinematografica sono", covid);
        var (exit3, old, _) = Run("show", "T1.A.1", "--rule-set", "dm-2017", "--rules", Repo.Rules);
        Assert.Equal(0, exit3);
        Assert.Contains("  provenance  provisional, borrows dm-2021/T1.A.1", old);
        Assert.Contains("  Tabella 1 – Opere cinematografiche (testo non disponibile) (decreto.md:", old);
        Assert.Contains("Tabella presunta: le sintesi numerano 5 la distribuzione internazionale", old);

        var (exit5, withOverlay, _) = Run("show", "T1.A.1", "--rule-set", "covid-19", "--rules", Repo.Rules);
        Assert.Equal(0, exit5);
        Assert.Contains("  rule set    dm-2021+covid-19 (dm-2021 with covid-19)", withOverlay);
        Assert.Contains("    covid-19 (applied here; window 2020-02-23 to 2022-03-31): plus derogation_revenue; cite \"art. 17.1\"", withOverlay);

        var (exit4, _, err4) = Run("show", "T1.A.9", "--rules", Repo.Rules);
        Assert.Equal(1, exit4);
        Assert.Contains("show: no row 'T1.A.9' in any loaded rule set (dm-2017, dm-2021, dm-2021+covid-19)", err4);
    }

    [Fact]
    public void Figures_lists_a_figure_in_every_version_and_combination_with_the_overlay_value_in_its_window()
    {
        var (exit, output, err) = Run("figures", "T1.A.1", "--rules", Repo.Rules);
        Assert.True(exit == 0, err);
        var lines = output.ReplaceLineEndings("\n").Split('\n');
        var at = Array.IndexOf(lines, "T1.A.1.tier_1_eur_per_point");
        Assert.True(at >= 0, output);
        // dm-2017's figure is DM 2021's, read by path: its value and citation are the one definition's.
        Assert.StartsWith("  dm-2017           5000 EUR  cite \"1 punto ogni € 5.000\"  holds from 2017-07-31 to 2021-07-14 (application years 2017-2019)  (read from dm-2021/T1.A.1.tier_1_eur_per_point, defined at ", lines[at + 1]);
        Assert.StartsWith("  dm-2021           5000 EUR  cite \"1 punto ogni € 5.000\"  holds from 2021-07-15 (application years 2020 on)  (", lines[at + 2]);
        Assert.EndsWith("provisional, borrows dm-2021/T1.A.1", lines[at + 1]);
        Assert.StartsWith("  dm-2021           5000 EUR  cite \"1 punto ogni € 5.000\"", lines[at + 2]);
        Assert.StartsWith("  dm-2021+covid-19  5000 EUR  cite \"1 punto ogni € 5.000\"", lines[at + 3]);
        // Art. 17.1 changes the quantity T1.A.1 reads, not the row.
        Assert.DoesNotContain("patched", lines[at + 3]);
        // The whole scale: the three bands' bounds and rates, and the distributor's.
        foreach (var name in new[] { "tier_1_up_to", "tier_2_up_to", "tier_2_eur_per_point", "tier_3_up_to", "tier_3_eur_per_point", "distributor_eur_per_point" })
            Assert.Contains("T1.A.1." + name, lines);

        var (exit2, one, _) = Run("figures", "T4.A.1.eur_per_point", "--rules", Repo.Rules);
        Assert.Equal(0, exit2);
        Assert.Equal("T4.A.1.eur_per_point", one.ReplaceLineEndings("\n").Split('\n')[0]);
        Assert.Contains("  dm-2017           (the row has no figure eur_per_point)", one);
        Assert.Contains("  dm-2021           5000 EUR", one);
        Assert.Contains("1000 EUR from 2020-02-23 to 2022-03-31 (covid-19: art. 17.2.b)  cite \"1 punto ogni 1.000 euro\"", one);

        var (exit3, _, err3) = Run("figures", "T1.A.1.tier_9", "--rules", Repo.Rules);
        Assert.Equal(1, exit3);
        Assert.Contains("figures: row T1.A.1 has no figure 'tier_9' in any loaded rule set (its figures: tier_1_up_to, ", err3);
    }

    [Fact]
    public void The_decree_text_is_refused_when_an_address_is_a_heading_twice_or_it_has_no_title()
    {
        var errors = new List<RuleError>();
        Assert.Null(DecreeText.Parse("d.md", "# DM 1/2/2003 – t\n\n## Art. 1 – a\n\n### Art. 1.1\n\ntext\n\n### Art. 1.1\n", errors));
        Assert.Equal("d.md:9: 'art. 1.1' is a heading twice (first at line 5)", Assert.Single(errors).ToString());
        errors.Clear();
        Assert.Null(DecreeText.Parse("d.md", "## Art. 1\n", errors));
        Assert.Contains("starts with its title", Assert.Single(errors).Message);
        errors.Clear();
        var text = DecreeText.Parse("d.md", "# DM 1/2/2003 – t\n\n## Tabella 8 – Mercati\n\nDenominazione\n1.  Berlinale - Berlino (DE)\n2.  Cinemart - Rotterdam (NL)\n", errors)!;
        Assert.Empty(errors);
        Assert.Equal("01/02/2003", text.Decree);
        var line = Assert.Single(text.Resolve("Tabella 8, n. 2", out var problems));
        Assert.Empty(problems);
        Assert.Equal(7, line.Paragraph!.Line);
        Assert.Equal(["2.  Cinemart - Rotterdam (NL)"], line.Paragraph.Lines);
    }
}
