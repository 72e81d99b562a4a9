using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// A parser of the Prometheus text exposition format (version 0.0.4), as a scraper reads it: <c># HELP</c> and
/// <c># TYPE</c> lines, each family's type one of counter, gauge, histogram, summary, untyped and declared at most once,
/// before its samples; sample lines <c>name{label="value",...} value [timestamp]</c> with escaped label values; a
/// histogram's <c>_bucket</c> samples carry <c>le</c> and are cumulative. A line that breaks the format fails the test.
/// </summary>
public static partial class PrometheusText
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>(?:[^""}]|""(?:[^""\\]|\\.)*"")*)\})?[ \t]+(?<value>\S+)([ \t]+-?[0-9]+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"\G,?(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(?:[^""\\]|\\.)*)""")]
    private static partial Regex Label();

    [GeneratedRegex(@"^# TYPE (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<type>counter|gauge|histogram|summary|untyped)$")]
    private static partial Regex TypeLine();

    /// <summary>The samples of <paramref name="text"/>; fails on any line out of the format.</summary>
    public static List<Sample> Parse(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith("# HELP ", StringComparison.Ordinal) || line == "# EOF") continue;
            if (line.StartsWith('#'))
            {
                var t = TypeLine().Match(line);
                if (!t.Success) continue; // a comment
                Assert.True(types.TryAdd(t.Groups["name"].Value, t.Groups["type"].Value), $"family declared twice: {line}");
                Assert.DoesNotContain(samples, s => s.Name == t.Groups["name"].Value);
                continue;
            }
            var m = SampleLine().Match(line);
            Assert.True(m.Success, $"not a sample line: {line}");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var rawLabels = m.Groups["labels"].Value.TrimEnd(',');
            var at = 0;
            while (at < rawLabels.Length)
            {
                var l = Label().Match(rawLabels, at);
                Assert.True(l.Success, $"bad labels at {at}: {line}");
                Assert.True(labels.TryAdd(l.Groups["key"].Value, Unescape(l.Groups["value"].Value)), $"label twice: {line}");
                at += l.Length;
            }
            var value = m.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            var name = m.Groups["name"].Value;
            if (name.EndsWith("_bucket", StringComparison.Ordinal) && types.GetValueOrDefault(name[..^"_bucket".Length]) == "histogram")
                Assert.True(labels.ContainsKey("le"), $"a histogram bucket without le: {line}");
            samples.Add(new Sample(name, labels, value));
        }
        // Buckets are cumulative: within a series, a higher le never counts fewer.
        foreach (var series in samples.Where(s => s.Labels.ContainsKey("le"))
                     .GroupBy(s => s.Name + "{" + string.Join(",", s.Labels.Where(l => l.Key != "le").OrderBy(l => l.Key, StringComparer.Ordinal)) + "}"))
        {
            var counts = series.OrderBy(s => s.Labels["le"] == "+Inf" ? double.PositiveInfinity : double.Parse(s.Labels["le"], CultureInfo.InvariantCulture)).Select(s => s.Value).ToList();
            Assert.True(counts.Zip(counts.Skip(1)).All(p => p.First <= p.Second), $"buckets not cumulative in {series.Key}");
        }
        return samples;
    }

    /// <summary>The sum of the samples named <paramref name="name"/> having these labels.</summary>
    public static double Sum(List<Sample> samples, string name, params (string Key, string Value)[] labels) =>
        samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).Sum(s => s.Value);

    private static string Unescape(string v) => v.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
}
