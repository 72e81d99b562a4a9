using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Ledger.Tests;

/// <summary>
/// Issue 29 on each database: post examples/year-2023.json's allocation (twice: the second changes nothing), the
/// statement of art. 12.7 against the allocation and the journal, supersede by reversal entries, draws (oldest credits
/// first; each refusal of arts. 12.2, 14.1, 14.2, 14.5, 15 with its field and article, nothing written), expiry at
/// 2029-01-01 (exactly the undrawn 2023 credits lapse), a breach of 14.6, idempotency keys, the journal append-only.
/// </summary>
public class LedgerTests
{
    internal static readonly DateOnly PostedOn = new(2024, 3, 1);

    private static readonly Lazy<(PostingRequest Posting, AllocationOutcome Outcome)> Year2023 = new(() =>
        YearPosting.Allocate(Repo.Catalog, YearItems(Path.Combine(Repo.Root, "examples", "year-2023.json")), PostedOn));

    internal static IEnumerable<V1.AllocateRequest> YearItems(string file) =>
        AllocationMapper.Items(JsonParser.Default.Parse<V1.AllocationYear>(File.ReadAllText(file)));

    internal static PostingRequest Posting2023 => Year2023.Value.Posting;

    internal static AllocationOutcome Outcome2023 => Year2023.Value.Outcome;

    /// <summary>A draw that every rule admits: a cinema production, cost 10 M, no other aid.</summary>
    internal static DrawRequest Draw(string company, decimal amount, DateOnly? on = null, string work = "nuova-opera") =>
        new(company, on ?? new DateOnly(2024, 6, 1), work, "cinema", false, "production", 10_000_000m, 0m, amount, 1_000_000m, true);

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Post_Year2023_TwiceChangesNothing_AndTheStatementsAreTheAllocationsCredits(string backend)
    {
        var ledger = Backends.Open(backend);
        var posting = Posting2023;
        var first = ledger.Post(posting);
        Assert.True(first.Applied);
        Assert.Equal(Outcome2023.Allocated, first.Total);
        var entries = ledger.Journal().Count;

        var again = ledger.Post(posting);
        Assert.False(again.Applied);
        Assert.Equal(first.PostingId, again.PostingId);
        Assert.Contains("nothing changed", again.Message);
        Assert.Equal(entries, ledger.Journal().Count);

        // Every company credited has a statement whose credits are its allocation's, by work, credited 2023, to be used by 2028.
        foreach (var company in Outcome2023.Companies.Where(c => c.Total > 0))
        {
            var s = ledger.Statement(company.Id, new DateOnly(2024, 6, 30));
            Assert.Equal(company.Total, s.Credited);
            Assert.Equal(company.Total, s.Held);
            Assert.Equal(company.Name, s.CompanyName);
            Assert.All(s.Lines, l => Assert.Equal((2023, 2028, new DateOnly(2028, 12, 31)), (l.CreditingYear, l.UseByYear, l.ExpiresOn)));
            foreach (var credit in company.Credits)
                Assert.Equal(credit.Amount, s.Lines.Where(l => l.QuotaId == credit.QuotaId).Sum(l => l.Credited));
            AssertJournalSumsTo(ledger, s);
        }
        // Before the posting date the company holds nothing yet.
        Assert.Equal(0m, ledger.Statement("alfa-film", new DateOnly(2024, 2, 29)).Held);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Post_SetsAsideTheAuthorsSharesOfArt14_3_ForTheProducersCredits(string backend)
    {
        var ledger = Backends.Open(backend);
        ledger.Post(Posting2023);
        // 4 categories x 1.5% of each producer credit, each rounded to the cent; the allocation reports the same per work.
        var producerWorks = Outcome2023.Works.Where(w => w.AuthorShares.Count > 0).ToList();
        Assert.NotEmpty(producerWorks);
        var setAside = Posting2023.Credits.Sum(c => c.AuthorsShare);
        Assert.InRange(setAside - producerWorks.Sum(w => w.AuthorShares.Sum(a => a.Amount)), -0.04m * Posting2023.Credits.Count, 0.04m * Posting2023.Credits.Count);
        foreach (var c in Posting2023.Credits.Where(c => c.AuthorsShare > 0))
            Assert.Equal(4 * Math.Round(c.Amount * 0.015m, 2, MidpointRounding.AwayFromZero), c.AuthorsShare);
        var alfa = ledger.Statement("alfa-film", new DateOnly(2024, 6, 30));
        Assert.True(alfa.AuthorsSetAside > 0);
        Assert.Equal(alfa.Credited, alfa.AuthorsSetAside + alfa.Available);
        // The distributor's credits carry no authors' shares.
        Assert.Equal(0m, ledger.Statement("gamma-distribuzione", new DateOnly(2024, 6, 30)).AuthorsSetAside);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Post_ADifferentAllocationOfAPostedYear_IsRefusedUnlessItSupersedes_ThenTheOldCreditsAreReversedByEntries(string backend)
    {
        var ledger = Backends.Open(backend);
        var first = ledger.Post(Posting2023);
        var changed = Posting2023 with { Credits = [.. Posting2023.Credits.Select((c, i) => i == 0 ? c with { Amount = c.Amount + 100m } : c)] };

        var refused = Assert.Throws<LedgerRefusal>(() => ledger.Post(changed));
        Assert.Equal((RefusalKind.FailedPrecondition, "supersede", "art. 12.1"), (refused.Kind, refused.Field, refused.Article));
        Assert.Contains(first.PostingId, refused.Reason);

        var entriesBefore = ledger.Journal();
        var second = ledger.Post(changed with { Supersede = true });
        Assert.True(second.Applied);
        Assert.Equal(first.PostingId, second.Superseded);
        Assert.Equal(first.Total, second.Reversed);
        // Nothing edited or deleted: the old entries are all still there, unchanged, and reversals were added.
        var after = ledger.Journal();
        Assert.Equal(entriesBefore, after.Take(entriesBefore.Count));
        Assert.Equal(entriesBefore.Sum(e => e.Amount), -after.Where(e => e.Kind == "reversal").Sum(e => e.Amount));
        var company = changed.Credits[0].CompanyId;
        var s = ledger.Statement(company, new DateOnly(2024, 6, 30));
        Assert.Equal(changed.Credits.Where(c => c.CompanyId == company).Sum(c => c.Amount), s.Held);
        AssertJournalSumsTo(ledger, s);
        // The superseded allocation posted again is "already posted", not a third posting.
        Assert.False(ledger.Post(Posting2023).Applied);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Supersede_OfCreditsAlreadyDrawnOn_IsRefused(string backend)
    {
        var ledger = Backends.Open(backend);
        ledger.Post(Posting2023);
        ledger.Draw(Draw("alfa-film", 1000m));
        var changed = Posting2023 with { Credits = [.. Posting2023.Credits.Skip(1)], Supersede = true };
        var refused = Assert.Throws<LedgerRefusal>(() => ledger.Post(changed));
        Assert.Equal(("supersede", "art. 12.1"), (refused.Field, refused.Article));
        Assert.Contains("drawn", refused.Reason);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Draw_TakesTheOldestCreditsFirst_AndTheStatementShowsIt(string backend)
    {
        var ledger = Backends.Open(backend);
        ledger.Post(Small(2023, ("acme", "w-old", 1000m), ("acme", "w-older", 500m)));
        ledger.Post(Small(2024, ("acme", "w-new", 2000m)));
        var r = ledger.Draw(Draw("acme", 1800m, new DateOnly(2025, 5, 1)));
        Assert.True(r.Applied);
        Assert.Equal(["w-old", "w-older", "w-new"], r.From.Select(x => x.WorkId));
        Assert.Equal([1000m, 500m, 300m], r.From.Select(x => x.Amount));
        Assert.Equal(1700m, r.AvailableAfter);
        Assert.Equal(50m, r.CeilingPercent);
        Assert.Equal("art. 15.1", r.CeilingArticle);
        var s = ledger.Statement("acme", new DateOnly(2025, 6, 30));
        Assert.Equal((3500m, 1800m, 1700m), (s.Credited, s.Drawn, s.Held));
        Assert.Equal(1800m, Assert.Single(s.Draws).Amount);
        AssertJournalSumsTo(ledger, s);
    }

    public static TheoryData<string, string> Refusals
    {
        get
        {
            var d = new TheoryData<string, string>();
            foreach (var b in Backends.Names)
            foreach (var k in new[] { "use", "net_worth", "short_net_worth", "authors", "ceiling", "ceiling_dev", "balance", "expired" })
                d.Add(b, k);
            return d;
        }
    }

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Draw_IsRefusedWithTheArticle_AndNothingIsWritten(string backend, string kase)
    {
        var ledger = Backends.Open(backend);
        ledger.Post(Small(2023, ("acme", "w1", 100_000m)));
        var ok = Draw("acme", 10_000m, new DateOnly(2024, 6, 1));
        var (request, field, article, text) = kase switch
        {
            "use" => (ok with { WorkKind = "tv_web", Use = "national_distribution" }, "use", "art. 14.1.b", "not for national_distribution"),
            "net_worth" => (ok with { NetWorth = 39_999.99m }, "net_worth", "art. 14.2", "below the EUR 40,000.00"),
            "short_net_worth" => (ok with { NetWorth = 9_000m, ShortFilm = true }, "net_worth", "art. 14.2", "EUR 10,000.00 required for a short film"),
            "authors" => (ok with { AuthorsSharesDocumented = false }, "authors_shares_documented", "art. 14.5", "not documented"),
            "ceiling" => (ok with { Cost = 100_000m, OtherPublicAid = 45_000m }, "amount", "art. 15.1", "would exceed 50% of the work's cost EUR 100,000.00"),
            "ceiling_dev" => (ok with { Use = "development", Cost = 15_000m, OtherPublicAid = 6_000m }, "amount", "art. 15.4",
                "would exceed 100% of the eligible development costs"),
            "balance" => (ok with { Amount = 100_000.01m }, "amount", "art. 12.2", "EUR 100,000.00 available"),
            "expired" => (ok with { RequestedOn = new DateOnly(2029, 1, 1) }, "amount", "art. 12.2", "EUR 0.00 available"),
            _ => throw new ArgumentOutOfRangeException(nameof(kase)),
        };
        var before = ledger.Journal().Count;
        var e = Assert.Throws<LedgerRefusal>(() => ledger.Draw(request));
        Assert.Equal((RefusalKind.FailedPrecondition, field, article), (e.Kind, e.Field, e.Article));
        Assert.Contains(text, e.Reason);
        Assert.Equal(before, ledger.Journal().Count);
        Assert.Empty(ledger.Statement("acme", new DateOnly(2030, 1, 1)).Draws);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Draw_TheCeilingOfArt15_RisesFor547a_DacCoproductions_AndDifficultWorks(string backend)
    {
        var ledger = Backends.Open(backend);
        ledger.Post(Small(2023, ("acme", "w1", 1_000_000m)));
        var on = new DateOnly(2024, 6, 1);
        // Cost 100,000 and 40,000 of other aid: 10,000 fits 50%; 20,000 only 60% (54.7.a); 60,000 only 100% (15.2, 15.3).
        DrawRequest D(string work, decimal amount) => Draw("acme", amount, on, work) with { Cost = 100_000m, OtherPublicAid = 40_000m };
        Assert.Equal("art. 15.1", ledger.Draw(D("a", 10_000m)).CeilingArticle);
        Assert.Equal("art. 15.1", Assert.Throws<LedgerRefusal>(() => ledger.Draw(D("b", 20_000m))).Article);
        var gber = ledger.Draw(D("b", 20_000m) with { Gber547a = true });
        Assert.Equal((60m, "art. 15.1", 60_000m), (gber.CeilingPercent, gber.CeilingArticle, gber.AidCeiling));
        Assert.Equal("art. 15.1", Assert.Throws<LedgerRefusal>(() => ledger.Draw(D("c", 60_000m) with { Coproducers = [new("FR", false)] })).Article);
        var dac = ledger.Draw(D("c", 60_000m) with { Coproducers = [new("FR", false), new("SN", true)] });
        Assert.Equal((100m, "art. 15.2"), (dac.CeilingPercent, dac.CeilingArticle));
        var difficult = ledger.Draw(D("d", 60_000m) with { DifficultWork = "c" });
        Assert.Equal((100m, "art. 15.3"), (difficult.CeilingPercent, difficult.CeilingArticle));
        // Earlier draws for the same work count: a second 10,000 for work a passes 50% with the first.
        var second = Assert.Throws<LedgerRefusal>(() => ledger.Draw(D("a", 10_000.01m)));
        Assert.Contains("earlier draws for the work EUR 10,000.00", second.Reason);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Draw_BadFields_AreInvalidArgumentsNamingTheField(string backend)
    {
        var ledger = Backends.Open(backend);
        var ok = Draw("acme", 10m);
        foreach (var (request, field) in new (DrawRequest, string)[]
                 {
                     (ok with { WorkKind = "radio" }, "work_kind"), (ok with { Use = "catering" }, "use"), (ok with { Amount = 0m }, "amount"),
                     (ok with { Amount = 1.001m }, "amount"), (ok with { Cost = -1m }, "cost"), (ok with { OtherPublicAid = -1m }, "other_public_aid"),
                     (ok with { DifficultWork = "e" }, "difficult_work"), (ok with { Coproducers = [new("France", true)] }, "coproducers[0].country"),
                     (ok with { CompanyId = "" }, "company_id"),
                 })
        {
            var e = Assert.Throws<LedgerRefusal>(() => ledger.Draw(request));
            Assert.Equal((RefusalKind.InvalidArgument, field), (e.Kind, e.Field));
            Assert.StartsWith("art. 1", e.Article);
        }
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Expire_At2029_LapsesExactlyTheUndrawn2023Credits_AndTheJournalSumsToEveryBalance(string backend)
    {
        var ledger = Backends.Open(backend);
        ledger.Post(Posting2023);
        var drawn = ledger.Draw(Draw("alfa-film", 250_000m, new DateOnly(2025, 1, 15)));
        var companies = Outcome2023.Companies.Where(c => c.Total > 0).ToList();
        var undrawn = companies.ToDictionary(c => c.Id, c => c.Total - (c.Id == "alfa-film" ? drawn.Amount : 0m));

        // The day of the deadline nothing lapses; the day after, all that is left.
        var early = ledger.Expire(new DateOnly(2028, 12, 31));
        Assert.False(early.Applied);
        Assert.Equal(0m, early.Total);
        var r = ledger.Expire(new DateOnly(2029, 1, 1));
        Assert.True(r.Applied);
        Assert.Equal("art. 12.6", r.Article);
        Assert.Equal(undrawn.Values.Sum(), r.Total);
        Assert.Equal(undrawn.OrderBy(x => x.Key, StringComparer.Ordinal).ToList(),
            r.Companies.Select(c => KeyValuePair.Create(c.CompanyId, c.Amount)).OrderBy(x => x.Key, StringComparer.Ordinal).ToList());
        foreach (var c in companies)
        {
            var s = ledger.Statement(c.Id, new DateOnly(2029, 1, 1));
            Assert.Equal((c.Total, undrawn[c.Id], 0m), (s.Credited, s.Lapsed, s.Held));
            AssertJournalSumsTo(ledger, s);
            // On the last day the money was still there.
            Assert.Equal(undrawn[c.Id], ledger.Statement(c.Id, new DateOnly(2028, 12, 31)).Held);
        }
        Assert.False(ledger.Expire(new DateOnly(2030, 1, 1)).Applied);
        Assert.Equal(0m, ledger.Journal().Sum(e => e.Amount));
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Breach_OfArt14_6_LapsesTheWorksCredits(string backend)
    {
        var ledger = Backends.Open(backend);
        ledger.Post(Small(2023, ("acme", "w1", 1000m), ("acme", "w2", 2000m)));
        var r = ledger.Breach(new BreachRequest("acme", "w2", "deposit", new DateOnly(2024, 9, 1)));
        Assert.Equal(("art. 14.6.b", 2000m), (r.Article, r.Total));
        var s = ledger.Statement("acme", new DateOnly(2024, 9, 1));
        Assert.Equal((1000m, 2000m), (s.Held, s.Lapsed));
        Assert.Equal(0m, s.Lines.Single(l => l.WorkId == "w2").Held);
        Assert.Equal("clause", Assert.Throws<LedgerRefusal>(() => ledger.Breach(new BreachRequest("acme", "w1", "colour", new DateOnly(2024, 9, 1)))).Field);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void IdempotencyKey_ARetryIsAppliedOnce_AndAKeyReusedForAnotherRequestIsRefused(string backend)
    {
        var ledger = Backends.Open(backend);
        var posted = ledger.Post(Small(2023, ("acme", "w1", 1000m)) with { IdempotencyKey = "post-1" });
        Assert.False(ledger.Post(Small(2023, ("acme", "w1", 1000m)) with { IdempotencyKey = "post-1" }).Applied);
        var request = Draw("acme", 100m) with { IdempotencyKey = "draw-1" };
        var first = ledger.Draw(request);
        var retry = ledger.Draw(request);
        Assert.True(first.Applied);
        Assert.False(retry.Applied);
        Assert.Equal(first.DrawId, retry.DrawId);
        Assert.Equal(first.From, retry.From);
        Assert.Equal(100m, ledger.Statement("acme", new DateOnly(2024, 6, 30)).Drawn);
        var reused = Assert.Throws<LedgerRefusal>(() => ledger.Draw(request with { Amount = 200m }));
        Assert.Equal((RefusalKind.FailedPrecondition, "idempotency_key"), (reused.Kind, reused.Field));
        Assert.Throws<LedgerRefusal>(() => ledger.Draw(request with { IdempotencyKey = "post-1" }));
        Assert.True(posted.Applied);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Statement_OfACompanyWithNoPosition_IsNotFound(string backend)
    {
        var ledger = Backends.Open(backend);
        var e = Assert.Throws<LedgerRefusal>(() => ledger.Statement("nobody", new DateOnly(2024, 1, 1)));
        Assert.Equal((RefusalKind.NotFound, "company_id"), (e.Kind, e.Field));
    }

    /// <summary>A small allocation of one year: credits of the given companies and works, one sub-quota, no authors' shares.</summary>
    internal static PostingRequest Small(int year, params (string Company, string Work, decimal Amount)[] credits) =>
        new(year, year, "dm-2021", "test", new DateOnly(year + 1, 3, 1),
            credits.Select(c => new PostingCredit(c.Company, c.Company.ToUpperInvariant(), c.Work, c.Work, "cinema.economic", year,
                new DateOnly(year + 5, 12, 31), c.Amount, 0m)).ToList());

    /// <summary>The statement's every figure is the sum of the journal's entries for the company up to its date.</summary>
    internal static void AssertJournalSumsTo(LedgerStore ledger, Statement s)
    {
        var entries = ledger.Journal(s.CompanyId).Where(e => e.EffectiveOn <= s.At).ToList();
        Assert.Equal(entries.Count, s.Entries);
        Assert.Equal(entries.Sum(e => e.Amount), s.Held);
        Assert.Equal(entries.Where(e => e.Bucket == "available").Sum(e => e.Amount), s.Available);
        Assert.Equal(entries.Where(e => e.Bucket == "authors").Sum(e => e.Amount), s.AuthorsSetAside);
        Assert.Equal(-entries.Where(e => e.Kind == "draw").Sum(e => e.Amount), s.Drawn);
        Assert.Equal(-entries.Where(e => e.Kind == "lapse").Sum(e => e.Amount), s.Lapsed);
        Assert.Equal(s.Credited - s.Reversed - s.Drawn - s.Lapsed, s.Held);
        foreach (var l in s.Lines)
            Assert.Equal(entries.Where(e => e.CreditId == l.CreditId).Sum(e => e.Amount), l.Held);
    }
}
