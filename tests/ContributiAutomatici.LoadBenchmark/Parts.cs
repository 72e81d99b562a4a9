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
/// Where a streamed work's CPU goes without the network (issue 10 item 5, issue 27 item 6): each step one ScoreWorks item
/// with totals only takes on either end, as the stream runs it, timed alone over the same 1,024 varied requests in
/// interleaved rounds (thread CPU time, medians) with the bytes each allocates: the client serialises the request, the
/// server parses it, maps it, scores it and maps the answer (<see cref="ResponseMapper.Score"/>, as the server calls it),
/// serialises the answer, and the client parses it. What a streamed work costs beyond their sum is the transport's
/// (HTTP/2 framing, sockets, the thread hops between them): <c>--stream-only</c> prints the process's CPU per streamed work.
/// </summary>
public static class Parts
{
    public static string Measure(RuleCatalog catalog, ScoreWorkRequest[] totalsVariants, int rounds)
    {
        var items = totalsVariants.Select((v, i) => new ScoreWorksRequest { RequestId = i.ToString(CultureInfo.InvariantCulture), Request = v }).ToArray();
        var bytes = items.Select(v => v.ToByteArray()).ToArray();
        var mapped = totalsVariants.Select(r => RequestMapper.Map(r, catalog)).ToArray();
        var answers = items.Select((r, i) => new ScoreWorksResponse { RequestId = r.RequestId, Response = ResponseMapper.Score(mapped[i]) }).ToArray();
        var answerBytes = answers.Select(a => a.ToByteArray()).ToArray();
        var n = items.Length;
        var buffer = new byte[64 * 1024];
        ScoreWorkResponse? reuse = null; // as the server's stream rewrites its answer from one item to the next
        (string Name, Func<long> Pass)[] steps =
        [
            ("client: serialise the request (protobuf)", () => { long s = 0; foreach (var r in items) s += Serialise(r, buffer); return s; }),
            ("server: parse the request (protobuf)", () => { long s = 0; foreach (var b in bytes) s += ScoreWorksRequest.Parser.ParseFrom(b).Request.Roles.Count; return s; }),
            ("server: map and validate the request (RequestMapper.Map)", () => { long s = 0; foreach (var r in totalsVariants) s += RequestMapper.Map(r, catalog).Roles.Count; return s; }),
            ("server: score and map the answer (ResponseMapper.Score, the stream's message rewritten)", () => { long s = 0; foreach (var m in mapped) s += (reuse = ResponseMapper.Score(m, reuse)).Roles.Count; return s; }),
            ("server: serialise the answer (protobuf)", () => { long s = 0; foreach (var a in answers) s += Serialise(a, buffer); return s; }),
            ("client: parse the answer (protobuf)", () => { long s = 0; foreach (var b in answerBytes) s += ScoreWorksResponse.Parser.ParseFrom(b).Response.Roles.Count; return s; }),
            ("(f') map + score, the in-process baseline", () => { long s = 0; foreach (var r in totalsVariants) s += (reuse = ResponseMapper.Score(RequestMapper.Map(r, catalog), reuse)).Roles.Count; return s; }),
            ("all six in a row", () =>
            {
                long s = 0;
                foreach (var r in items)
                {
                    var request = ScoreWorksRequest.Parser.ParseFrom(buffer.AsSpan(0, Serialise(r, buffer)));
                    var answer = new ScoreWorksResponse { RequestId = request.RequestId, Response = reuse = ResponseMapper.Score(RequestMapper.Map(request.Request, catalog), reuse) };
                    s += ScoreWorksResponse.Parser.ParseFrom(buffer.AsSpan(0, Serialise(answer, buffer))).Response.Roles.Count;
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

    /// <summary>As gRPC's marshaller does: the size, then the message written at it.</summary>
    private static int Serialise(IMessage message, byte[] buffer)
    {
        var size = message.CalculateSize();
        message.WriteTo(buffer.AsSpan(0, size));
        return size;
    }
}
