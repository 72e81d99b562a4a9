using System.Collections.Concurrent;
using System.Diagnostics;

namespace ContributiAutomatici.Tests;

/// <summary>
/// <c>contributi validate --watch</c> (issue 27 item 5), the built CLI as a process on a copy of the rules: it validates at start,
/// then after each edit, in the same process; an edited expression is compiled again (the version and its overlay combination),
/// a broken one is refused at its file and line and the loop goes on, and the repaired file is valid again.
/// </summary>
public sealed class ValidateWatchTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(180);

    [Fact]
    public void Validates_again_after_each_edit_in_the_same_process()
    {
        using var rules = TempRules.CopyOfRepo();
        var cache = Path.Combine(Path.GetTempPath(), "contributi-tests", Guid.NewGuid().ToString("N"), "cache");
        var table1 = Path.Combine(rules.Root, "dm-2021", "tabella-1.yaml");
        var psi = CliProcess.StartInfo("validate", "--watch", "--rules", rules.Root);
        psi.Environment["CONTRIBUTI_RULES_CACHE"] = cache;
        var stdout = new BlockingCollection<string>();
        var stderr = new ConcurrentQueue<string>();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line) stdout.Add(line);
            else stdout.CompleteAdding(); // the process ended: a round waited for fails now, with what it printed
        };
        p.ErrorDataReceived += (_, e) => { if (e.Data is { } line) stderr.Enqueue(line); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        try
        {
            // A round: every line up to its "watch:" line.
            List<string> Round()
            {
                var lines = new List<string>();
                while (stdout.TryTake(out var line, Wait))
                {
                    lines.Add(line);
                    if (line.StartsWith("watch: ", StringComparison.Ordinal)) return lines;
                }
                throw new TimeoutException($"no round in 180 s (exited: {p.HasExited}); stdout so far:\n" + string.Join("\n", lines) + "\nstderr:\n" + string.Join("\n", stderr));
            }

            var start = Round();
            Assert.StartsWith("watch: valid (start;", start[^1], StringComparison.Ordinal);
            Assert.Contains(start, l => l.StartsWith("ok dm-2021: ", StringComparison.Ordinal));

            // T1.A.1.rapporto's producer expression written the other way round: another shape, compiled again.
            const string expression = "points: \"Base * increment\"";
            var text = File.ReadAllText(table1);
            var at = text.IndexOf(expression, StringComparison.Ordinal);
            Assert.True(at > 0);
            File.WriteAllText(table1, text[..at] + "points: \"increment * Base\"" + text[(at + expression.Length)..]);
            var edited = Round();
            Assert.StartsWith("watch: valid (a file changed;", edited[^1], StringComparison.Ordinal);
            Assert.Contains(edited, l => l.StartsWith("ok dm-2021: ", StringComparison.Ordinal) && l.Contains("; compiled (", StringComparison.Ordinal));
            Assert.Contains(edited, l => l.StartsWith("ok dm-2021+covid-19: ", StringComparison.Ordinal) && l.Contains("; compiled (", StringComparison.Ordinal));

            // A misspelt name: refused at its line, and the loop goes on.
            var lines = File.ReadAllLines(table1);
            var line = Array.FindIndex(lines, l => l.Contains("points: \"increment * Base\"", StringComparison.Ordinal));
            lines[line] = lines[line].Replace("increment * Base", "incremento * Base", StringComparison.Ordinal);
            File.WriteAllLines(table1, lines);
            var broken = Round();
            Assert.StartsWith("watch: refused (a file changed;", broken[^1], StringComparison.Ordinal);
            Assert.DoesNotContain(broken, l => l.StartsWith("ok ", StringComparison.Ordinal));
            // The refusal's reasons go to stderr, read apart from stdout: they may come in just after the round's last line.
            var said = DateTime.UtcNow.AddSeconds(30);
            bool Said() => stderr.Any(l => l.Contains($"tabella-1.yaml:{line + 1}", StringComparison.Ordinal) && l.Contains("incremento", StringComparison.Ordinal));
            while (!Said() && DateTime.UtcNow < said) Thread.Sleep(20);
            Assert.True(Said(), "stderr:\n" + string.Join("\n", stderr));

            // Repaired: valid again, as the first edit (that shape's image is in the cache now).
            lines[line] = lines[line].Replace("incremento * Base", "increment * Base", StringComparison.Ordinal);
            File.WriteAllLines(table1, lines);
            var repaired = Round();
            Assert.StartsWith("watch: valid (a file changed;", repaired[^1], StringComparison.Ordinal);
            Assert.Contains(repaired, l => l.StartsWith("ok dm-2021: ", StringComparison.Ordinal));
        }
        finally
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            try { Directory.Delete(Path.GetDirectoryName(cache)!, recursive: true); }
            catch (IOException) { }
        }
    }
}
