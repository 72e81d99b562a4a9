using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Tests;

/// <summary>The repository's rules folder and one catalog of it shared by the tests (compiling is the slow part).</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Rules => Path.Combine(Root, "rules");

    private static readonly Lazy<RuleCatalog> LazyCatalog = new(() => RuleCatalog.Load(Rules, new RuleCompileOptions { CacheDirectory = null }));

    public static RuleCatalog Catalog => LazyCatalog.Value;

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ContributiAutomatici.sln"))) return d.FullName;
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A throw-away rules folder: a copy of the repository's, or a minimal rule set written by a test.</summary>
public sealed class TempRules : IDisposable
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "contributi-tests", Guid.NewGuid().ToString("N"));

    public string Set => Path.Combine(Root, "test-set");

    public static TempRules CopyOfRepo()
    {
        var t = new TempRules();
        Copy(Repo.Rules, t.Root);
        return t;
    }

    /// <summary>A one-table rule set whose single row has the given points expression.</summary>
    public static TempRules WithRow(string points, string? when = null, string extraRowYaml = "")
    {
        var t = new TempRules();
        Directory.CreateDirectory(t.Set);
        File.WriteAllText(Path.Combine(t.Set, "ruleset.yaml"), """
            id: test-set
            title: "test"
            in_force: { from: 2021-07-15 }
            application_years: { from: 2020 }
            quotas:
              - { id: q, title: "q", share: 100, cite: "art. 3" }
            tables: [t.yaml]
            """);
        File.WriteAllText(Path.Combine(t.Set, "t.yaml"), $"""
            table: T
            title: "t"
            cite: "t"
            sections:
              - id: A
                title: "a"
                quota: q
                rows:
                  - id: T.A.1
                    label: "row"
                    cite: "T, A.1"
            {(when is null ? "" : $"        when: '{when}'\n")}        role: producer
                    points: '{points}'
            {extraRowYaml}
            """);
        return t;
    }

    public string File_(string relative) => Path.Combine(Root, relative);

    /// <summary>Replaces the first occurrence of a text in a file, failing if it is not there.</summary>
    public void Replace(string relative, string from, string to)
    {
        var path = File_(relative);
        var text = File.ReadAllText(path);
        Assert.Contains(from, text);
        var i = text.IndexOf(from, StringComparison.Ordinal);
        File.WriteAllText(path, text[..i] + to + text[(i + from.Length)..]);
    }

    /// <summary>1-based line of the first line containing the text.</summary>
    public int LineOf(string relative, string text) =>
        File.ReadAllLines(File_(relative)).Select((l, i) => (l, i)).First(x => x.l.Contains(text, StringComparison.Ordinal)).i + 1;

    public RuleLoadException LoadFails(string? cache = null) =>
        Assert.Throws<RuleLoadException>(() => RuleCatalog.Load(Root, new RuleCompileOptions { CacheDirectory = cache }));

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) Copy(d, Path.Combine(to, Path.GetFileName(d)));
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
