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
        ClockGetTime(3, out var ts);
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
