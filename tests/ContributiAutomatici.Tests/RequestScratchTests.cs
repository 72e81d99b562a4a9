using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Tooling;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>
/// Issue 27 item 1, the request: a totals request mapped into a reused <see cref="RequestScratch"/> (what the server's pooled
/// answers and its streams do) is answered byte for byte as one mapped afresh, is refused with the same fields, and costs
/// nothing after its own message once the scratch has seen requests as large.
/// </summary>
public class RequestScratchTests
{
    public static TheoryData<string> RuleSets() => ["dm-2021", "dm-2021+covid-19", "dm-2017"];

    /// <summary>The works of a synthetic year as totals requests, every role claimed on each, with entries the year lacks added to some.</summary>
    private static List<V1.ScoreWorkRequest> YearRequests(string ruleSet, int works)
    {
        var items = YearSynthesizer.Items(Repo.Catalog.Find("dm-2021")!, Math.Max(4, works / 10), works, 31, 2023, 10_000_000m).ToList();
        var roles = items.Where(i => i.ItemCase == V1.AllocateRequest.ItemOneofCase.Claim).GroupBy(i => i.Claim.WorkId)
            .ToDictionary(g => g.Key, g => g.Select(i => i.Claim.Role).DistinctBy(r => r.Role).ToList());
        var requests = new List<V1.ScoreWorkRequest>();
        foreach (var i in items.Where(i => i.ItemCase == V1.AllocateRequest.ItemOneofCase.Work && roles.ContainsKey(i.Work.Work.Id)))
        {
            var r = new V1.ScoreWorkRequest { RuleSetId = ruleSet, Work = i.Work.Work.Clone(), TotalsOnly = true, Roles = { roles[i.Work.Work.Id] } };
            var n = requests.Count;
            // What the synthetic year does not carry: sales over several countries, named co-producers, Italian phases, a
            // derogation, results dated before art. 5.2's date and declared twice (art. 5.10), an application year.
            if (n % 5 == 1)
                r.Work.ForeignSales.Add(new V1.ForeignSale { Date = new Google.Type.Date { Year = 2022, Month = 3, Day = 1 }, Amount = "1000.50", Country = "be", Countries = { "NL", "LU", "BE" } });
            if (n % 6 == 2)
            {
                r.Work.CoProducers.Add(new V1.CoProducer { CompanyId = "FR01", Country = "FR", RightsSharePercent = "30" });
                r.Work.CoProducers.Add(new V1.CoProducer { CompanyId = "IT01", Country = "IT" });
                r.Work.NationalityRecognisedOn = new Google.Type.Date { Year = 2021, Month = 5, Day = 4 };
                r.Work.Coproduction = V1.CoproductionKind.Unspecified;
            }
            if (n % 4 == 3) r.Work.ItalianPhases.Add(V1.ProcessingPhase.Layout);
            if (n % 7 == 4) r.Work.MediaSales.Add(new V1.MediaSale { Date = new Google.Type.Date { Year = 2021, Month = 7, Day = 1 }, Amount = "20000", TheatricalDerogation = true });
            if (n % 9 == 5 && r.Work.BoxOffice.Count > 0)
            {
                r.Work.BoxOffice.Add(r.Work.BoxOffice[0].Clone());
                r.Work.BoxOffice.Add(new V1.DatedAmount { Date = new Google.Type.Date { Year = 2010, Month = 1, Day = 2 }, Amount = "5000" });
            }
            if (n % 8 == 6) r.ApplicationYear = 2023;
            requests.Add(r);
        }
        return requests;
    }

    /// <summary>Every golden case of every rule set (and overlay), as a totals request.</summary>
    private static IEnumerable<V1.ScoreWorkRequest> GoldenRequests()
    {
        var errors = new List<RuleError>();
        var cases = Repo.Catalog.Versions.Select(v => v.Definition).Concat(Repo.Catalog.Overlays).SelectMany(d => GoldenTests.Load(d, errors)).ToList();
        Assert.Empty(errors);
        foreach (var c in cases)
        {
            var request = c.Request.Clone();
            request.TotalsOnly = true;
            yield return request;
        }
    }

    /// <summary>The answer's bytes, or the refusal's fields, of a request mapped with or without the scratch.</summary>
    private static string Answer(V1.ScoreWorkRequest request, RequestScratch? scratch, ScoreAnswerBytes buffer)
    {
        try
        {
            var mapped = RequestMapper.Map(request, Repo.Catalog, scratch);
            return Convert.ToHexString(ResponseMapper.Encode(mapped, null, buffer).Span);
        }
        catch (InvalidRequestException ex)
        {
            return "refused: " + string.Join(" | ", ex.Errors);
        }
        catch (RuleSetNotFoundException ex)
        {
            return "not found: " + ex.Message;
        }
    }

    [Theory]
    [MemberData(nameof(RuleSets))]
    public void A_request_mapped_into_a_reused_scratch_is_answered_as_one_mapped_afresh(string ruleSet)
    {
        // One scratch for every request, larger and smaller ones in turn: what one request left in it never shows in the next.
        var scratch = new RequestScratch();
        var (fresh, reused) = (new ScoreAnswerBytes(), new ScoreAnswerBytes());
        int compared = 0, refused = 0, excluded = 0;
        foreach (var request in YearRequests(ruleSet, 400))
        {
            var expected = Answer(request, null, fresh);
            Assert.Equal(expected, Answer(request, scratch, reused));
            refused += expected.StartsWith("refused", StringComparison.Ordinal) ? 1 : 0;
            if (!expected.StartsWith("refused", StringComparison.Ordinal))
                excluded += RequestMapper.Map(request, Repo.Catalog, scratch).Excluded.Count;
            compared++;
        }
        Assert.True(compared - refused >= 200, $"only {compared - refused} of {compared} requests answered");
        Assert.True(excluded > 0, "no result kept out");
    }

    [Fact]
    public void Every_golden_case_mapped_into_a_reused_scratch_is_answered_as_one_mapped_afresh()
    {
        var scratch = new RequestScratch();
        var (fresh, reused) = (new ScoreAnswerBytes(), new ScoreAnswerBytes());
        int compared = 0, refused = 0;
        foreach (var request in GoldenRequests())
        {
            var expected = Answer(request, null, fresh);
            Assert.Equal(expected, Answer(request, scratch, reused));
            refused += expected.StartsWith("refused", StringComparison.Ordinal) ? 1 : 0;
            compared++;
        }
        Assert.True(compared > 100, $"{compared} golden cases, {refused} refused");
    }

    [Fact]
    public void A_refused_request_names_the_same_fields_and_leaves_the_scratch_clean()
    {
        var scratch = new RequestScratch();
        var buffer = new ScoreAnswerBytes();
        var good = YearRequests("dm-2021", 40);
        var faults = new Action<V1.ScoreWorkRequest>[]
        {
            r => r.Work.ProductionCost = "1e5",
            r => r.Work.Festivals.Add(new V1.FestivalEntry { FestivalId = "no-such-festival", Section = V1.FestivalSection.Competition }),
            r => r.Work.BoxOffice.Add(new V1.DatedAmount { Amount = "10" }),
            r => r.Work.ForeignSales.Add(new V1.ForeignSale { Date = new Google.Type.Date { Year = 2022, Month = 2, Day = 30 }, Amount = "1", Country = "FRA" }),
            r => r.Roles.Add(r.Roles[0].Clone()),
            r => r.Roles.Add(new V1.RoleInput { Role = V1.Role.TheatricalDistributor, DistributionCost = "-1", ForeignSales = { new V1.ForeignSale { Amount = "2" } } }),
            r => r.Work.CoProducers.Add(new V1.CoProducer { CompanyId = "X", Country = "ZZ", RightsSharePercent = "120" }),
            r => r.RuleSetId = "dm-2021+nope",
            r => (r.RuleSetId, r.ApplicationYear) = ("2021", 2022),
            r => r.Work = null,
        };
        for (var i = 0; i < good.Count; i++)
        {
            var bad = good[i].Clone();
            faults[i % faults.Length](bad);
            var refusal = Answer(bad, null, buffer);
            Assert.StartsWith("refused", refusal);
            Assert.Equal(refusal, Answer(bad, scratch, buffer));
            // The next request through the same scratch is answered as if the refused one had never been.
            Assert.Equal(Answer(good[i], null, buffer), Answer(good[i], scratch, buffer));
        }
        Assert.True(good.Count >= faults.Length, $"only {good.Count} requests: not every fault was tried");
    }

    [Fact]
    public void Mapping_a_request_into_a_scratch_allocates_nothing_after_its_own_message()
    {
        // What ScoreWork runs over gRPC after parsing a totals request: mapped into the pooled answer's scratch, classified,
        // scored on the totals path, its answer encoded. Requests whose results are kept out (a copy of the work without them)
        // are left out, and so are the works naming co-producers (their category's reasons are formatted per work).
        var requests = YearRequests("dm-2021", 300).Where(r => r.Work.CoProducers.Count == 0 && r.Work.BoxOffice.All(b => b.Date.Year > 2020) &&
                                                               r.Work.BoxOffice.Select(b => b.Date).Distinct().Count() == r.Work.BoxOffice.Count).ToList();
        Assert.Contains(requests, r => r.Roles.Count > 1 && r.Work.ForeignSales.Any(s => s.Countries.Count > 0));
        var scratch = new RequestScratch();
        var buffer = new ScoreAnswerBytes();
        long Pass()
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var request in requests) ResponseMapper.Encode(RequestMapper.Map(request, Repo.Catalog, scratch), null, buffer);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Pass();
        Pass();
        Assert.Equal(0, Pass());
        // Afresh, the same requests allocate their model (what the scratch saves).
        var fresh = GC.GetAllocatedBytesForCurrentThread();
        foreach (var request in requests) ResponseMapper.Encode(RequestMapper.Map(request, Repo.Catalog), null, buffer);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - fresh > 300L * requests.Count);
    }

    [Fact]
    public void A_scratch_lets_go_of_what_a_large_request_made()
    {
        var scratch = new RequestScratch();
        var large = YearRequests("dm-2021", 20)[0];
        var festival = Repo.Catalog.Find("dm-2021")!.Definition.Lists.First(l => l.Kind == "festivals").Entries[0].Id;
        for (var i = 0; i < 500; i++)
            large.Work.Festivals.Add(new V1.FestivalEntry { FestivalId = festival, Section = V1.FestivalSection.Competition });
        var mapped = RequestMapper.Map(large, Repo.Catalog, scratch);
        Assert.Equal(500, mapped.Work.Festivals.Count);
        Assert.Equal(500, scratch.Festivals.Made);
        RequestMapper.Map(YearRequests("dm-2021", 20)[1], Repo.Catalog, scratch);
        Assert.Equal(RequestScratch.KeptItems, scratch.Festivals.Made);
        Assert.True(scratch.FestivalLists.LargestCapacity <= RequestScratch.KeptItems);
    }

    [Fact]
    public void A_work_made_of_values_never_has_a_null_text_or_list()
    {
        var work = new Engine.Model.Work(default(Engine.Model.WorkValues));
        Assert.Equal("", work.Id);
        Assert.Empty(work.BoxOffice);
        Assert.Empty(work.Festivals);
        Assert.Equal(0m, work.BoxOfficeTotal);
        // Refilled, a work sums its new results (its sums of before are not kept).
        var values = new Engine.Model.WorkValues { Id = "w1", BoxOffice = [new Engine.Model.DatedAmount(new DateOnly(2023, 1, 2), 10m)] };
        Assert.Equal(10m, new Engine.Model.Work(values).BoxOfficeTotal);
        var reused = new Engine.Model.Work(values);
        Assert.Equal(10m, reused.BoxOfficeTotal);
        values.BoxOffice = [new Engine.Model.DatedAmount(new DateOnly(2023, 1, 2), 7m), new Engine.Model.DatedAmount(new DateOnly(2023, 2, 2), 5m)];
        Assert.Equal(12m, reused.Refill(values).BoxOfficeTotal);
        Assert.Equal(3m, (reused with { BoxOffice = [new Engine.Model.DatedAmount(new DateOnly(2023, 1, 2), 3m)] }).BoxOfficeTotal);
        Assert.Equal(12m, reused.BoxOfficeTotal);
    }
}
