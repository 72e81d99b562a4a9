using System.Net;
using ContributiAutomatici.Client;
using ContributiAutomatici.Server;
using ContributiAutomatici.Tooling;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// The server gives back what a burst took once it is quiet (<see cref="IdleMemoryTrim"/>, issue 27 item 4): when to trim,
/// tick by tick, and a server process that trims after its start and again after a year allocated, counted on its
/// scrape endpoint.
/// </summary>
public sealed class IdleMemoryTrimTests
{
    private const long MiB = 1 << 20;

    [Fact]
    public void A_trim_is_due_after_enough_quiet_ticks_in_a_row_and_enough_allocated_since_the_last_one()
    {
        var policy = new IdleMemoryTrim.Policy(quietTicks: 3, minAllocated: 64 * MiB, quietBytesPerTick: MiB);
        long allocated = 0;
        bool Tick(long bytes) => policy.Due(allocated += bytes);

        Assert.False(Tick(100 * MiB)); // the first reading only starts the count
        // Busy: every tick allocates more than the quiet bound, so nothing is due however much was allocated.
        for (var i = 0; i < 10; i++) Assert.False(Tick(50 * MiB));
        // Quiet ticks: due on the third in a row, once.
        Assert.False(Tick(0));
        Assert.False(Tick(MiB - 1));
        Assert.True(Tick(1000));
        for (var i = 0; i < 10; i++) Assert.False(Tick(0));
        // A busy tick breaks the quiet spell; after a burst of less than the minimum, still nothing.
        Assert.False(Tick(60 * MiB));
        for (var i = 0; i < 5; i++) Assert.False(Tick(0));
        // Enough since the last trim: due again after three quiet ticks.
        Assert.False(Tick(5 * MiB));
        Assert.False(Tick(0));
        Assert.False(Tick(0));
        Assert.True(Tick(0));
    }

    [Fact]
    public void A_trickle_below_the_quiet_bound_trims_once_per_minimum_allocated()
    {
        var policy = new IdleMemoryTrim.Policy(quietTicks: 5, minAllocated: 64 * MiB, quietBytesPerTick: MiB);
        long allocated = 0;
        policy.Due(allocated);
        var trims = 0;
        for (var i = 0; i < 640; i++)
            if (policy.Due(allocated += MiB / 2)) trims++; // half a MiB a tick: quiet, 320 MiB in all
        Assert.Equal(5, trims);
    }

    [Fact]
    public async Task A_server_process_trims_once_quiet_after_start_and_again_after_a_year_allocated()
    {
        var rs = TestRules.Catalog.Find("dm-2021")!;
        var items = YearSynthesizer.Items(rs, 300, 3_000, seed: 7, year: 2023, budget: 100_000_000m).ToList();
        var port = LoopbackServer.FreePort();
        using var process = await ServerProcesses.StartServingAsync($"--Contributi:Port={port}", "--Contributi:HttpPort=off",
            $"--Contributi:Rules={TestRules.Folder}", "--Contributi:WatchRules=false", "--Contributi:IdleTrimSeconds=1",
            "--Contributi:IdleTrimAfterMiB=16");
        try
        {
            // The start allocated more than 16 MiB (the rules, Kestrel): one trim once it is quiet.
            var afterStart = await TrimsAsync(port, atLeast: 1);
            Assert.True(afterStart >= 1, "no trim after the start");
            using var client = new ContributiClient(new ContributiClientOptions { Address = new Uri($"http://127.0.0.1:{port}") });
            var result = await client.AllocateAsync(items);
            Assert.Equal(3_000, result.Works.Count);
            // The year (3,000 works) allocated far more than 16 MiB: one more trim once the call is over.
            Assert.True(await TrimsAsync(port, atLeast: afterStart + 1) >= afterStart + 1, "no trim after the allocation");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>The server's <c>contributi_memory_trims_total</c> once it reaches <paramref name="atLeast"/> (60 s at most; then as it is).</summary>
    private static async Task<double> TrimsAsync(int port, double atLeast)
    {
        using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            var trims = PrometheusText.Sum(PrometheusText.Parse(text), "contributi_memory_trims_total");
            if (trims >= atLeast || DateTime.UtcNow > deadline) return trims;
            await Task.Delay(250);
        }
    }
}
