namespace ContributiAutomatici.Engine.Rules;

/// <summary>Finds the rules folder: as given, else $CONTRIBUTI_RULES_DIR, else the nearest 'rules' folder
/// above the current directory, else the copy embedded beside the program.</summary>
public static class RulesLocator
{
    public const string EnvironmentVariable = "CONTRIBUTI_RULES_DIR";

    public static string Find(string? given = null)
    {
        if (!string.IsNullOrEmpty(given)) return given;
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env) return env;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "rules");
            if (IsRulesFolder(candidate)) return Path.GetRelativePath(Directory.GetCurrentDirectory(), candidate);
        }
        return Path.Combine(AppContext.BaseDirectory, "rules");
    }

    private static bool IsRulesFolder(string path) =>
        Directory.Exists(path) && Directory.GetDirectories(path).Any(d => File.Exists(Path.Combine(d, RuleFileParser.ManifestName)));
}
