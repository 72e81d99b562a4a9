using System.Diagnostics;
using System.Reflection;
using ContributiAutomatici.Cli;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Tests;

/// <summary>
/// The command line as a .NET tool, as the README installs it: packed from the repository's CLI, installed into a tool
/// folder, run from a directory outside the repository with the rules shipped in the package, and their compiled images.
/// About 60-100 s (pack: two publishes, one ReadyToRun, each compiling the rules once; install); filter it out with
/// <c>--filter "Category!=Tool"</c>.
/// </summary>
[Trait("Category", "Tool")]
public class CliToolTests
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    [Fact]
    public void The_packed_tool_installs_and_runs_with_its_shipped_rules_outside_the_repository()
    {
        var work = Directory.CreateTempSubdirectory("contributi-tool-");
        try
        {
            var packages = Path.Combine(work.FullName, "packages");
            var tools = Path.Combine(work.FullName, "tools");
            var outside = Directory.CreateDirectory(Path.Combine(work.FullName, "somewhere")).FullName;
            // As the README packs it: one pointer package and a package per platform (RID), each built and published by the
            // pack (a RID-specific build is not the one beside these tests, so no --no-build).
            var project = Path.Combine(Repo.Root, "src", "ContributiAutomatici.Cli", "ContributiAutomatici.Cli.csproj");
            Dotnet(outside, "pack", project, "-c", Configuration, "-o", packages);
            Assert.Equal(["ContributiAutomatici.Cli." + Version, "ContributiAutomatici.Cli.any." + Version, "ContributiAutomatici.Cli.linux-x64." + Version],
                Directory.GetFiles(packages, "*.nupkg").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal));
            Dotnet(outside, "tool", "install", "--tool-path", tools, "--add-source", packages, "--ignore-failed-sources", "ContributiAutomatici.Cli");
            // This platform's package: on linux-x64 the ReadyToRun one, anywhere else the portable one.
            var rid = System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier == "linux-x64" ? "linux-x64" : "any";
            Assert.True(Directory.Exists(Path.Combine(tools, ".store", "contributiautomatici.cli", Version, "contributiautomatici.cli." + rid)),
                $"the {rid} package installed");

            var contributi = Path.Combine(tools, OperatingSystem.IsWindows() ? "contributi.exe" : "contributi");
            var version = Exec(contributi, outside, work.FullName, "--version");
            Assert.Equal(typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion, version.Trim());

            var list = Exec(contributi, outside, work.FullName, "list");
            var dm2021 = Repo.Catalog.Find("dm-2021")!.Definition;
            Assert.Matches($@"(?m)^dm-2021\s+5 tables,\s+126 rows  sha256 {dm2021.ContentHash}  version", list);
            Assert.Contains("2 version(s), 1 overlay(s)", list);

            // The package ships its rules compiled (src/ShipCompiledRules.targets, run by the pack's publish): with an empty
            // user cache, every rule set loads from the shipped images, and no Roslyn assembly is loaded.
            var validate = Exec(contributi, outside, work.FullName, "validate");
            var sets = validate.Split('\n').Where(l => l.StartsWith("ok ", StringComparison.Ordinal)).ToList();
            Assert.Equal(Repo.Catalog.RuleSets.Count, sets.Count);
            Assert.All(sets, l => Assert.Contains("; shipped (", l));
            // ... and every rule folder's definitions as parsed and checked at publish: no YAML parsed either.
            Assert.Contains($"; {Repo.Catalog.Folders} of {Repo.Catalog.Folders} folder(s) read as already checked from the cache", validate);
            var assemblies = validate.Split('\n').Where(l => l.StartsWith("assembly ", StringComparison.Ordinal)).ToList();
            Assert.Contains("assembly ContributiAutomatici.Engine", assemblies);
            Assert.DoesNotContain(assemblies, a => a.StartsWith("assembly Microsoft.CodeAnalysis", StringComparison.Ordinal));
            // Nothing compiled, nothing cached: the user's cache holds only its key (made when it was opened).
            Assert.Equal([RuleCache.KeyFileName], Directory.GetFiles(Path.Combine(work.FullName, "rules-cache")).Select(Path.GetFileName));
        }
        finally
        {
            try { work.Delete(recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The package version: the CLI's informational version without its commit.</summary>
    private static string Version => typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];

    private static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";

    private static void Dotnet(string cwd, params string[] args) => Exec(DotnetHost, cwd, cwd, args);

    /// <summary>Runs a program from <paramref name="cwd"/> with a private rules cache and no rules folder in the environment; its stdout.</summary>
    private static string Exec(string exe, string cwd, string scratch, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("CONTRIBUTI_RULES_DIR");
        psi.Environment["CONTRIBUTI_RULES_CACHE"] = Path.Combine(scratch, "rules-cache");
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["CONTRIBUTI_REPORT_ASSEMBLIES"] = "1"; // read by validate only
        // The tool's launcher finds the runtime the tests run on.
        if (Path.IsPathRooted(DotnetHost)) psi.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(DotnetHost);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(300_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{exe} {string.Join(' ', args)} did not finish in 300 s");
        }
        Assert.True(p.ExitCode == 0, $"{exe} {string.Join(' ', args)} exited {p.ExitCode}:\n{stdout}\n{stderr.Result}");
        return stdout;
    }
}
