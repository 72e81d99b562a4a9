using System.Text.RegularExpressions;

namespace ContributiAutomatici.Tests;

/// <summary>The README's C# client snippet is examples/ClientExample/Program.cs (which the solution builds), quoted exactly.</summary>
public class ClientExampleTests
{
    [Fact]
    public void The_README_quotes_the_client_example_exactly()
    {
        var program = Normalize(File.ReadAllText(Path.Combine(Repo.Root, "examples", "ClientExample", "Program.cs")));
        var region = Regex.Match(program, @"// README:begin\n(?<code>.*?)// README:end\n", RegexOptions.Singleline);
        Assert.True(region.Success, "examples/ClientExample/Program.cs has its README:begin / README:end markers");

        var readme = Normalize(File.ReadAllText(Path.Combine(Repo.Root, "README.md")));
        var blocks = Regex.Matches(readme, @"```csharp\n(?<code>.*?)```", RegexOptions.Singleline).Select(m => m.Groups["code"].Value).ToList();
        var quoted = Assert.Single(blocks, b => b.Contains("new ContributiClient(", StringComparison.Ordinal));
        Assert.Equal(region.Groups["code"].Value, quoted);
        Assert.StartsWith("using ", quoted);
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);
}
