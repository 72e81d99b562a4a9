using System.Diagnostics;

namespace ContributiAutomatici.Tests;

/// <summary>The CLI run as a fresh process (what a test of loaded assemblies needs: the test host has Roslyn loaded).</summary>
internal static class CliProcess
{
    /// <summary>The built CLI (<c>dotnet contributi.dll ARGS</c>, the test's own dotnet), its standard streams redirected.</summary>
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "contributi.dll");
        Assert.True(File.Exists(cli), "the CLI is built beside the tests: " + cli);
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(cli);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>The built CLI in a fresh process with its own compiled-rules cache, reporting its loaded assemblies; its standard output.</summary>
    public static string Run(string cache, params string[] args)
    {
        var psi = StartInfo(args);
        psi.Environment["CONTRIBUTI_RULES_CACHE"] = cache;
        psi.Environment["CONTRIBUTI_REPORT_ASSEMBLIES"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(180_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"contributi {args[0]} did not finish in 180 s");
        }
        Assert.True(p.ExitCode == 0, $"contributi {string.Join(' ', args)} exited {p.ExitCode}:\n{stdout}\n{stderr.Result}");
        return stdout;
    }
}
