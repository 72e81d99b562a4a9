using System.Diagnostics;

namespace ContributiAutomatici.Server;

/// <summary>
/// Gives back to the system what a burst of work took, once the server has gone quiet (issue 27 item 4). The workstation GC
/// keeps the memory regions of what a burst allocated (a year allocated, a stream of large works) until a full collection,
/// and an idle process runs none: a replica that served one burst would hold its footprint for good, which is what a
/// Kubernetes memory limit and the scheduler see. So once a second: when the process has allocated less than
/// <see cref="QuietBytesPerSecond"/> a second for <see cref="ContributiServerOptions.IdleTrimSeconds"/> seconds in a row, and at
/// least <see cref="ContributiServerOptions.IdleTrimAfterMiB"/> MiB since the last trim, it runs one full, compacting
/// collection that returns the free memory to the system (<see cref="GCCollectionMode.Aggressive"/>). A server that is busy
/// never trims (its collections run as they come); a trickle of calls trims at most once per that many MiB allocated.
/// Each trim is logged with the heap and working set before and after, and counted (<c>contributi.memory.trims</c>).
/// </summary>
public sealed class IdleMemoryTrim(ContributiServerOptions options, ContributiMetrics metrics, ILogger<IdleMemoryTrim> logger) : BackgroundService
{
    /// <summary>Bytes allocated in a second below which the second counts as quiet: health probes and scrapes, not calls.</summary>
    public const long QuietBytesPerSecond = 1 << 20;

    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    /// <summary>When to trim, from the process's allocated bytes read once a tick: kept apart from the clock and the GC, to be tested.</summary>
    public sealed class Policy(int quietTicks, long minAllocated, long quietBytesPerTick)
    {
        private long _last = -1;
        private long _atLastTrim;
        private int _quiet;

        /// <summary>The process's allocated bytes at the tick; true when a trim is due now (then counted as done).</summary>
        public bool Due(long allocated)
        {
            if (_last < 0)
            {
                _last = allocated;
                return false;
            }
            var delta = allocated - _last;
            _last = allocated;
            _quiet = delta < quietBytesPerTick ? _quiet + 1 : 0;
            if (_quiet < quietTicks || allocated - _atLastTrim < minAllocated) return false;
            _atLastTrim = allocated;
            return true;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.IdleTrimSeconds <= 0) return;
        var policy = new Policy(options.IdleTrimSeconds, (long)options.IdleTrimAfterMiB << 20, QuietBytesPerSecond);
        using var timer = new PeriodicTimer(Tick);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                if (policy.Due(GC.GetTotalAllocatedBytes())) Trim();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Trim()
    {
        using var process = Process.GetCurrentProcess();
        var (heapBefore, setBefore) = (GC.GetTotalMemory(false), process.WorkingSet64);
        var sw = Stopwatch.StartNew();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        sw.Stop();
        process.Refresh();
        metrics.MemoryTrimmed();
        logger.LogInformation("memory trimmed after {Seconds} s quiet: managed heap {HeapBefore:0.0} -> {HeapAfter:0.0} MiB, working set {SetBefore:0.0} -> {SetAfter:0.0} MiB, in {Ms} ms",
            options.IdleTrimSeconds, heapBefore / 1048576.0, GC.GetTotalMemory(false) / 1048576.0, setBefore / 1048576.0, process.WorkingSet64 / 1048576.0,
            sw.ElapsedMilliseconds);
    }
}
