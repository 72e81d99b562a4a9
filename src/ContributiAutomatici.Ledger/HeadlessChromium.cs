using System.Diagnostics;

namespace ContributiAutomatici.Ledger;

/// <summary>Headless Chromium (Debian's chromium): a page's rendered DOM (the statement's browser test) or the page printed to PDF (--pdf).</summary>
public static class HeadlessChromium
{
    private static readonly string[] Paths = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

    /// <summary>The browser, or null when it is not installed.</summary>
    public static string? Find() => Paths.FirstOrDefault(File.Exists);

    /// <summary>The DOM of <paramref name="htmlFile"/> after Chromium rendered it.</summary>
    public static string DumpDom(string htmlFile) => Run(htmlFile, "--dump-dom", readOutput: true);

    /// <summary>Prints <paramref name="htmlFile"/> to <paramref name="pdfFile"/> (A4 as the page's print style asks, no header or footer).</summary>
    public static void PrintToPdf(string htmlFile, string pdfFile)
    {
        Run(htmlFile, $"--print-to-pdf={Path.GetFullPath(pdfFile)}", readOutput: false);
        if (!File.Exists(pdfFile)) throw new InvalidOperationException($"{pdfFile}: chromium wrote no PDF");
    }

    private static string Run(string htmlFile, string what, bool readOutput)
    {
        var exe = Find() ?? throw new InvalidOperationException("headless Chromium is needed: apt-get install chromium");
        var profile = Directory.CreateTempSubdirectory("chromium-");
        try
        {
            var psi = new ProcessStartInfo(exe)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                ArgumentList =
                {
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-pdf-header-footer", $"--user-data-dir={profile.FullName}", what,
                    new Uri(Path.GetFullPath(htmlFile)).AbsoluteUri,
                },
            };
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(60_000))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException("chromium did not finish in 60 s");
            }
            if (readOutput && output.Length == 0) throw new InvalidOperationException("chromium printed no DOM: " + stderr.Result);
            return output;
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }
}
