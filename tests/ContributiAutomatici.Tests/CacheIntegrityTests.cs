using System.Security.Cryptography;
using System.Text;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using Xunit;

namespace ContributiAutomatici.Tests;

/// <summary>
/// A compiled-rules cache that cannot lie: every file read from the user's cache or the shipped folder (the compiled images
/// and the parsed definitions entries) is refused unless its authentication code (HMAC-SHA256 under the cache's key) matches
/// its name and bytes, with a logged reason, and rebuilt from the rule files. Each kind of tampering is planted on real
/// files, without the key, as someone who can write the folder but does not hold the key would.
/// </summary>
public sealed class CacheIntegrityTests
{
    private static readonly Engine.Model.Work Work = new() { BoxOffice = [new(new DateOnly(2022, 1, 1), 10_000m)] };

    private static (RuleCatalog Catalog, List<string> Warnings) Load(string root, string cache, string? shipped = null)
    {
        var warnings = new List<string>();
        var catalog = RuleCatalog.Load(root, new RuleCompileOptions { CacheDirectory = cache, ShippedDirectory = shipped, Warn = warnings.Add });
        return (catalog, warnings);
    }

    private static decimal Points(RuleCatalog catalog) => catalog.RuleSets[0].Score(Work, [new(Engine.Model.Role.Producer)]).Roles[0].TotalPoints;

    /// <summary>Replaces the first occurrence of <paramref name="from"/> in a binary file by a text of the same length.</summary>
    private static void Edit(string file, string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        var bytes = File.ReadAllBytes(file);
        var at = bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(from));
        Assert.True(at >= 0, $"'{from}' not in {file}");
        Encoding.UTF8.GetBytes(to).CopyTo(bytes, at);
        File.WriteAllBytes(file, bytes);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(3, 1)]
    [InlineData(32, 55)]
    [InlineData(64, 64)]
    [InlineData(65, 200)]
    [InlineData(200, 1000)]
    public void The_managed_HMAC_is_HMAC_SHA256(int keyLength, int messageLength)
    {
        var key = Enumerable.Range(0, keyLength).Select(i => (byte)(i * 7 + 1)).ToArray();
        var message = Enumerable.Range(0, messageLength).Select(i => (byte)(i * 13 + 5)).ToArray();

        Assert.Equal(HMACSHA256.HashData(key, message), Sha256.Hmac(key, message));
    }

    [Fact]
    public void An_edited_definitions_entry_with_its_image_deleted_is_refused_and_the_rules_parsed_again()
    {
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var cache = Path.Combine(t.Root, "cache");
        var (cold, _) = Load(t.Root, cache);
        Assert.Equal(10m, Points(cold));
        var entry = Assert.Single(Directory.GetFiles(cache, "definitions-*.bin"));

        // The expression's text inside the entry, same length; the image deleted so that the engine compiles from the entry.
        Edit(entry, "Per(Work.BoxOfficeTotal, 1_000)", "Per(Work.BoxOfficeTotal, 2_000)");
        File.Delete(Assert.Single(Directory.GetFiles(cache, "*.dll")));
        var (next, warnings) = Load(t.Root, cache);

        Assert.Equal(10m, Points(next)); // 5 had the entry been believed
        Assert.Equal(0, next.FoldersFromCache); // parsed from the YAML
        Assert.Equal(cold.RuleSets[0].ContentHash, next.RuleSets[0].ContentHash);
        var warning = Assert.Single(warnings);
        Assert.Equal($"compiled rules {entry} discarded: its authentication code does not match its bytes: edited, corrupted, or written under another key; compiling again", warning);
        // Rebuilt: the entry written again from the YAML, authenticated; the next start reads it without a word.
        var (warm, warmWarnings) = Load(t.Root, cache);
        Assert.Empty(warmWarnings);
        Assert.Equal(1, warm.FoldersFromCache);
        Assert.Equal(CompileSource.Cache, warm.RuleSets[0].Source);
        Assert.Equal(10m, Points(warm));
    }

    [Fact]
    public void An_edited_compiled_image_is_refused_and_compiled_again()
    {
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var cache = Path.Combine(t.Root, "cache");
        Load(t.Root, cache);
        var dll = Assert.Single(Directory.GetFiles(cache, "*.dll"));
        var bytes = File.ReadAllBytes(dll);
        bytes[bytes.Length / 2] ^= 0x01; // one bit anywhere: a constant, an opcode, a name
        File.WriteAllBytes(dll, bytes);

        var (next, warnings) = Load(t.Root, cache);

        Assert.Equal(CompileSource.Compiled, next.RuleSets[0].Source);
        Assert.Equal(10m, Points(next));
        Assert.Contains($"compiled rules {dll} discarded: its authentication code does not match its bytes", Assert.Single(warnings));
        Assert.NotEqual(bytes, File.ReadAllBytes(dll)); // replaced by the image compiled again
        Assert.Equal(CompileSource.Cache, Load(t.Root, cache).Catalog.RuleSets[0].Source);
    }

    [Fact]
    public void A_file_without_its_code_or_from_a_cache_with_another_key_is_refused()
    {
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var cache = Path.Combine(t.Root, "cache");
        var other = Path.Combine(t.Root, "other-cache");
        Load(t.Root, cache);
        Load(t.Root, other);
        var dll = Assert.Single(Directory.GetFiles(cache, "*.dll"));
        var entry = Assert.Single(Directory.GetFiles(cache, "definitions-*.bin"));
        Assert.NotEqual(File.ReadAllText(Path.Combine(cache, RuleCache.KeyFileName)), File.ReadAllText(Path.Combine(other, RuleCache.KeyFileName)));

        // The image's code removed; the definitions entry and its code copied from the other cache (same rules, other key).
        File.Delete(dll + RuleCache.MacSuffix);
        File.Copy(Path.Combine(other, Path.GetFileName(entry) + RuleCache.MacSuffix), entry + RuleCache.MacSuffix, overwrite: true);
        var (next, warnings) = Load(t.Root, cache);

        Assert.Equal(10m, Points(next));
        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, w => w == $"compiled rules {dll} discarded: it has no authentication code (NAME.mac): not written by this cache's writer; compiling again");
        Assert.Contains(warnings, w => w.StartsWith($"compiled rules {entry} discarded: its authentication code does not match", StringComparison.Ordinal));
        Assert.Empty(Load(t.Root, cache).Warnings);
    }

    [Fact]
    public void An_image_renamed_to_another_rule_sets_key_is_refused()
    {
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var cache = Path.Combine(t.Root, "cache");
        Load(t.Root, cache);
        var oldDll = Assert.Single(Directory.GetFiles(cache, "*.dll"));
        var oldEntry = Assert.Single(Directory.GetFiles(cache, "definitions-*.bin"));
        t.Replace("test-set/t.yaml", "1_000", "2_000");
        Load(t.Root, cache);
        var newDll = Assert.Single(Directory.GetFiles(cache, "*.dll"), f => f != oldDll);

        // The old rules' image and its own code, moved under the new rules' name: the code binds the name too.
        File.Copy(oldDll, newDll, overwrite: true);
        File.Copy(oldDll + RuleCache.MacSuffix, newDll + RuleCache.MacSuffix, overwrite: true);
        File.Delete(oldEntry);
        var (next, warnings) = Load(t.Root, cache);

        Assert.Equal(5m, Points(next)); // the edited rules, not the old image's 10
        Assert.Contains($"compiled rules {newDll} discarded:", Assert.Single(warnings));
    }

    [Fact]
    public void Shipped_files_edited_without_the_key_are_reported_the_rules_parsed_and_compiled_and_the_files_left_in_place()
    {
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var shipped = Path.Combine(t.Root, "app", "rules-cache");
        Load(t.Root, shipped); // what the publish does (src/ShipCompiledRules.targets)
        var entry = Assert.Single(Directory.GetFiles(shipped, "definitions-*.bin"));
        var dll = Assert.Single(Directory.GetFiles(shipped, "*.dll"));
        Edit(entry, "Per(Work.BoxOfficeTotal, 1_000)", "Per(Work.BoxOfficeTotal, 2_000)");
        var image = File.ReadAllBytes(dll);
        image[image.Length / 2] ^= 0x01;
        File.WriteAllBytes(dll, image);

        var (loaded, warnings) = Load(t.Root, Path.Combine(t.Root, "user-cache"), shipped);

        Assert.Equal(10m, Points(loaded));
        Assert.Equal(CompileSource.Compiled, loaded.RuleSets[0].Source);
        Assert.Equal(0, loaded.FoldersFromCache);
        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, w => w.StartsWith($"shipped compiled rules {entry} not used: its authentication code does not match", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.StartsWith($"shipped compiled rules {dll} not used: its authentication code does not match", StringComparison.Ordinal));
        Assert.Equal(image, File.ReadAllBytes(dll)); // the program's own files are not the engine's to delete
        Assert.True(File.Exists(entry));
    }

    [Fact]
    public void A_shipped_folder_without_its_key_is_not_used_and_a_key_others_can_write_refuses_the_cache()
    {
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var shipped = Path.Combine(t.Root, "app", "rules-cache");
        Load(t.Root, shipped);
        File.Delete(Path.Combine(shipped, RuleCache.KeyFileName));

        var (loaded, warnings) = Load(t.Root, Path.Combine(t.Root, "user-cache"), shipped);

        Assert.Equal(CompileSource.Compiled, loaded.RuleSets[0].Source);
        Assert.Equal($"shipped compiled rules {shipped} not used: its key {Path.Combine(shipped, RuleCache.KeyFileName)} is missing; compiling", Assert.Single(warnings));

        if (OperatingSystem.IsWindows()) return;
        var cache = Path.Combine(t.Root, "cache");
        Load(t.Root, cache);
        var key = Path.Combine(cache, RuleCache.KeyFileName);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key)); // made owner-only
        File.SetUnixFileMode(key, (UnixFileMode)0b110_110_110); // 0666
        var (refused, refusedWarnings) = Load(t.Root, cache);
        Assert.Equal(CompileSource.Compiled, refused.RuleSets[0].Source);
        Assert.Equal($"compiled-rules cache {cache} not used: its key {key} can be written by others (mode 666); compiling without it", Assert.Single(refusedWarnings));
    }
}
