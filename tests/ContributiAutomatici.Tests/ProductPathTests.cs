using ContributiAutomatici.Benchmarks;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Model;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;
using ContributiAutomatici.Tooling;

namespace ContributiAutomatici.Tests;

/// <summary>
/// Issue 27 item 1: a request that asks no explanation (totals_only) is answered from the allocation-free totals path
/// (<see cref="ResponseMapper.Score"/>). Its message must be byte for byte the one the explained path gives without lines, on every
/// golden case of every rule set (dm-2017's provisional and missing rows included) and on seeded works under every version.
/// </summary>
public class ProductPathTests
{
    public static TheoryData<string> RuleSets() => ["dm-2021", "dm-2021+covid-19", "dm-2017"];

    private static byte[] Explained(ScoringRequest r) =>
        ResponseMapper.ToProto(r.RuleSet.Score(r.Work, r.Roles, ScoreOptions.TotalsOnly), r.Excluded, r.RuleSet.Coproductions.Classify(r.Work)).ToByteArray();

    [Fact]
    public void Every_golden_case_as_totals_only_gives_the_same_message_on_the_totals_path()
    {
        var errors = new List<RuleError>();
        var cases = Repo.Catalog.Versions.Select(v => v.Definition).Concat(Repo.Catalog.Overlays)
            .SelectMany(d => GoldenTests.Load(d, errors)).ToList();
        Assert.Empty(errors);
        var compared = 0;
        var flagged = 0;
        V1.ScoreWorkResponse? reused = null; // every case's answer also written over the previous one's, as a stream does
        foreach (var c in cases)
        {
            var request = c.Request.Clone();
            request.TotalsOnly = true;
            ScoringRequest mapped;
            try { mapped = RequestMapper.Map(request, Repo.Catalog); }
            catch (InvalidRequestException) { continue; } // a case that pins a refusal
            Assert.False(mapped.Options.Explain);
            var fast = ResponseMapper.Score(mapped);
            Assert.Equal(Convert.ToHexString(Explained(mapped)), Convert.ToHexString(fast.ToByteArray()));
            reused = ResponseMapper.Score(mapped, reused);
            Assert.Equal(Convert.ToHexString(fast.ToByteArray()), Convert.ToHexString(reused.ToByteArray()));
            Assert.Empty(fast.Roles.SelectMany(r => r.Quotas).SelectMany(q => q.Lines));
            flagged += fast.MissingRows.Count + fast.ProvisionalRows.Count;
            compared++;
        }
        Assert.True(compared > 100, $"only {compared} golden cases compared");
        Assert.True(flagged > 0, "no golden case exercised a provisional or missing row");
    }

    [Theory]
    [MemberData(nameof(RuleSets))]
    public void Seeded_works_give_the_same_message_on_both_paths(string ruleSet)
    {
        var rs = Repo.Catalog.Find(ruleSet)!;
        V1.ScoreWorkResponse? reused = null; // each answer also written over the previous one's (roles and quotas come and go)
        foreach (var s in SeededWorks.Generate(Repo.Catalog.Find("dm-2021")!.Definition.Lists, 300, 27))
        {
            RoleInput[] roles = [s.Producer, s.Distributor, new RoleInput(Role.InternationalDistributor) { ForeignSales = s.Work.ForeignSales }, s.Publisher];
            roles = [.. roles.Where(r => rs.Roles.Contains(r.Role))];
            var mapped = new ScoringRequest(rs, s.Work, roles, ScoreOptions.TotalsOnly, []);
            Assert.Equal(Convert.ToHexString(Explained(mapped)), Convert.ToHexString(ResponseMapper.Score(mapped).ToByteArray()));
            // One role alone, as the allocation scores a claim.
            var one = mapped with { Roles = [roles[^1]] };
            Assert.Equal(Convert.ToHexString(Explained(one)), Convert.ToHexString(ResponseMapper.Score(one).ToByteArray()));
            foreach (var request in new[] { mapped, one })
            {
                reused = ResponseMapper.Score(request, reused);
                Assert.Equal(Convert.ToHexString(Explained(request)), Convert.ToHexString(reused.ToByteArray()));
            }
        }
    }

    [Fact]
    public void The_totals_path_of_a_request_allocates_nothing_per_work_in_steady_state()
    {
        var dm2021 = Repo.Catalog.Find("dm-2021")!;
        var works = SeededWorks.Generate(dm2021.Definition.Lists, 200, 5);
        var totals = new PointTotals();
        var roles = new RoleInput[2];
        void Pass()
        {
            foreach (var s in works)
            {
                (roles[0], roles[1]) = (s.Producer, s.Distributor);
                dm2021.ScoreTotals(s.Work, roles, totals);
            }
        }
        Pass();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Pass();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        // dm-2017 has provisional rows: its totals path records them in the buffer's reused lists, also without allocating.
        var dm2017 = Repo.Catalog.Find("dm-2017")!;
        var one = new RoleInput[1];
        void Pass2017()
        {
            foreach (var s in works)
            {
                one[0] = s.Producer;
                dm2017.ScoreTotals(s.Work, one, totals);
            }
        }
        Pass2017();
        Pass2017();
        before = GC.GetAllocatedBytesForCurrentThread();
        Pass2017();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void A_stream_s_answer_written_over_the_previous_one_allocates_nothing_when_its_points_repeat()
    {
        // What the server's ScoreWorks does per item on the totals path: the answer message (roles, quotas, points strings,
        // the work's category) rewritten in place. Points that changed need their new strings; the same work again needs none.
        var dm2021 = Repo.Catalog.Find("dm-2021")!;
        var works = SeededWorks.Generate(dm2021.Definition.Lists, 50, 7)
            .Select(s => new ScoringRequest(dm2021, s.Work, [s.Producer, s.Distributor], ScoreOptions.TotalsOnly, [])).ToList();
        foreach (var request in works)
        {
            var reused = ResponseMapper.Score(request, null);
            Assert.Same(reused, ResponseMapper.Score(request, reused));
            // The work's classification (art. 2.f-h) is the engine's, and what it allocates is counted apart.
            var before = GC.GetAllocatedBytesForCurrentThread();
            request.RuleSet.Coproductions.Classify(request.Work);
            var classify = GC.GetAllocatedBytesForCurrentThread() - before;
            before = GC.GetAllocatedBytesForCurrentThread();
            ResponseMapper.Score(request, reused);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before - classify);
        }
    }
}
