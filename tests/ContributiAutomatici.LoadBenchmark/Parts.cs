using System.Diagnostics;
using System.Globalization;
using System.Text;
using ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Benchmarks;
using Google.Protobuf;

namespace ContributiAutomatici.LoadBenchmark;

/// <summary>
/// Where a streamed work's time goes on the server, without the network (issue 10 item 5): each step the server takes
/// for one ScoreWorks item with totals only, timed alone over the same 1,024 varied requests in interleaved rounds (thread
/// CPU time, medians): parse the request bytes, map and validate it, score it, map the result, serialise the answer.
/// </summary>
public static class Parts
{
    public static string Measure(RuleCatalog catalog, ScoreWorkRequest[] totalsVariants, int rounds)
    {
        var bytes = totalsVariants.Select(v => v.ToByteArray()).ToArray();
        var requests = totalsVariants;
        var mapped = requests.Select(r => RequestMapper.Map(r, catalog)).ToArray();
        var results = mapped.Select(m => m.RuleSet.Score(m.Work, m.Roles, m.Options)).ToArray();
        var protos = results.Select((r, i) => ResponseMapper.ToProto(r, mapped[i].Excluded)).ToArray();
        var n = requests.Length;
        (string Name, Func<long> Pass)[] steps =
        [
            ("parse the request bytes (protobuf)", () => { long s = 0; foreach (var b in bytes) s += ScoreWorkRequest.Parser.ParseFrom(b).Roles.Count; return s; }),
            ("map and validate the request (RequestMapper.Map)", () => { long s = 0; foreach (var r in requests) s += RequestMapper.Map(r, catalog).Roles.Count; return s; }),
            ("score, totals only (CompiledRuleSet.Score)", () => { long s = 0; foreach (var m in mapped) s += m.RuleSet.Score(m.Work, m.Roles, m.Options).Roles.Count; return s; }),
            ("map the result (ResponseMapper.ToProto)", () => { long s = 0; for (var i = 0; i < n; i++) s += ResponseMapper.ToProto(results[i], mapped[i].Excluded).Roles.Count; return s; }),
            ("serialise the answer (protobuf)", () => { long s = 0; foreach (var p in protos) s += p.ToByteArray().Length; return s; }),
            ("all five in a row", () =>
            {
                long s = 0;
                foreach (var b in bytes)
                {
                    var m = RequestMapper.Map(ScoreWorkRequest.Parser.ParseFrom(b), catalog);
                    s += ResponseMapper.ToProto(m.RuleSet.Score(m.Work, m.Roles, m.Options), m.Excluded).ToByteArray().Length;
                }
                return s;
            }),
        ];
        long sink = 0;
        // Compiling the rules queued thousands of Roslyn methods for the JIT's optimized tier: let it finish, warm every step
        // up to its final tier, and wait for those compilations too, so the rounds time steady code.
        Jit.Quiet();
        foreach (var (_, pass) in steps)
            for (var i = 0; i < 20; i++) sink += pass();
        Jit.Quiet();
        var cpu = steps.Select(_ => new double[rounds]).ToArray();
        var alloc = new double[steps.Length];
        for (var r = 0; r < rounds; r++)
            for (var k = 0; k < steps.Length; k++)
            {
                var i = (k + r) % steps.Length;
                var before = GC.GetAllocatedBytesForCurrentThread();
                var t = ThreadCpu.Nanoseconds();
                for (var p = 0; p < 5; p++) sink += steps[i].Pass();
                cpu[i][r] = (ThreadCpu.Nanoseconds() - t) / (5.0 * n);
                alloc[i] = (GC.GetAllocatedBytesForCurrentThread() - before) / (5.0 * n);
            }
        GC.KeepAlive(sink);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| step, per work (totals only) | CPU ns, median (min-max) | bytes allocated |");
        sb.AppendLine("|---|---:|---:|");
        for (var i = 0; i < steps.Length; i++)
            sb.AppendLine(inv, $"| {steps[i].Name} | {Program.Spread(cpu[i], "0")} | {alloc[i]:0} |");
        return sb.ToString();
    }
}
