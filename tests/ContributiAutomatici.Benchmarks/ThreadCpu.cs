using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ContributiAutomatici.Benchmarks;

/// <summary>
/// The CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), in ns: unlike the wall clock, it does not count the time
/// the thread waited for a core, so a machine busy with other work inflates it much less. Shared by both benchmark projects.
/// </summary>
public static class ThreadCpu
{
    public static long Nanoseconds()
    {
        if (!OperatingSystem.IsLinux()) return Stopwatch.GetTimestamp() * (1_000_000_000L / Stopwatch.Frequency);
        // CLOCK_THREAD_CPUTIME_ID (3) cannot fail for the calling thread; a failure would be a broken platform, said plainly.
        if (ClockGetTime(3, out var ts) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        return ts.Seconds * 1_000_000_000L + ts.Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);
}

/// <summary>The JIT's background work: a benchmark times steady code, not code waiting for its optimized tier.</summary>
public static class Jit
{
    /// <summary>Waits until the JIT has compiled no method for half a second (at most 60 s): tiered-up code, not a backlog.</summary>
    public static void Quiet()
    {
        var sw = Stopwatch.StartNew();
        var last = System.Runtime.JitInfo.GetCompiledMethodCount();
        var quietSince = sw.Elapsed;
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            Thread.Sleep(100);
            var now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != last) (last, quietSince) = (now, sw.Elapsed);
            else if (sw.Elapsed - quietSince >= TimeSpan.FromMilliseconds(500)) break;
        }
        Console.Error.WriteLine($"JIT quiet after {sw.Elapsed.TotalSeconds:0.0} s ({last} methods compiled)");
    }
}
