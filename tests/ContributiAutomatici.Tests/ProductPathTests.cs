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

    /// <summary>Every golden case of every rule set, asked as totals_only and mapped (a case that pins a refusal left out).</summary>
    private static IEnumerable<ScoringRequest> GoldenRequests()
    {
        var errors = new List<RuleError>();
        var cases = Repo.Catalog.Versions.Select(v => v.Definition).Concat(Repo.Catalog.Overlays)
            .SelectMany(d => GoldenTests.Load(d, errors)).ToList();
        Assert.Empty(errors);
        foreach (var c in cases)
        {
            var request = c.Request.Clone();
            request.TotalsOnly = true;
            ScoringRequest mapped;
            try { mapped = RequestMapper.Map(request, Repo.Catalog); }
            catch (InvalidRequestException) { continue; }
            yield return mapped;
        }
    }

    [Fact]
    public void Every_golden_case_as_totals_only_gives_the_same_message_on_the_totals_path()
    {
        var compared = 0;
        var flagged = 0;
        V1.ScoreWorkResponse? reused = null; // every case's answer also written over the previous one's, as a stream does
        foreach (var mapped in GoldenRequests())
        {
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

    /// <summary>A reform as the server says it applied one (the encoder writes it as the message's field 11).</summary>
    private static readonly V1.ReformApplied Reform = new()
    {
        Id = "r-t1", Title = "T1.A.1 a EUR 4.000", ContentHash = new string('a', 64), FigureOnly = true,
        Source = V1.ReformSource.Refigured, CompiledReforms = 3,
    };

    /// <summary>
    /// The answer's bytes as the server writes them (<see cref="ResponseMapper.Encode"/>) against the message
    /// <see cref="ResponseMapper.Score(ScoringRequest)"/> gives, its reform set as the server sets it, serialized; both ways round
    /// (with and without a reform). The buffer is the caller's, reused from answer to answer as a pooled one is.
    /// </summary>
    private static V1.ScoreWorkResponse SameBytes(ScoringRequest request, ScoreAnswerBytes buffer)
    {
        var message = ResponseMapper.Score(request);
        foreach (var reform in new[] { null, Reform })
        {
            message.Reform = reform;
            var bytes = ResponseMapper.Encode(request, reform, buffer).ToArray();
            Assert.Equal(Convert.ToHexString(message.ToByteArray()), Convert.ToHexString(bytes));
        }
        message.Reform = null;
        return message;
    }

    [Fact]
    public void Every_golden_case_as_totals_only_is_encoded_to_the_message_s_bytes()
    {
        var buffer = new ScoreAnswerBytes(16); // small: grows as the answers need
        int compared = 0, flagged = 0, coproductions = 0, overlays = 0, incomplete = 0;
        foreach (var mapped in GoldenRequests())
        {
            var message = SameBytes(mapped, buffer);
            flagged += message.MissingRows.Count + message.ProvisionalRows.Count;
            coproductions += message.Coproduction is null ? 0 : 1;
            overlays += message.Overlays.Count;
            incomplete += message.Incomplete ? 1 : 0;
            compared++;
        }
        Assert.True(compared > 100, $"only {compared} golden cases compared");
        Assert.True(flagged > 0 && incomplete > 0, "no golden case exercised a provisional or missing row");
        Assert.True(coproductions > 0, "no golden case was a co-production");
        Assert.True(overlays > 0, "no golden case applied an overlay");
    }

    /// <summary>The works of a synthetic year as ScoreWork requests under <paramref name="ruleSet"/> (a selector), each with every role claimed on it.</summary>
    private static List<V1.ScoreWorkRequest> YearRequests(string ruleSet, int works)
    {
        var items = YearSynthesizer.Items(Repo.Catalog.Find("dm-2021")!, Math.Max(4, works / 10), works, 27, 2023, 10_000_000m).ToList();
        var roles = items.Where(i => i.ItemCase == V1.AllocateRequest.ItemOneofCase.Claim).GroupBy(i => i.Claim.WorkId)
            .ToDictionary(g => g.Key, g => g.Select(i => i.Claim.Role).DistinctBy(r => r.Role).ToList());
        return [.. items.Where(i => i.ItemCase == V1.AllocateRequest.ItemOneofCase.Work && roles.ContainsKey(i.Work.Work.Id))
            .Select(i => new V1.ScoreWorkRequest { RuleSetId = ruleSet, Work = i.Work.Work, TotalsOnly = true, Roles = { roles[i.Work.Work.Id] } })];
    }

    [Theory]
    [MemberData(nameof(RuleSets))]
    public void A_synthetic_year_s_works_are_encoded_to_the_message_s_bytes(string ruleSet)
    {
        var buffer = new ScoreAnswerBytes();
        int compared = 0, several = 0, coproductions = 0, excluded = 0;
        foreach (var request in YearRequests(ruleSet, 400))
        {
            ScoringRequest mapped;
            try { mapped = RequestMapper.Map(request, Repo.Catalog); }
            catch (InvalidRequestException) { continue; } // a role the version does not score
            if (compared % 7 == 3) // results kept out (the mapper's, art. 5.2 and 5.10), a company's, a work's and a result's
                mapped = mapped with
                {
                    Excluded =
                    [
                        new Exclusion("C00001", "", null, "", "art. 4.1", "patrimonio netto inferiore a EUR 40.000"),
                        new Exclusion("", mapped.Work.Id, null, "", "art. 5.10", "opera non ammissibile"),
                        new Exclusion("C00002", mapped.Work.Id, Role.Producer, "box_office[0]", "art. 5.2", "risultato datato prima del 1° gennaio 2021 – “è€”"),
                    ],
                };
            var message = SameBytes(mapped, buffer);
            coproductions += message.Coproduction is null ? 0 : 1;
            excluded += message.Excluded.Count;
            several += mapped.Roles.Count > 1 ? 1 : 0;
            // One role alone (the last asked), as the allocation scores a claim.
            SameBytes(mapped with { Roles = [mapped.Roles[^1]] }, buffer);
            compared++;
        }
        Assert.True(compared >= 300, $"only {compared} works compared");
        Assert.True(several > 50, $"only {several} works with several roles");
        Assert.True(coproductions > 0, "no co-production in the year");
        Assert.True(excluded > 0, "no exclusion written");
    }

    [Fact]
    public void The_answer_s_bytes_allocate_nothing_per_request_in_steady_state()
    {
        // What the server's ScoreWork runs after mapping a totals-only request: the work classified, scored on the totals path and
        // its answer encoded into a pooled buffer. National works (most): 0 bytes; a co-production's classification is the
        // classifier's (engine) and counted apart, as the stream's test does.
        var requests = YearRequests("dm-2021", 300).Select(r => RequestMapper.Map(r, Repo.Catalog)).ToList();
        Assert.Contains(requests, r => r.Excluded.Count > 0 || r.Roles.Count > 1);
        var buffer = new ScoreAnswerBytes();
        var named = 0; // works whose classification allocates (co-producers named: the classifier's, not the answer's)
        long Pass()
        {
            long bytes = 0;
            named = 0;
            foreach (var request in requests)
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                request.RuleSet.Coproductions.Classify(request.Work);
                if (GC.GetAllocatedBytesForCurrentThread() != before)
                {
                    named++;
                    ResponseMapper.Encode(request, null, buffer);
                    continue;
                }
                before = GC.GetAllocatedBytesForCurrentThread();
                ResponseMapper.Encode(request, null, buffer);
                bytes += GC.GetAllocatedBytesForCurrentThread() - before;
            }
            return bytes;
        }
        Pass();
        Pass();
        Assert.Equal(0, Pass());
        Assert.True(named < requests.Count / 4, $"{named} of {requests.Count} works' classification allocates");
        // With a reform, the same (its message is the server's, made before).
        var national = requests.First(r => r.RuleSet.Coproductions.Classify(r.Work).Category == CoproductionCategory.National);
        ResponseMapper.Encode(national, Reform, buffer);
        var before = GC.GetAllocatedBytesForCurrentThread();
        ResponseMapper.Encode(national, Reform, buffer);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [MemberData(nameof(RuleSets))]
    public void A_stream_s_items_and_batches_are_encoded_to_the_messages_bytes(string ruleSet)
    {
        // ScoreWorks' answer items and ScoreWorkBatches' batches as the server writes them (ScoreAnswerBytes' items): totals,
        // an explained answer as its message, an error item; each batch (of 1 to 7 items) against the message with those items.
        var requests = YearRequests(ruleSet, 120).Select(r => RequestMapper.Map(r, Repo.Catalog)).ToList();
        var error = new Google.Rpc.Status { Code = 3, Message = "invalid request: work.id is required" };
        var one = new ScoreAnswerBytes(8);
        var batch = new ScoreAnswerBytes(8);
        var expected = new V1.ScoreWorkBatchesResponse();
        batch.Reset();
        for (var i = 0; i < requests.Count; i++)
        {
            var request = requests[i];
            var item = new V1.ScoreWorksResponse { RequestId = i % 5 == 0 ? "" : "w-" + i };
            one.Reset();
            one.BeginItem(item.RequestId, inBatch: false);
            batch.BeginItem(item.RequestId, inBatch: true);
            var reform = i % 3 == 0 ? Reform : null;
            switch (i % 9)
            {
                case 4:
                    item.Error = error;
                    one.Error(error);
                    batch.Error(error);
                    break;
                case 7:
                    item.Response = ResponseMapper.ToProto(request.RuleSet.Score(request.Work, request.Roles, ScoreOptions.Default), request.Excluded);
                    one.Response(item.Response);
                    batch.Response(item.Response);
                    break;
                default:
                    item.Response = ResponseMapper.Score(request);
                    item.Response.Reform = reform;
                    one.Totals(request, reform);
                    batch.Totals(request, reform);
                    break;
            }
            one.EndItem(inBatch: false);
            batch.EndItem(inBatch: true);
            Assert.Equal(Convert.ToHexString(item.ToByteArray()), Convert.ToHexString(one.Bytes.ToArray()));
            expected.Items.Add(item);
            if (i % 7 == 6 || i == requests.Count - 1)
            {
                Assert.Equal(Convert.ToHexString(expected.ToByteArray()), Convert.ToHexString(batch.Bytes.ToArray()));
                expected.Items.Clear();
                batch.Reset();
            }
        }
    }

    [Fact]
    public void A_stream_s_totals_items_allocate_nothing_in_steady_state()
    {
        var requests = YearRequests("dm-2021", 200).Select(r => RequestMapper.Map(r, Repo.Catalog))
            .Where(r => r.RuleSet.Coproductions.Classify(r.Work).Category == CoproductionCategory.National).ToList();
        var batch = new ScoreAnswerBytes();
        long Pass()
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            batch.Reset();
            for (var i = 0; i < requests.Count; i++)
            {
                batch.BeginItem("item", inBatch: true);
                batch.Totals(requests[i], null);
                batch.EndItem(inBatch: true);
            }
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Pass();
        Pass();
        Assert.Equal(0, Pass());
    }

    [Fact]
    public void A_request_that_asks_the_explanation_is_not_encoded_from_the_totals()
    {
        var asked = YearRequests("dm-2021", 20)[0];
        asked.TotalsOnly = false;
        var request = RequestMapper.Map(asked, Repo.Catalog);
        Assert.False(ResponseMapper.AsksTotals(request));
        Assert.Throws<ArgumentException>(() => ResponseMapper.Encode(request, null, new ScoreAnswerBytes()));
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
