using System.Text;
using ContributiAutomatici.Contracts.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// The tampering, on the real server: T5.A.2's points expression edited inside dm-2021's definitions entry in
/// the server's compiled-rules cache (same length, <c>: 0)</c> to <c>: 7)</c>) and the compiled images deleted, so that a
/// server believing the entry would compile and score 7. The next start refuses the entry (a logged reason), parses the
/// YAML again and scores T5.A.2 at 0, with the rule files' genuine content hash.
/// </summary>
public sealed class CacheTamperingTests : IDisposable
{
    private readonly string _cache = Path.Combine(Path.GetTempPath(), "contributi-it-cache-" + Guid.NewGuid().ToString("N")[..8], "rules-cache");
    private readonly string _rules = TestRules.CopyToTemp();

    public void Dispose()
    {
        foreach (var folder in new[] { Path.GetDirectoryName(_cache)!, _rules })
        {
            try { Directory.Delete(folder, recursive: true); }
            catch (IOException) { }
        }
    }

    private Task<LoopbackServer> StartAsync() => LoopbackServer.StartAsync(rules: _rules, settings: new Dictionary<string, string?>
    {
        ["Contributi:RulesCache"] = _cache,
        ["Contributi:WatchRules"] = "false",
    });

    /// <summary>The example work (neither essai nor selective) scored for a home-entertainment publisher, every row listed.</summary>
    private static async Task<ScoreWorkResponse> ScoreAsync(LoopbackServer server)
    {
        using var channel = server.Channel();
        var request = Examples.FirstFeature();
        request.Roles.Clear();
        request.Roles.Add(new RoleInput { Role = Role.HomeEntertainmentPublisher });
        request.IncludeNotApplied = true;
        return await new ScoringService.ScoringServiceClient(channel).ScoreWorkAsync(request, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(60)));
    }

    private static decimal T5A2(ScoreWorkResponse r) =>
        r.Roles.Single().Quotas.SelectMany(q => q.Lines).Where(l => l.RowId == "T5.A.2")
            .Sum(l => decimal.Parse(l.Points, System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task An_edited_definitions_entry_is_refused_with_a_logged_reason_and_T5_A_2_scores_0()
    {
        ScoreWorkResponse genuine;
        await using (var first = await StartAsync())
        {
            genuine = await ScoreAsync(first);
            Assert.Equal(0m, T5A2(genuine));
        }
        const string expression = "(Work.Essai ? essai_points : 0)";
        var entry = Assert.Single(Directory.GetFiles(_cache, "definitions-*.bin"),
            f => File.ReadAllBytes(f).AsSpan().IndexOf(Encoding.UTF8.GetBytes("Tabella 5, A.2; art. 11.1.b")) >= 0); // dm-2021's
        var bytes = File.ReadAllBytes(entry);
        var at = bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(expression)) + expression.Length - 2;
        Assert.Equal((byte)'0', bytes[at]);
        bytes[at] = (byte)'7'; // ": 0)" -> ": 7)"
        await File.WriteAllBytesAsync(entry, bytes);
        foreach (var image in Directory.GetFiles(_cache, "dm-2021*.dll")) File.Delete(image);

        await using var second = await StartAsync();
        var after = await ScoreAsync(second);

        Assert.Equal(0m, T5A2(after));
        Assert.Equal(genuine.ContentHash, after.ContentHash);
        Assert.Equal(genuine.Roles.Single().TotalPoints, after.Roles.Single().TotalPoints);
        Assert.Contains(second.Logs.Entries, e => e.Level == LogLevel.Warning &&
            e.Message == $"compiled rules {entry} discarded: its authentication code does not match its bytes: edited, corrupted, or written under another key; compiling again");
        // Rebuilt from the YAML: the entry is genuine again.
        Assert.DoesNotContain((byte)'7', File.ReadAllBytes(entry).AsSpan(at, 1).ToArray());
    }
}
