using System.Collections;
using System.Reflection;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Tests;

/// <summary>
/// A warm start reads each rule folder's parsed definitions from the cache (issue 10, item 4): the same definitions as the
/// parser's, used only while the folder's files are unchanged, and a damaged entry is discarded, not trusted.
/// </summary>
public class DefinitionCacheTests
{
    private static (RuleCatalog Catalog, List<string> Warnings) Load(string root, string cache)
    {
        var warnings = new List<string>();
        var catalog = RuleCatalog.Load(root, new RuleCompileOptions { CacheDirectory = cache, ShippedDirectory = null, Warn = warnings.Add });
        return (catalog, warnings);
    }

    [Theory]
    [InlineData("dm-2021")]
    [InlineData("dm-2017")]
    [InlineData("covid-19")]
    public void A_folder_written_and_read_back_is_the_definition_the_parser_returned(string folder)
    {
        var errors = new List<RuleError>();
        var parsed = RuleFileParser.Parse(Path.Combine(Repo.Rules, folder), errors);
        Assert.Empty(errors);
        Assert.NotNull(parsed);

        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) DefinitionCodec.Write(w, parsed);
        ms.Position = 0;
        var read = DefinitionCodec.Read(new BinaryReader(ms), parsed.Directory);
        Assert.Equal(ms.Length, ms.Position);
        AssertSame(parsed, read, folder);

        // Read for the same files in another folder: every path is that folder's.
        ms.Position = 0;
        var elsewhere = DefinitionCodec.Read(new BinaryReader(ms), "/srv/other/rules/" + folder);
        Assert.Equal("/srv/other/rules/" + folder, elsewhere.Directory);
        Assert.All(elsewhere.Tables, t => Assert.StartsWith("/srv/other/rules/" + folder + "/", t.File));
        Assert.All(elsewhere.Tables.SelectMany(t => t.Rows).SelectMany(r => r.Cells),
            c => Assert.StartsWith("/srv/other/rules/" + folder + "/", c.Points.Location.File));
        Assert.All(elsewhere.Lists, l => Assert.StartsWith("/srv/other/rules/" + folder + "/", l.File));
        if (elsewhere.Overlay is { } overlay) Assert.All(overlay.Rows, p => Assert.StartsWith("/srv/other/rules/" + folder + "/", p.Location.File));
        Assert.Equal(parsed.Tables.Select(t => Path.GetRelativePath(parsed.Directory, t.File)),
            elsewhere.Tables.Select(t => Path.GetRelativePath("/srv/other/rules/" + folder, t.File)));
    }

    [Fact]
    public void A_version_with_its_overlay_applied_reads_back_whole_windows_and_patches_included()
    {
        // Not what the cache holds (it keeps folders, merged at each load), but the codec's every branch: an overlay's
        // figures inside its window, the window of the rows it rewrote, the overlays that patched each row.
        var merged = Repo.Catalog.Find("dm-2021+covid-19")!.Definition;
        Assert.Contains(merged.Tables.SelectMany(t => t.Rows), r => r.Windowed is not null);
        Assert.Contains(merged.Tables.SelectMany(t => t.Rows), r => r.PatchedBy.Count > 0);
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) DefinitionCodec.Write(w, merged);
        ms.Position = 0;
        // The decree's text is not in the codec: it is read beside the rules at every load (RuleSetLaw.Attach).
        AssertSame(merged with { LawSource = null }, DefinitionCodec.Read(new BinaryReader(ms), merged.Directory), merged.Id);
        Assert.Equal(ms.Length, ms.Position);
    }

    [Fact]
    public void A_warm_load_reads_every_folder_from_the_cache_and_scores_as_the_parsed_rules_do()
    {
        WithRepoCopy((t, cache) =>
        {
            var (cold, coldWarnings) = Load(t.Root, cache);
            var (warm, warmWarnings) = Load(t.Root, cache);
            Assert.Empty(coldWarnings);
            Assert.Empty(warmWarnings);
            Assert.Equal(3, cold.Folders);
            Assert.Equal(0, cold.FoldersFromCache);
            Assert.Equal(3, warm.FoldersFromCache);
            Assert.Equal(3, Directory.GetFiles(cache, "definitions-*.bin").Length);
            Assert.Equal(cold.RuleSets.Select(s => s.Id), warm.RuleSets.Select(s => s.Id));
            foreach (var (c, w) in cold.RuleSets.Zip(warm.RuleSets))
            {
                AssertSame(c.Definition, w.Definition, c.Id);
                Assert.Equal(CompileSource.Cache, w.Source);
            }
            foreach (var (c, w) in cold.Overlays.Zip(warm.Overlays)) AssertSame(c, w, c.Id);

            // The same works score the same, line by line, explanations included.
            var works = Benchmarks.SeededWorks.Generate(cold.Find("dm-2021")!.Definition.Lists, 200, 7);
            foreach (var (c, w) in cold.RuleSets.Zip(warm.RuleSets))
                foreach (var s in works)
                    AssertSame(c.Score(s.Work, [s.Producer, s.Distributor, s.Publisher]), w.Score(s.Work, [s.Producer, s.Distributor, s.Publisher]), c.Id);
        });
    }

    [Fact]
    public void A_changed_list_file_is_parsed_and_checked_again_and_a_broken_one_is_refused()
    {
        WithRepoCopy((t, cache) =>
        {
            var hash = Load(t.Root, cache).Catalog.Find("dm-2021")!.ContentHash;
            var list = Directory.GetFiles(Path.Combine(t.Root, "dm-2021"), "*.yaml")
                .First(f => File.ReadAllText(f).Contains("list: festivals", StringComparison.Ordinal));
            var text = File.ReadAllText(list);

            // A comment only: another content hash, so parsed again (the manifest, the entry's key, is unchanged).
            File.WriteAllText(list, text + "\n# edited\n");
            var (edited, _) = Load(t.Root, cache);
            Assert.Equal(2, edited.FoldersFromCache);
            Assert.NotEqual(hash, edited.Find("dm-2021")!.ContentHash);

            // A festival without its band: refused with its file and line, not taken from the entry of the earlier text.
            File.WriteAllText(list, text.Replace("band: A", "band: Z"));
            var ex = Assert.Throws<RuleLoadException>(() => Load(t.Root, cache));
            Assert.Contains(ex.Errors, e => e.File == list && e.Message.Contains("needs band A, B or C", StringComparison.Ordinal));

            // Back as it was: parsed once more (a folder keeps one entry, by its manifest: the edited text's replaced the
            // first), then from the cache again.
            File.WriteAllText(list, text);
            Assert.Equal(2, Load(t.Root, cache).Catalog.FoldersFromCache);
            Assert.Equal(3, Load(t.Root, cache).Catalog.FoldersFromCache);
        });
    }

    [Fact]
    public void A_damaged_entry_is_discarded_with_a_warning_and_the_folder_parsed()
    {
        WithRepoCopy((t, cache) =>
        {
            var (cold, _) = Load(t.Root, cache);
            foreach (var entry in Directory.GetFiles(cache, "definitions-*.bin"))
            {
                var bytes = File.ReadAllBytes(entry);
                // Cut short, so that every reader of it runs out of bytes whatever it reads.
                File.WriteAllBytes(entry, bytes[..(bytes.Length * 2 / 3)]);
            }
            var (warm, warnings) = Load(t.Root, cache);
            Assert.Equal(0, warm.FoldersFromCache);
            Assert.Equal(3, warnings.Count(w => w.Contains("discarded", StringComparison.Ordinal) && w.Contains("definitions-", StringComparison.Ordinal)));
            foreach (var (c, w) in cold.RuleSets.Zip(warm.RuleSets)) AssertSame(c.Definition, w.Definition, c.Id);
            // Written again whole.
            Assert.Equal(3, Load(t.Root, cache).Catalog.FoldersFromCache);
        });
    }

    [Fact]
    public void A_roles_rule_file_key_is_the_inverse_of_the_key_map()
    {
        Assert.Equal(4, RoleNames.ByKey.Count);
        foreach (var (key, role) in RoleNames.ByKey) Assert.Equal(key, RoleNames.Key(role));
    }

    /// <summary>Runs <paramref name="test"/> on a copy of the repository's rules with a private cache beside it, removed after.</summary>
    private static void WithRepoCopy(Action<TempRules, string> test)
    {
        using var t = TempRules.CopyOfRepo();
        try
        {
            test(t, Path.Combine(t.Root + "-cache", "c"));
        }
        finally
        {
            if (Directory.Exists(t.Root + "-cache")) Directory.Delete(t.Root + "-cache", recursive: true);
        }
    }

    /// <summary>Every public property, element and entry equal, walked through the records (decimals with their scale).</summary>
    internal static void AssertSame(object? expected, object? actual, string path)
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: {expected ?? "null"} != {actual ?? "null"}");
            return;
        }
        // A collection may come back as another collection type (a list for an array): its items are what is compared.
        if (expected is not IEnumerable || expected is string)
            Assert.True(expected.GetType() == actual.GetType(), $"{path}: {expected.GetType()} != {actual.GetType()}");
        switch (expected)
        {
            case string or bool or int or long or DateOnly or Enum:
                Assert.True(expected.Equals(actual), $"{path}: '{expected}' != '{actual}'");
                return;
            case decimal d:
                Assert.True(d.ToString(System.Globalization.CultureInfo.InvariantCulture) == ((decimal)actual).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    $"{path}: {expected} != {actual}");
                return;
            case IDictionary de:
                var da = (IDictionary)actual;
                Assert.True(de.Count == da.Count, $"{path}: {de.Count} entries != {da.Count}");
                Assert.Equal(de.Keys.Cast<object>().Select(k => k.ToString()), da.Keys.Cast<object>().Select(k => k.ToString()));
                foreach (var k in de.Keys) AssertSame(de[k], da[k], $"{path}[{k}]");
                return;
            case IEnumerable e:
                var ea = ((IEnumerable)actual).Cast<object?>().ToList();
                var ee = e.Cast<object?>().ToList();
                Assert.True(ee.Count == ea.Count, $"{path}: {ee.Count} items != {ea.Count}");
                for (var i = 0; i < ee.Count; i++) AssertSame(ee[i], ea[i], $"{path}[{i}]");
                return;
        }
        var type = expected.GetType();
        if (type.IsGenericType && type.FullName!.StartsWith("System.ValueTuple", StringComparison.Ordinal))
        {
            foreach (var f in type.GetFields()) AssertSame(f.GetValue(expected), f.GetValue(actual), $"{path}.{f.Name}");
            return;
        }
        var ours = type.Namespace?.StartsWith("ContributiAutomatici", StringComparison.Ordinal) == true;
        Assert.True(ours || type.FullName!.StartsWith("System.Collections.Generic.KeyValuePair", StringComparison.Ordinal), $"{path}: no comparison for {type}");
        // The decree's text is not part of the cached definitions (read when asked for; LawTests): not compared here.
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                     .Where(p => p.GetIndexParameters().Length == 0 && p.Name is not ("LawSource" or "LawText")))
            AssertSame(p.GetValue(expected), p.GetValue(actual), $"{path}.{p.Name}");
    }
}
