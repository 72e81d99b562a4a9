using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace ContributiAutomatici.Tests;

/// <summary>The compiled-rules cache is private to the user and nothing is loaded from it unchecked.</summary>
public class TrustedCacheTests
{
    private static (RuleCatalog Catalog, List<string> Warnings) Load(string root, string cache)
    {
        var warnings = new List<string>();
        var catalog = RuleCatalog.Load(root, new RuleCompileOptions { CacheDirectory = cache, Warn = warnings.Add });
        return (catalog, warnings);
    }

    /// <summary>The assembly name a cached image must carry: the rule set's id and its cache key (the file is ID-KEY.dll).</summary>
    private static string NameOf(string dll, string id) =>
        $"ContributiAutomatici.Rules.{id}.{Path.GetFileNameWithoutExtension(dll)[(id.Length + 1)..][..12]}";

    [Fact]
    public void The_repository_rules_pass_the_check_and_start_warm_from_the_cache()
    {
        using var t = TempRules.CopyOfRepo();
        var cache = Path.Combine(t.Root, "cache");
        var (cold, coldWarnings) = Load(t.Root, cache);
        var (warm, warmWarnings) = Load(t.Root, cache);
        Assert.True(coldWarnings.Count == 0, string.Join("\n", coldWarnings));
        Assert.Empty(warmWarnings);
        Assert.Equal(CompileSource.Compiled, cold.RuleSets[0].Source);
        Assert.Equal(CompileSource.Cache, warm.RuleSets[0].Source);
        Assert.Equal(cold.RuleSets.Count, Directory.GetFiles(cache, "*.dll").Length);
        foreach (var rs in cold.RuleSets)
        {
            var dll = Assert.Single(Directory.GetFiles(cache, $"{rs.Id}-*.dll"));
            Assert.Empty(RuleAssemblyVerifier.Check(File.ReadAllBytes(dll), NameOf(dll, rs.Id)));
        }
        var dll2021 = Assert.Single(Directory.GetFiles(cache, "dm-2021-*.dll"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(cache));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dll2021));
        }
    }

    [Theory]
    [InlineData("System.IO.File.WriteAllText(Marker, \"poisoned\");", "System.IO.File")]
    [InlineData("System.Diagnostics.Process.Start(\"/bin/sh\", \"-c 'touch \" + Marker + \"'\");", "System.Diagnostics.Process")]
    [InlineData("Native.getpid();", "P/Invoke")]
    [InlineData("System.Func<string, System.Type?> f = System.Type.GetType; f(\"x\");", "System.Type")]
    [InlineData("int x = 0; int* p = &x; *p = 1;", "raw memory access")] // no reference to any API: caught in the IL
    [InlineData("for (var i = 0; i >= 0; i = i * 1) { }", "backward branch")] // a loop that never ends, allowed instructions only
    [InlineData("Create();", "recursion")] // recursion until the stack overflows and the process dies
    public void A_poisoned_assembly_in_the_cache_is_discarded_logged_and_recompiled_without_running(string payload, string reason)
    {
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var cache = Path.Combine(t.Root, "cache");
        var (good, _) = Load(t.Root, cache);
        var set = good.RuleSets[0];
        var dll = Assert.Single(Directory.GetFiles(cache, "*.dll"));
        var marker = Path.Combine(t.Root, "marker.txt");

        // Same file, same assembly and class name, same entry point: a build that runs the payload when created.
        File.WriteAllBytes(dll, Poison(NameOf(dll, "test-set"), "RuleSet_test_set", marker, payload));
        // With its authentication code, as one who holds the cache's key could write it: the check of the code is the
        // second line, not the only one (CacheIntegrityTests: without the key it is refused before this check).
        RuleCache.Open(cache, _ => { })!.Seal(Path.GetFileName(dll));
        var (reloaded, warnings) = Load(t.Root, cache);

        Assert.Equal(CompileSource.Compiled, reloaded.RuleSets[0].Source);
        var work = new Engine.Model.Work { BoxOffice = [new(new DateOnly(2022, 1, 1), 10_000m)] };
        Assert.Equal(10m, reloaded.RuleSets[0].Score(work, [new(Engine.Model.Role.Producer)]).Roles[0].TotalPoints);
        Assert.False(File.Exists(marker), "the poisoned assembly ran");
        var warning = Assert.Single(warnings);
        Assert.Contains($"compiled rules {dll} discarded: it does not pass the rule language check", warning);
        Assert.Contains(reason, warning);
        // The recompiled, checked image replaced it: the next start is warm again.
        var (again, againWarnings) = Load(t.Root, cache);
        Assert.Equal(CompileSource.Cache, again.RuleSets[0].Source);
        Assert.Empty(againWarnings);
    }

    [Fact]
    public void Garbage_and_a_foreign_assembly_name_are_discarded()
    {
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var cache = Path.Combine(t.Root, "cache");
        var (good, _) = Load(t.Root, cache);
        var dll = Assert.Single(Directory.GetFiles(cache, "*.dll"));
        var image = File.ReadAllBytes(dll);
        Assert.NotEmpty(RuleAssemblyVerifier.Check(image, "ContributiAutomatici.Rules.other.000000000000"));
        File.WriteAllBytes(dll, [.. image.Take(300)]);
        var (reloaded, warnings) = Load(t.Root, cache);
        Assert.Equal(CompileSource.Compiled, reloaded.RuleSets[0].Source);
        Assert.Contains("discarded", Assert.Single(warnings));
        Assert.Equal(good.RuleSets[0].ContentHash, reloaded.RuleSets[0].ContentHash);
    }

    [Fact]
    public void A_cache_folder_others_can_write_is_refused()
    {
        if (OperatingSystem.IsWindows()) return;
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var cache = Path.Combine(t.Root, "shared-cache");
        Directory.CreateDirectory(cache);
        File.SetUnixFileMode(cache, (UnixFileMode)0b111_111_111); // 0777
        var (first, warnings) = Load(t.Root, cache);
        var (second, _) = Load(t.Root, cache);
        Assert.Equal(CompileSource.Compiled, first.RuleSets[0].Source);
        Assert.Equal(CompileSource.Compiled, second.RuleSets[0].Source);
        Assert.Empty(Directory.GetFiles(cache));
        Assert.Contains("others can write it", Assert.Single(warnings));
    }

    private static (RuleCatalog Catalog, List<string> Warnings) LoadShipped(string root, string cache, string shipped)
    {
        var warnings = new List<string>();
        var catalog = RuleCatalog.Load(root, new RuleCompileOptions { CacheDirectory = cache, ShippedDirectory = shipped, Warn = warnings.Add });
        return (catalog, warnings);
    }

    /// <summary>Ships the rule set, cuts the one shipped file matching <paramref name="pattern"/> to its first bytes, and loads.</summary>
    private static (string File, byte[] Garbage, RuleCatalog Loaded, List<string> Warnings) LoadWithShippedFileCut(TempRules t, string pattern, int keep)
    {
        var shipped = Ship(t.Root, Path.Combine(t.Root, "app"));
        var file = Assert.Single(Directory.GetFiles(shipped, pattern));
        byte[] garbage = [.. File.ReadAllBytes(file).Take(keep)];
        File.WriteAllBytes(file, garbage);
        // Sealed with the shipped folder's key, so the check of the bytes themselves is what refuses it (without the key,
        // the authentication code refuses it first: CacheIntegrityTests).
        RuleCache.Open(shipped, _ => { })!.Seal(Path.GetFileName(file));
        var (loaded, warnings) = LoadShipped(t.Root, Path.Combine(t.Root, "user-cache"), shipped);
        return (file, garbage, loaded, warnings);
    }

    /// <summary>What the publish target does (src/ShipCompiledRules.targets): compile into the folder, then u=rwX,go=rX.</summary>
    private static string Ship(string root, string app)
    {
        var shipped = Path.Combine(app, "rules-cache");
        Load(root, shipped);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(shipped, (UnixFileMode)0b111_101_101); // 0755
            foreach (var f in Directory.GetFiles(shipped)) File.SetUnixFileMode(f, (UnixFileMode)0b110_100_100); // 0644
        }
        return shipped;
    }

    [Fact]
    public void Images_shipped_with_the_program_start_a_new_user_without_compiling_and_are_never_written()
    {
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var shipped = Ship(t.Root, Path.Combine(t.Root, "app"));
        var image = File.ReadAllBytes(Assert.Single(Directory.GetFiles(shipped, "*.dll")));
        var user = Path.Combine(t.Root, "user-cache");

        var (first, warnings) = LoadShipped(t.Root, user, shipped);
        Assert.Empty(warnings);
        Assert.Equal(CompileSource.Shipped, first.RuleSets[0].Source);
        Assert.Equal(1, first.FoldersFromCache); // the rule files' definitions shipped too, as parsed and checked at publish
        Assert.Equal(TimeSpan.Zero, first.RuleSets[0].Timings.Emitted);
        var work = new Engine.Model.Work { BoxOffice = [new(new DateOnly(2022, 1, 1), 10_000m)] };
        Assert.Equal(10m, first.RuleSets[0].Score(work, [new(Engine.Model.Role.Producer)]).Roles[0].TotalPoints);
        // Nothing copied (the user's cache holds only its key): the shipped image is read where it is.
        Assert.Equal([RuleCache.KeyFileName], Directory.GetFiles(user).Select(Path.GetFileName));

        // The rules changed after shipping: another content hash, so compiled, and cached in the user's cache only.
        t.Replace("test-set/t.yaml", "1_000", "2_000");
        var (changed, changedWarnings) = LoadShipped(t.Root, user, shipped);
        Assert.Empty(changedWarnings);
        Assert.Equal(CompileSource.Compiled, changed.RuleSets[0].Source);
        Assert.Equal(5m, changed.RuleSets[0].Score(work, [new(Engine.Model.Role.Producer)]).Roles[0].TotalPoints);
        Assert.Equal(0, changed.FoldersFromCache);
        Assert.Single(Directory.GetFiles(user, "*.dll"));
        Assert.Single(Directory.GetFiles(user, "definitions-*.bin"));
        Assert.Equal(image, File.ReadAllBytes(Assert.Single(Directory.GetFiles(shipped, "*.dll"))));
    }

    [Fact]
    public void A_shipped_image_that_fails_the_check_is_reported_and_compiled_but_left_in_place()
    {
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var (dll, garbage, loaded, warnings) = LoadWithShippedFileCut(t, "*.dll", 300);
        Assert.Equal(CompileSource.Compiled, loaded.RuleSets[0].Source);
        Assert.Contains($"shipped compiled rules {dll} not used: it does not pass the rule language check", Assert.Single(warnings));
        Assert.Equal(garbage, File.ReadAllBytes(dll)); // the program's own files are not the engine's to delete
    }

    [Fact]
    public void A_shipped_definitions_entry_that_cannot_be_read_is_reported_and_the_folder_parsed_but_left_in_place()
    {
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var (entry, garbage, loaded, warnings) = LoadWithShippedFileCut(t, "definitions-*.bin", 40);
        Assert.Equal(0, loaded.FoldersFromCache); // parsed from its YAML
        Assert.Equal(CompileSource.Shipped, loaded.RuleSets[0].Source); // the image itself is fine
        Assert.Contains($"shipped compiled rules {entry} not used: not a readable definitions entry", Assert.Single(warnings));
        Assert.Equal(garbage, File.ReadAllBytes(entry)); // the program's own files are not the engine's to delete
        // The user's cache has the folder's definitions now: the next start reads them from there, warning no more.
        var (next, nextWarnings) = LoadShipped(t.Root, Path.Combine(t.Root, "user-cache"), Path.GetDirectoryName(entry)!);
        Assert.Equal(1, next.FoldersFromCache);
        Assert.Empty(nextWarnings);
    }

    [Fact]
    public void A_shipped_folder_others_can_write_is_not_used()
    {
        if (OperatingSystem.IsWindows()) return;
        using var t = TempRules.WithRow("Per(Work.BoxOfficeTotal, 1_000)");
        var shipped = Ship(t.Root, Path.Combine(t.Root, "app"));
        File.SetUnixFileMode(shipped, (UnixFileMode)0b111_111_111); // 0777

        var (loaded, warnings) = LoadShipped(t.Root, Path.Combine(t.Root, "user-cache"), shipped);
        Assert.Equal(CompileSource.Compiled, loaded.RuleSets[0].Source);
        Assert.Contains($"shipped compiled rules {shipped} not used: others can write it", Assert.Single(warnings));
        Assert.Single(Directory.GetFiles(shipped, "*.dll"));
    }

    [Fact]
    public void The_default_cache_is_the_users_cache_folder_never_the_shared_temp_folder()
    {
        if (OperatingSystem.IsWindows()) return;
        Assert.Equal("/home/u/.cache/contributi-automatici/rules-cache", RuleCache.DefaultDirectory(_ => null, "/home/u"));
        Assert.Equal("/x/contributi-automatici/rules-cache", RuleCache.DefaultDirectory(v => v == "XDG_CACHE_HOME" ? "/x" : null, "/home/u"));
        Assert.Equal("/mine", RuleCache.DefaultDirectory(v => v == "CONTRIBUTI_RULES_CACHE" ? "/mine" : null, "/home/u"));
        Assert.Null(RuleCache.DefaultDirectory(_ => null, ""));
    }

    private static byte[] Poison(string assemblyName, string className, string marker, string payload)
    {
        var source = $$"""
            namespace ContributiAutomatici.Rules.Generated;
            {{(payload.Contains("Native.") ? "internal static class Native { [System.Runtime.InteropServices.DllImport(\"libc\")] public static extern int getpid(); }" : "")}}
            public sealed unsafe class {{className}} : ContributiAutomatici.Engine.Scoring.RuleScope
            {
                private const string Marker = @"{{marker}}";
                public static ContributiAutomatici.Engine.Scoring.RuleScope Create() { {{payload}} return new {{className}}(); }
                public override void Evaluate(decimal[] p, byte[] s, decimal[] t, int m) { s[0] = 1; p[0] = 10m; }
                public override void EvaluateTotals(decimal[] p, decimal[] t, int m) { p[0] = 10m; }
                public override void DescribeInputs(int cell, System.Collections.Generic.List<System.Collections.Generic.KeyValuePair<string, string>> inputs) { }
            }
            """;
        var refs = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Append(typeof(RuleScope).Assembly.Location).Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create(assemblyName, [CSharpSyntaxTree.ParseText(source)], refs,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
        using var ms = new MemoryStream();
        var result = compilation.Emit(ms);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        return ms.ToArray();
    }
}
