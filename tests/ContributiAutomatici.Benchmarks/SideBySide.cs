using System.Diagnostics;
using System.Globalization;
using System.Text;
using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Server;
using Google.Protobuf;
using ContributiAutomatici.Tooling;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Benchmarks;

/// <summary>
/// Issue 10's side-by-side throughput: the compiled rules against the plain hand-written scorers (<see cref="PlainTabella1"/>,
/// <see cref="PlainTabella5"/>) on the same seeded, varied works, in one process, one thread. Before timing, every work is
/// scored by both and the totals must be equal (or the run stops). Then interleaved rounds: each round runs every scorer
/// once over all the works (in an order rotated per round), so a busy machine slows them alike; medians per work with the
/// spread (min-max over rounds), and the bytes each allocated per work.
/// </summary>
public sealed class SideBySide
{
    /// <summary>A scorer's rounds: ns per work of the thread's CPU time (what the ratios use) and of wall-clock time.</summary>
    public sealed record Row(string Name, string Against, double[] NsPerWork, double[] WallNsPerWork, double BytesPerWork)
    {
        public double Median => Program.Median(NsPerWork);

        /// <summary>For a compiled scorer, how many of its tables applied to a work, on average (0: not counted).</summary>
        public double TablesPerWork { get; init; }
    }


    private readonly SeededWork[] _works;
    private readonly List<(string Name, string Against, Func<SeededWork[], decimal> Pass)> _scorers = [];
    private readonly Dictionary<string, double> _tablesPerWork = [];

    public int WorkCount => _works.Length;

    public int Seed { get; }

    public SideBySide(string rules, int works, int seed)
    {
        Seed = seed;
        var catalog = RuleCatalog.Load(rules, new RuleCompileOptions { CacheDirectory = null });
        var full = catalog.Find("dm-2021")!;
        // A figure-only what-if reform (issue 28): the law's compiled class with another figure table, nothing compiled.
        var reformFile = Path.Combine(Path.GetDirectoryName(rules)!, "examples", "reforms", "tier-1-4000.yaml");
        var reformErrors = new List<RuleError>();
        var reform = RuleFileParser.ParseReform(reformFile, File.ReadAllText(reformFile), reformErrors)
                     ?? throw new InvalidOperationException(string.Join("\n", reformErrors));
        var reformed = catalog.WithReform(full, reform, out var reformSource);
        if (reformSource != ReformSource.Refigured) throw new InvalidOperationException($"the reform was {reformSource}, not refigured");
        var t1 = OnlyTables(rules, "tabella-1.yaml");
        // The same rules with the figures emitted as constants of the class, as before the figure table (issue 24, item 4):
        // the figure table must cost nothing on the totals path.
        var t1Baked = OnlyTables(rules, "tabella-1.yaml", bakeFigures: true);
        var t5 = OnlyTables(rules, "tabella-5.yaml");
        _works = SeededWorks.Generate(full.Definition.Lists, works, seed);
        var plain1 = new PlainTabella1(full.Definition.Lists);
        // Issue 27 item 3: the same Tabella 1 over works resolved once (pre-resolved, before timing), and over the engine's own
        // input resolved through frozen dictionaries as it is scored (same input).
        var resolved1 = new ResolvedTabella1(plain1);
        var preResolved = _works.Select(s => { var r = new ResolvedWork(); resolved1.Resolve(s.Work, r); return r; }).ToArray();
        // The works as a request's mapper gives them to each rule set (RequestMapper: each festival, prize and market id looked
        // up once, the entries keeping the list's id and position, which scoring reads instead of hashing the id again). The
        // Tabella 1 rows, hand-written and compiled, all get Tabella 1's: the same input. One row scores the works as seeded
        // (made without the mapper: the ids looked up at scoring), beside the same-input scorer.
        var mapped = new Dictionary<ListCatalog, SeededWork[]>(ReferenceEqualityComparer.Instance);
        SeededWork[] MappedFor(CompiledRuleSet rs) => mapped.TryGetValue(rs.Lists, out var m) ? m : mapped[rs.Lists] = SeededWorks.Mapped(_works, rs.Lists);
        var t1Works = MappedFor(t1);

        // The baseline must compute the same numbers on every work, or the comparison means nothing.
        var buffer = new PointTotals();
        for (var w = 0; w < _works.Length; w++)
        {
            var s = _works[w];
            foreach (var claimant in new[] { s.Producer, s.Distributor })
            {
                var (e, c) = plain1.Score(s.Work, claimant);
                var resolved = new ResolvedWork();
                resolved1.Resolve(s.Work, resolved);
                if (resolved1.Score(s.Work, claimant) != (e, c) || ResolvedTabella1.Score(resolved, claimant) != (e, c))
                    throw new InvalidOperationException($"{s.Work.Id} {claimant.Role}: the resolved scorers disagree with the plain one ({e}/{c})");
                foreach (var rs in new[] { t1, t1Baked, full })
                {
                    var r = rs.Score(s.Work, [claimant], ScoreOptions.TotalsOnly).For(claimant.Role);
                    var q = r?.Quotas.ToDictionary(x => x.QuotaId, x => x.Points) ?? [];
                    var (ee, ec) = (q.GetValueOrDefault("cinema.economic"), q.GetValueOrDefault("cinema.cultural"));
                    // dm-2021 as a whole also scores Tabelle 2 and 3 into other quotas; its cinema quotas are Tabella 1's.
                    if (ee != e || ec != c)
                        throw new InvalidOperationException($"{s.Work.Id} {claimant.Role}: hand-written {e}/{c}, {rs.Id} compiled {ee}/{ec}");
                    rs.ScoreTotals(s.Work, [claimant], buffer);
                    if (buffer.Total(claimant.Role) != (r?.TotalPoints ?? 0m))
                        throw new InvalidOperationException($"{s.Work.Id} {claimant.Role}: ScoreTotals {buffer.Total(claimant.Role)} != Score {r?.TotalPoints}");
                    rs.ScoreTotals(MappedFor(rs)[w].Work, [claimant], buffer);
                    if (buffer.Total(claimant.Role) != (r?.TotalPoints ?? 0m))
                        throw new InvalidOperationException($"{s.Work.Id} {claimant.Role}: ScoreTotals of the mapped work {buffer.Total(claimant.Role)} != Score {r?.TotalPoints}");
                }
            }
            var he = PlainTabella5.Score(s.Work, s.Publisher);
            var e5 = t5.Score(s.Work, [s.Publisher], ScoreOptions.TotalsOnly).For(Role.HomeEntertainmentPublisher)?.TotalPoints ?? 0m;
            if (he != e5) throw new InvalidOperationException($"{s.Work.Id} HE publisher: hand-written {he}, compiled Tabella 5 {e5}");
        }

        RoleInput[] producer = [new(Role.Producer)];
        var (t1BakedWorks, fullWorks, reformedWorks) = (MappedFor(t1Baked), MappedFor(full), MappedFor(reformed));
        // The issue's target for all of DM 2021 is per table scored: a TV/web work is scored by Tabella 1 (its box office) and
        // Tabella 2, an animated one by Tabella 3 alone; so each scorer's tables that applied are counted, work by work.
        var t1Tables = TablesPerWork(t1, Role.Producer);
        var fullTables = TablesPerWork(full, Role.Producer);
        _tablesPerWork["compiled rules, Tabella 1 only, producer (totals)"] = t1Tables;
        _tablesPerWork["compiled rules, all of DM 2021, producer (totals)"] = fullTables;
        _scorers.Add(("hand-written Tabella 1, producer (plain fields)", "", ws =>
        {
            decimal sink = 0m;
            foreach (var s in t1Works) { var (e, c) = plain1.Score(s.Work, s.Producer); sink += e + c; }
            return sink;
        }));
        _scorers.Add(("compiled rules, Tabella 1 only, producer (totals)", "hand-written Tabella 1, producer (plain fields)", ws =>
        {
            decimal sink = 0m;
            foreach (var s in t1Works) { t1.ScoreTotals(s.Work, producer, buffer); sink += buffer.Total(Role.Producer); }
            return sink;
        }));
        const string preResolvedName = "hand-written Tabella 1, producer (pre-resolved fields)";
        const string sameInputName = "hand-written Tabella 1, producer (same input, ids through frozen dictionaries)";
        _scorers.Add((preResolvedName, "", ws =>
        {
            decimal sink = 0m;
            foreach (var r in preResolved) { var (e, c) = ResolvedTabella1.Score(r, producer[0]); sink += e + c; }
            return sink;
        }));
        _scorers.Add((sameInputName, preResolvedName, ws =>
        {
            decimal sink = 0m;
            foreach (var s in t1Works) { var (e, c) = resolved1.Score(s.Work, s.Producer); sink += e + c; }
            return sink;
        }));
        _scorers.Add(("Tabella 1 compiled, works as seeded, not mapped (ids looked up at scoring), producer (totals)", sameInputName, ws =>
        {
            decimal sink = 0m;
            foreach (var s in ws) { t1.ScoreTotals(s.Work, producer, buffer); sink += buffer.Total(Role.Producer); }
            return sink;
        }));
        // The compiled Tabella 1 against the two new baselines: the same scorer as the row against the old baseline, run again
        // under another name (the guard reads rows by name).
        _scorers.Add(("compiled rules, Tabella 1 only, producer (totals), against the pre-resolved scorer", preResolvedName, ws =>
        {
            decimal sink = 0m;
            foreach (var s in t1Works) { t1.ScoreTotals(s.Work, producer, buffer); sink += buffer.Total(Role.Producer); }
            return sink;
        }));
        _scorers.Add(("compiled rules, Tabella 1 only, producer (totals), against the same-input scorer", sameInputName, ws =>
        {
            decimal sink = 0m;
            foreach (var s in t1Works) { t1.ScoreTotals(s.Work, producer, buffer); sink += buffer.Total(Role.Producer); }
            return sink;
        }));
        AddProductPaths(catalog, full, works, seed);
        _scorers.Add(("compiled rules, Tabella 1 only, figures as constants, producer (totals)", "compiled rules, Tabella 1 only, producer (totals)", ws =>
        {
            decimal sink = 0m;
            foreach (var s in t1BakedWorks) { t1Baked.ScoreTotals(s.Work, producer, buffer); sink += buffer.Total(Role.Producer); }
            return sink;
        }));
        _scorers.Add(("compiled rules, all of DM 2021, producer (totals)", "compiled rules, Tabella 1 only, producer (totals)", ws =>
        {
            decimal sink = 0m;
            foreach (var s in fullWorks) { full.ScoreTotals(s.Work, producer, buffer); sink += buffer.Total(Role.Producer); }
            return sink;
        }));
        _scorers.Add(("figure-only reform (T1.A.1 tier 1 at EUR 4,000) of all of DM 2021, producer (totals)", "compiled rules, all of DM 2021, producer (totals)", ws =>
        {
            decimal sink = 0m;
            foreach (var s in reformedWorks) { reformed.ScoreTotals(s.Work, producer, buffer); sink += buffer.Total(Role.Producer); }
            return sink;
        }));
        _scorers.Add(("compiled rules, all of DM 2021, producer (with explanation)", "compiled rules, all of DM 2021, producer (totals)", ws =>
        {
            decimal sink = 0m;
            foreach (var s in fullWorks) sink += full.Score(s.Work, producer, ScoreOptions.Default).Roles[0].TotalPoints;
            return sink;
        }));
        _scorers.Add(("hand-written Tabella 5, HE publisher (plain fields)", "", ws =>
        {
            decimal sink = 0m;
            foreach (var s in ws) sink += PlainTabella5.Score(s.Work, s.Publisher);
            return sink;
        }));
        RoleInput[] one = new RoleInput[1];
        _scorers.Add(("compiled rules, Tabella 5 only, HE publisher (totals)", "hand-written Tabella 5, HE publisher (plain fields)", ws =>
        {
            decimal sink = 0m;
            foreach (var s in ws) { one[0] = s.Publisher; t5.ScoreTotals(s.Work, one, buffer); sink += buffer.Total(Role.HomeEntertainmentPublisher); }
            return sink;
        }));
    }

    /// <summary>
    /// Issue 27 item 1: the product's entry points as the server runs them, beside the engine's inner path, on the works of a
    /// synthetic year (<see cref="YearSynthesizer"/>, as many as the seeded works; each request names dm-2021 and the producer).
    /// A request is parsed from its bytes, mapped (<see cref="RequestMapper.Map"/>), scored and mapped back
    /// (<see cref="ResponseMapper.Score"/>, what ScoringGrpcService runs) and written to bytes; the inner path scores the same
    /// works, mapped once before timing, with <see cref="CompiledRuleSet.ScoreTotals"/>.
    /// </summary>
    private void AddProductPaths(RuleCatalog catalog, CompiledRuleSet full, int works, int seed)
    {
        var requests = YearSynthesizer.Items(full, Math.Max(1, works / 10), works, seed, 2023, 100_000_000m)
            .Where(i => i.ItemCase == V1.AllocateRequest.ItemOneofCase.Work)
            .Select(i => new V1.ScoreWorkRequest { RuleSetId = "dm-2021", Work = i.Work.Work, Roles = { new V1.RoleInput { Role = V1.Role.Producer } } })
            .ToArray();
        byte[][] Bytes(bool totalsOnly) => [.. requests.Select(r => { var c = r.Clone(); c.TotalsOnly = totalsOnly; return c.ToByteArray(); })];
        var totalsBytes = Bytes(true);
        var explainBytes = Bytes(false);
        var mapped = requests.Select(r => RequestMapper.Map(r, catalog)).ToArray();
        var output = new byte[1 << 20];
        var buffer = new PointTotals();
        // The same answers on the product path and through Score (the path before issue 27), or the run stops.
        foreach (var b in totalsBytes)
        {
            var m = RequestMapper.Map(V1.ScoreWorkRequest.Parser.ParseFrom(b), catalog);
            if (!ResponseMapper.Score(m).Equals(ResponseMapper.ToProto(m.RuleSet.Score(m.Work, m.Roles, m.Options), m.Excluded, m.RuleSet.Coproductions.Classify(m.Work))))
                throw new InvalidOperationException($"{m.Work.Id}: the totals path answers differently from Score");
        }
        decimal Write(V1.ScoreWorkResponse response)
        {
            var size = response.CalculateSize();
            response.WriteTo(output.AsSpan(0, size));
            return size;
        }
        const string inner = "compiled rules, all of DM 2021, a synthetic year's works, producer (the engine's totals path)";
        const string product = "compiled rules, ScoreWork totals_only as the server runs it (bytes in, mapping, totals path, bytes out)";
        _scorers.Add((inner, "", _ =>
        {
            decimal sink = 0m;
            foreach (var m in mapped) { full.ScoreTotals(m.Work, m.Roles, buffer); sink += buffer.Total(Role.Producer); }
            return sink;
        }));
        // The requests name "dm-2021", which resolves to the version as in force: with its covid-19 overlay (art. 17), whose rows
        // the inner path above does not run. The same totals path on that rule set, beside it (not guarded: no "compiled rules,").
        var asInForce = mapped[0].RuleSet;
        if (mapped.Any(m => !ReferenceEquals(m.RuleSet, asInForce))) throw new InvalidOperationException("the requests resolve to more than one rule set");
        _scorers.Add(($"the engine's totals path of {asInForce.Id} (dm-2021 as in force, what the requests resolve to), a synthetic year's works, producer", inner, _ =>
        {
            decimal sink = 0m;
            foreach (var m in mapped) { asInForce.ScoreTotals(m.Work, m.Roles, buffer); sink += buffer.Total(Role.Producer); }
            return sink;
        }));
        // What ScoringGrpcService.ScoreWork runs over gRPC (issue 27 item 1): the answer encoded from the totals into a pooled
        // carrier's buffer, then what the response marshaller does with it (its bytes copied to the call's output, the carrier
        // given back to the pool): the server's own code, AnswerAsBytes and AllocationFrames.Write.
        var answers = new System.Buffers.ArrayBufferWriter<byte>(1 << 16);
        decimal Sent(Task<V1.ScoreWorkResponse> answer)
        {
            answers.ResetWrittenCount();
            if (!AllocationFrames.Write(answer.Result, answers)) throw new InvalidOperationException("the answer is not a carrier");
            return answers.WrittenCount;
        }
        // The request's bytes parsed, mapped into the pooled answer's scratch and answered, as ScoreWork does over gRPC.
        Task<V1.ScoreWorkResponse> Answered(byte[] request) => ScoringGrpcService.AnswerAsBytes(V1.ScoreWorkRequest.Parser.ParseFrom(request), catalog, null, out _);
        foreach (var b in totalsBytes)
        {
            var m = RequestMapper.Map(V1.ScoreWorkRequest.Parser.ParseFrom(b), catalog);
            var message = ResponseMapper.Score(m).ToByteArray();
            Sent(Answered(b));
            if (!answers.WrittenSpan.SequenceEqual(message)) throw new InvalidOperationException($"{m.Work.Id}: the answer's bytes are not the message's");
        }
        _scorers.Add((product, inner, _ =>
        {
            decimal sink = 0m;
            foreach (var b in totalsBytes) sink += Sent(Answered(b));
            return sink;
        }));
        _scorers.Add(("ScoreWork totals_only before the answer bytes: the totals path's message (ResponseMapper.Score) serialized", product, _ =>
        {
            decimal sink = 0m;
            foreach (var b in totalsBytes) sink += Write(ResponseMapper.Score(RequestMapper.Map(V1.ScoreWorkRequest.Parser.ParseFrom(b), catalog)));
            return sink;
        }));
        // Mapped as the server maps a totals request: into a scratch it reuses (RequestScratch, the pooled answer's own).
        var scratch = new RequestScratch();
        _scorers.Add(("ScoreWork totals_only, the request parsed and mapped alone (no scoring, no answer)", product, _ =>
        {
            decimal sink = 0m;
            foreach (var b in totalsBytes) sink += RequestMapper.Map(V1.ScoreWorkRequest.Parser.ParseFrom(b), catalog, scratch).Roles.Count;
            return sink;
        }));
        _scorers.Add(("ScoreWork totals_only, the request parsed, mapped and scored on the totals path (no answer)", product, _ =>
        {
            decimal sink = 0m;
            foreach (var b in totalsBytes)
            {
                var m = RequestMapper.Map(V1.ScoreWorkRequest.Parser.ParseFrom(b), catalog, scratch);
                m.RuleSet.ScoreTotals(m.Work, m.Roles, buffer);
                sink += buffer.Total(Role.Producer);
            }
            return sink;
        }));
        // The one part of the answer that still allocates: the co-production category of the works that name co-producers
        // (CoproductionClassifier, in the engine; a national work's is one status made once), over the mapped requests.
        _scorers.Add(("ScoreWork totals_only, the work's co-production category alone (CoproductionClassifier.Classify)", product, _ =>
        {
            decimal sink = 0m;
            foreach (var m in mapped) sink += (int)m.RuleSet.Coproductions.Classify(m.Work).Category;
            return sink;
        }));
        _scorers.Add(("ScoreWork totals_only, the request parsed alone (its message)", product, _ =>
        {
            decimal sink = 0m;
            foreach (var b in totalsBytes) sink += V1.ScoreWorkRequest.Parser.ParseFrom(b).Roles.Count;
            return sink;
        }));
        _scorers.Add(("before issue 27: ScoreWork totals_only through Score(TotalsOnly), compiled rules", product, _ =>
        {
            decimal sink = 0m;
            foreach (var b in totalsBytes)
            {
                var m = RequestMapper.Map(V1.ScoreWorkRequest.Parser.ParseFrom(b), catalog);
                sink += Write(ResponseMapper.ToProto(m.RuleSet.Score(m.Work, m.Roles, m.Options), m.Excluded, m.RuleSet.Coproductions.Classify(m.Work)));
            }
            return sink;
        }));
        _scorers.Add(("compiled rules, ScoreWork with explanation as the server runs it", product, _ =>
        {
            decimal sink = 0m;
            foreach (var b in explainBytes) sink += Write(ResponseMapper.Score(RequestMapper.Map(V1.ScoreWorkRequest.Parser.ParseFrom(b), catalog)));
            return sink;
        }));
    }

    /// <summary>Keeps only the scorers whose name contains <paramref name="part"/> (for a profile of one).</summary>
    public void Only(string part) => _scorers.RemoveAll(s => !s.Name.Contains(part, StringComparison.Ordinal));

    /// <summary>Interleaved rounds of <paramref name="passes"/> passes over the works per scorer.</summary>
    public List<Row> Run(int rounds, int passes)
    {
        decimal sink = 0m;
        // Loading compiled three rule sets with Roslyn: the JIT's background thread still has thousands of Roslyn methods
        // queued for their optimized tier, and every scorer's methods would wait behind them. Wait until it is done, then
        // warm every scorer up to its final tier: the runtime counts calls to promote a method only once new methods stop
        // appearing, so the scorers keep running until a whole warm-up pass of all of them compiles no method, twice in a
        // row (at most 60 s). Waiting without calls left the promotions to the first timed rounds, 3x slower.
        Jit.Quiet();
        var warm = Stopwatch.StartNew();
        for (var stable = 0; stable < 2 && warm.Elapsed < TimeSpan.FromSeconds(60);)
        {
            var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
            foreach (var (_, _, pass) in _scorers)
                for (var i = 0; i < 10; i++) sink += pass(_works);
            stable = System.Runtime.JitInfo.GetCompiledMethodCount() == compiled ? stable + 1 : 0;
        }
        Console.Error.WriteLine($"warm after {warm.Elapsed.TotalSeconds:0.0} s");
        var times = _scorers.Select(_ => new double[rounds]).ToArray();
        var walls = _scorers.Select(_ => new double[rounds]).ToArray();
        var bytes = new double[_scorers.Count];
        for (var r = 0; r < rounds; r++)
            for (var k = 0; k < _scorers.Count; k++)
            {
                var i = (k + r) % _scorers.Count;
                var before = GC.GetAllocatedBytesForCurrentThread();
                var cpu = ThreadCpu.Nanoseconds();
                var sw = Stopwatch.StartNew();
                for (var p = 0; p < passes; p++) sink += _scorers[i].Pass(_works);
                sw.Stop();
                cpu = ThreadCpu.Nanoseconds() - cpu;
                var after = GC.GetAllocatedBytesForCurrentThread();
                times[i][r] = cpu / ((double)passes * _works.Length);
                walls[i][r] = sw.Elapsed.TotalNanoseconds / ((double)passes * _works.Length);
                bytes[i] = (after - before) / ((double)passes * _works.Length);
            }
        if (sink == -1m) Console.WriteLine(sink);
        return _scorers.Select((s, i) => new Row(s.Name, s.Against, times[i], walls[i], bytes[i])
            { TablesPerWork = _tablesPerWork.GetValueOrDefault(s.Name) }).ToList();
    }

    /// <summary>
    /// A row's ratio to its 'against' row, round by round (the two ran seconds apart in each round, so a slow spell of the
    /// machine slows both): the median of the per-round ratios, with their spread.
    /// </summary>
    public static (double Median, double Min, double Max)? Ratio(Row row, List<Row> rows)
    {
        if (rows.FirstOrDefault(x => x.Name == row.Against) is not { } against) return null;
        var ratios = row.NsPerWork.Select((ns, r) => ns / against.NsPerWork[r]).ToArray();
        return (Program.Median(ratios), ratios.Min(), ratios.Max());
    }

    /// <summary>
    /// A row's ratio to its 'against' row per table scored (both rows count their tables): its <see cref="Ratio"/> times the
    /// 'against' row's tables per work over its own. Null unless both rows count tables.
    /// </summary>
    public static double? RatioPerTable(Row row, List<Row> rows) =>
        rows.FirstOrDefault(x => x.Name == row.Against) is { TablesPerWork: > 0 } against && row.TablesPerWork > 0 && Ratio(row, rows) is { } x
            ? x.Median * against.TablesPerWork / row.TablesPerWork
            : null;

    public static string Table(List<Row> rows)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| scorer | CPU ns/work, median (min-max) | wall ns/work, median | works/s (CPU) | bytes/work | ratio, median of rounds (min-max) | tables scored/work; ratio per table | against |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in rows)
        {
            var ratio = Ratio(r, rows) is { } x
                ? $"{x.Median.ToString("0.00", inv)}x ({x.Min.ToString("0.00", inv)}-{x.Max.ToString("0.00", inv)})"
                : "1.00x (baseline)";
            var tables = r.TablesPerWork > 0 ? r.TablesPerWork.ToString("0.000", inv) : "";
            if (RatioPerTable(r, rows) is { } perTable) tables += $"; {perTable.ToString("0.00", inv)}x";
            sb.AppendLine($"| {r.Name} | {r.Median.ToString("0", inv)} ({r.NsPerWork.Min().ToString("0", inv)}-{r.NsPerWork.Max().ToString("0", inv)}) | " +
                          $"{Program.Median(r.WallNsPerWork).ToString("0", inv)} | {(1e9 / r.Median).ToString("N0", inv)} | {r.BytesPerWork.ToString("0", inv)} | {ratio} | {tables} | {r.Against} |");
        }
        return sb.ToString();
    }

    /// <summary>
    /// How many of the rule set's tables with a column for <paramref name="role"/> applied to a work, on average over the
    /// works: a table applied unless every row of it was left out with "table ... does not apply" (its applies: condition).
    /// </summary>
    private double TablesPerWork(CompiledRuleSet rules, Role role)
    {
        var tableOf = rules.Cells.Where(c => c.Role == role).ToDictionary(c => c.Row.Id, c => c.Table.Id);
        var options = new ScoreOptions { IncludeNotApplied = true };
        long applied = 0;
        foreach (var s in _works)
        {
            var score = rules.Score(s.Work, [new RoleInput(role)], options).For(role)!;
            var skipped = score.NotApplied.Where(l => l.Reason!.StartsWith($"table {tableOf[l.RowId]} does not apply", StringComparison.Ordinal))
                .Select(l => tableOf[l.RowId]).ToHashSet();
            applied += tableOf.Values.Distinct().Count(t => !skipped.Contains(t));
        }
        return (double)applied / _works.Length;
    }

    /// <summary>A copy of dm-2021 whose manifest lists only the given table file (and the lists), compiled alone.</summary>
    private static CompiledRuleSet OnlyTables(string rules, string table, bool bakeFigures = false)
    {
        var root = Path.Combine(Path.GetTempPath(), "contributi-bench-" + Guid.NewGuid().ToString("N"));
        var dir = Path.Combine(root, "dm-2021-" + Path.GetFileNameWithoutExtension(table));
        Directory.CreateDirectory(dir);
        try
        {
            foreach (var f in Directory.GetFiles(Path.Combine(rules, "dm-2021"), "*.yaml")) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            var manifest = Path.Combine(dir, "ruleset.yaml");
            File.WriteAllLines(manifest, File.ReadAllLines(manifest)
                .Where(l => !System.Text.RegularExpressions.Regex.IsMatch(l, @"^\s+- tabella-[1-5]\.yaml") || l.Trim() == "- " + table));
            return RuleCatalog.Load(root, new RuleCompileOptions { CacheDirectory = null, BakeFigures = bakeFigures }).RuleSets[0];
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }
}
