using System.Globalization;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Protocol;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;
using static ContributiAutomatici.Tests.AllocationPropertyTests;
using ContributiAutomatici.Tooling;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>
/// Issue 25 items 1 and 2: the account of the allocation, as published (the decimal strings of the result, what a reader
/// adds up). Per paying (sub-)quota and per pool of a binding short-film limit: resources = allocated + the four causes
/// of the unassigned money + the rounding residue, exactly; every part but the residue >= 0 and at most the resources;
/// the company cap's part where a company was capped (the repro's golden pins alfa-film's); the short-film line and the point values agree. Per credit:
/// its lines (before caps - cuts = exact) and its rounding sum to its amount; a company's credits to its total.
/// </summary>
public class AllocationAccountTests
{
    private const int Tests = 200;

    /// <summary>How many companies of each kind claim: as generated, one, or two (so every claimant is capped often).</summary>
    public enum Claimants { AsGenerated, One, Two }

    [Property(Arbitrary = [typeof(Years)], MaxTest = Tests)]
    public void AccountProperty_EveryQuotaAndPoolReconcilesExactlyUnderBothPolicies(Year year, bool redistribute, Claimants claimants)
    {
        var y = Narrow(year with { Redistribute = redistribute }, claimants);
        CheckAccount(Run(AllocationPropertyTests.Items(y)));
    }

    [Property(Arbitrary = [typeof(Years)], MaxTest = Tests)]
    public void AccountProperty_EachCompanysLinesSumToItsCreditsAndItsTotal(Year year, bool redistribute, Claimants claimants)
    {
        var y = Narrow(year with { Redistribute = redistribute }, claimants);
        CheckStatements(Run(AllocationPropertyTests.Items(y)));
    }

    /// <summary>The random years of these properties reach what the account is about, both policies each time.</summary>
    [Fact]
    public void AccountProperty_TheRandomYearsReachEveryPartOfTheAccount()
    {
        var seen = new Dictionary<string, int>
        {
            ["unassigned by work cap"] = 0, ["unassigned by company cap"] = 0, ["short-film limit"] = 0, ["no admitted claimant"] = 0,
            ["redistributed"] = 0, ["redistribute with everyone capped"] = 0, ["pools"] = 0, ["negative residue"] = 0,
        };
        var rnd = new Rnd(2025UL, 0x9E3779B97F4A7C15UL);
        foreach (var (year, i) in Gen.Sample(Years.Year().Generator, 300, rnd, 50).Select((y, i) => (y, i)))
        {
            var y = Narrow(year with { Redistribute = i % 2 == 0 }, (Claimants)(i % 3));
            var r = Run(AllocationPropertyTests.Items(y));
            foreach (var q in r.Summary.Quotas.Where(q => q.Account is not null))
            {
                var a = q.Account;
                if (D(a.UnassignedWorkCap) > 0) seen["unassigned by work cap"]++;
                if (D(a.UnassignedCompanyCap) > 0) seen["unassigned by company cap"]++;
                if (D(a.UnassignedShortFilmsLimit) > 0) seen["short-film limit"]++;
                if (D(a.UnassignedNoClaimant) > 0) seen["no admitted claimant"]++;
                if (D(a.Redistributed) > 0) seen["redistributed"]++;
                if (y.Redistribute && D(a.UnassignedWorkCap) + D(a.UnassignedCompanyCap) > 0) seen["redistribute with everyone capped"]++;
                if (q.Pools.Count > 0) seen["pools"]++;
                if (D(a.RoundingResidue) < 0) seen["negative residue"]++;
            }
        }
        Assert.All(seen, kv => Assert.True(kv.Value >= 10, $"the random years reach '{kv.Key}' {kv.Value} times: {string.Join(", ", seen)}"));
    }

    /// <summary>The repro of issue 25 and the example years, under both policies.</summary>
    [Theory]
    [InlineData("repro", "unassigned")]
    [InlineData("repro", "redistribute")]
    [InlineData("examples/year-2023.json", "unassigned")]
    [InlineData("examples/year-2023.json", "redistribute")]
    [InlineData("examples/year-2021.json", "unassigned")]
    [InlineData("examples/year-2021.json", "redistribute")]
    public void The_example_years_reconcile_under_both_policies(string file, string policy)
    {
        var year = file == "repro" ? Repro() : JsonParser.Default.Parse<V1.AllocationYear>(File.ReadAllText(Path.Combine(Repo.Root, file)));
        year.Header.ExcessPolicy = policy == "redistribute" ? V1.ExcessPolicy.Redistribute : V1.ExcessPolicy.Unassigned;
        var r = Run(AllocationMapper.Items(year), allowExclusions: true);
        CheckAccount(r);
        CheckStatements(r);
    }

    /// <summary>The repro of issue 25, a golden allocation beside the rule set.</summary>
    internal static V1.AllocationYear Repro()
    {
        var errors = new List<Engine.Rules.RuleError>();
        var cases = AllocationGoldenTests.Load(Path.Combine(Repo.Rules, "dm-2021"), "dm-2021", errors);
        Assert.Empty(errors);
        return cases.Single(c => c.Name.EndsWith("(the repro)", StringComparison.Ordinal)).Year.Clone();
    }

    // ------------------------------------------------------------------ the checks

    internal static void CheckAccount(V1.AllocationResult r)
    {
        var s = r.Summary;
        var redistribute = s.ExcessPolicy == V1.ExcessPolicy.Redistribute;
        var paying = s.Quotas.Where(q => q.AllocatedHere).ToList();
        Assert.All(paying, q => Assert.NotNull(q.Account));
        Assert.All(s.Quotas.Where(q => !q.AllocatedHere), q => Assert.Null(q.Account));
        foreach (var q in paying)
        {
            var a = q.Account;
            Reconciles(q.QuotaId, a, redistribute, r.Companies.Sum(c => c.Credits.Count(x => x.QuotaId == q.QuotaId)));
            Assert.Equal(q.Resources, a.Resources);
            Assert.Equal(q.Allocated, a.Allocated);
            Assert.Equal(q.Unassigned, a.Unassigned);
            Assert.Equal(q.RoundingResidue, a.RoundingResidue);
            var claims = r.Works.SelectMany(w => w.Claims).Where(c => c.QuotaId == q.QuotaId).ToList();
            Assert.Equal(D(a.Allocated), r.Companies.SelectMany(c => c.Credits).Where(c => c.QuotaId == q.QuotaId).Sum(c => D(c.Amount)));
            var binding = q.ShortFilms is { Binding: true };
            Assert.Equal(binding ? 2 : 0, q.Pools.Count);
            if (binding)
            {
                // The short-film line says the values paid, the same as the point-value column and the pools.
                Assert.Equal(q.PointValue, q.ShortFilms.OtherPointValue);
                Assert.Equal(["short_films", "other_works"], q.Pools.Select(p => p.Pool));
                Assert.Equal(q.ShortFilms.PointValue, q.Pools[0].PointValue);
                Assert.Equal(q.ShortFilms.OtherPointValue, q.Pools[1].PointValue);
                Assert.Equal(D(q.ShortFilms.Resources), D(q.Pools[0].Account.Resources));
                foreach (var p in q.Pools)
                {
                    Reconciles($"{q.QuotaId} {p.Pool}", p.Account, redistribute, 0);
                    Assert.Equal("0", p.Account.RoundingResidue);
                    var mine = claims.Where(c => c.ShortFilmsPool == (p.Pool == "short_films")).ToList();
                    // The claims' exact amounts, each written to 10 decimals, sum to the pool's within their last digits.
                    var slack = 0.0000000001m * (mine.Count + 1);
                    Assert.True(Math.Abs(D(p.Account.Allocated) - mine.Sum(c => D(c.ExactAmount))) <= slack, $"{q.QuotaId} {p.Pool}: claims' exact amounts");
                    Assert.True(Math.Abs(D(p.Points) - mine.Sum(c => D(c.Points))) <= slack, $"{q.QuotaId} {p.Pool}: claims' points");
                    CapsShowWhereTheyBit($"{q.QuotaId} {p.Pool}", p.Account, mine, redistribute);
                }
                Assert.Equal(D(a.Resources), q.Pools.Sum(p => D(p.Account.Resources)));
                Assert.Equal(D(a.Allocated) + D(a.RoundingResidue), q.Pools.Sum(p => D(p.Account.Allocated)));
                Assert.Equal(D(a.UnassignedWorkCap), q.Pools.Sum(p => D(p.Account.UnassignedWorkCap)));
                Assert.Equal(D(a.UnassignedCompanyCap), q.Pools.Sum(p => D(p.Account.UnassignedCompanyCap)));
                Assert.Equal(D(a.UnassignedShortFilmsLimit), q.Pools.Sum(p => D(p.Account.UnassignedShortFilmsLimit)));
                Assert.Equal(D(a.UnassignedNoClaimant), q.Pools.Sum(p => D(p.Account.UnassignedNoClaimant)));
                Assert.Equal(D(a.Redistributed), q.Pools.Sum(p => D(p.Account.Redistributed)));
            }
            else
            {
                Assert.Equal("0", a.UnassignedShortFilmsLimit);
                if (q.ShortFilms is { } sf) Assert.Equal(q.PointValue, sf.PointValue);
                CapsShowWhereTheyBit(q.QuotaId, a, claims, redistribute);
            }
            if (claims.Count == 0) Assert.Equal(a.Resources, a.UnassignedNoClaimant);
            else Assert.Equal("0", binding ? "0" : a.UnassignedNoClaimant);
        }
        // The year: budget = the paying quotas' resources + reserved; its account is theirs summed.
        var t = s.Account;
        Reconciles("year", t, redistribute, r.Companies.Sum(c => c.Credits.Count));
        Assert.Equal(D(s.Budget), Math.Round(D(t.Resources) + D(s.Reserved), 10));
        Assert.Equal(D(s.Allocated), D(t.Allocated));
        Assert.Equal(D(s.Unassigned), D(t.Unassigned));
        Assert.Equal(D(s.RoundingResidue), D(t.RoundingResidue));
        foreach (var f in new Func<V1.Reconciliation, string>[]
                 {
                     x => x.Resources, x => x.Allocated, x => x.UnassignedWorkCap, x => x.UnassignedCompanyCap, x => x.UnassignedShortFilmsLimit,
                     x => x.UnassignedNoClaimant, x => x.RoundingResidue, x => x.Redistributed,
                 })
            Assert.Equal(D(f(t)), paying.Sum(q => D(f(q.Account))));
    }

    /// <summary>resources = allocated + unassigned + residue and unassigned = its four causes, as written; parts in [0, resources].</summary>
    private static void Reconciles(string what, V1.Reconciliation a, bool redistribute, int credits)
    {
        var r = D(a.Resources);
        var causes = D(a.UnassignedWorkCap) + D(a.UnassignedCompanyCap) + D(a.UnassignedShortFilmsLimit) + D(a.UnassignedNoClaimant);
        Assert.True(D(a.Unassigned) == causes, $"{what}: unassigned {a.Unassigned} but its causes sum to {causes}: {a}");
        Assert.True(r == D(a.Allocated) + D(a.Unassigned) + D(a.RoundingResidue), $"{what}: the parts do not sum to the resources: {a}");
        foreach (var (name, part) in new[]
                 {
                     ("allocated", a.Allocated), ("unassigned", a.Unassigned), ("work cap", a.UnassignedWorkCap), ("company cap", a.UnassignedCompanyCap),
                     ("short-film limit", a.UnassignedShortFilmsLimit), ("no claimant", a.UnassignedNoClaimant), ("redistributed", a.Redistributed),
                 })
            Assert.True(D(part) >= 0 && D(part) <= r, $"{what}: {name} {part} outside [0, {r}]: {a}");
        // The residue is what rounding per company took or gave: within half a cent per credit, a cent given back.
        Assert.True(Math.Abs(D(a.RoundingResidue)) <= 0.01m * credits, $"{what}: residue {a.RoundingResidue} with {credits} credits");
        if (!redistribute) Assert.Equal("0", a.Redistributed);
        // Moved money is inside the exact amounts paid (the credits and the residue).
        Assert.True(D(a.Redistributed) <= D(a.Allocated) + D(a.RoundingResidue), $"{what}: redistributed {a.Redistributed} > exact allocated {a}");
    }

    /// <summary>
    /// The caps' parts say who cut: under unassigned they are the caps' cuts (the claims' cuts summed); under either
    /// policy a cap that cut nothing has no part, and under redistribute nothing stays unassigned unless every claimant
    /// of the pool is capped.
    /// </summary>
    private static void CapsShowWhereTheyBit(string what, V1.Reconciliation a, List<V1.ClaimAmount> claims, bool redistribute)
    {
        var workCut = claims.Sum(c => D(c.CutByWorkCap));
        var companyCut = claims.Sum(c => D(c.CutByCompanyCap));
        if (!redistribute)
        {
            Assert.True(Math.Abs(D(a.UnassignedWorkCap) - workCut) <= 0.000001m, $"{what}: work cap part {a.UnassignedWorkCap}, claims' cuts {workCut}");
            Assert.True(Math.Abs(D(a.UnassignedCompanyCap) - companyCut) <= 0.000001m, $"{what}: company cap part {a.UnassignedCompanyCap}, claims' cuts {companyCut}");
        }
        if (!redistribute && claims.All(c => !c.WorkCapped)) Assert.Equal("0", a.UnassignedWorkCap);
        if (!redistribute && claims.All(c => !c.CompanyCapped)) Assert.Equal("0", a.UnassignedCompanyCap);
        // Under redistribute the caps' parts are measured at the nominal value (reading guide 7): a work over its cap at
        // v0 may end below it when its company's cap froze the water level first; but only capped claimants leave money.
        if (claims.All(c => !c.WorkCapped && !c.CompanyCapped)) Assert.Equal("0", D(a.UnassignedWorkCap) + D(a.UnassignedCompanyCap) == 0 ? "0" : a.ToString());
        if (redistribute && claims.Any(c => !c.WorkCapped && !c.CompanyCapped && D(c.Points) > 0))
            Assert.True(D(a.UnassignedWorkCap) + D(a.UnassignedCompanyCap) <= 0.0000001m, $"{what}: unassigned with an uncapped claimant: {a}");
    }

    /// <summary>Item 2: per credit, its lines and its rounding sum to its amount; per line, before caps - cuts = exact.</summary>
    internal static void CheckStatements(V1.AllocationResult r)
    {
        foreach (var c in r.Companies)
        {
            Assert.Equal(D(c.Total), c.Credits.Sum(x => D(x.Amount)));
            foreach (var x in c.Credits)
            {
                Assert.NotEmpty(x.Lines);
                Assert.True(x.Lines.Sum(l => D(l.ExactAmount)) + D(x.Rounding) == D(x.Amount), $"{c.CompanyId} {x.QuotaId}: lines + rounding != {x.Amount}");
                Assert.True(Math.Abs(D(x.Rounding)) <= 0.01m, $"{c.CompanyId} {x.QuotaId}: rounding {x.Rounding}");
                Assert.True(Math.Abs(D(x.Points) - x.Lines.Sum(l => D(l.Points))) <= 0.0000000001m * (x.Lines.Count + 1), $"{c.CompanyId} {x.QuotaId}: lines' points");
                foreach (var l in x.Lines)
                {
                    Assert.Equal(D(l.ExactAmount), D(l.BeforeCaps) - D(l.CutByWorkCap) - D(l.CutByCompanyCap));
                    Assert.True(D(l.CutByWorkCap) >= 0 && D(l.CutByCompanyCap) >= 0, $"{c.CompanyId} {l.WorkId}: negative cut");
                    if (D(l.CutByWorkCap) > 0) Assert.Contains(l.Caps, k => k.StartsWith("work cap", StringComparison.Ordinal));
                    if (D(l.CutByCompanyCap) > 0) Assert.Contains(l.Caps, k => k.StartsWith("company cap", StringComparison.Ordinal));
                    // The same line in the work's statement.
                    var claim = r.Works.Single(w => w.WorkId == l.WorkId).Claims.Single(k => k.CompanyId == c.CompanyId && k.Role == l.Role && k.QuotaId == x.QuotaId);
                    Assert.Equal((claim.BeforeCaps, claim.CutByWorkCap, claim.CutByCompanyCap, claim.ExactAmount),
                        (l.BeforeCaps, l.CutByWorkCap, l.CutByCompanyCap, l.ExactAmount));
                }
            }
        }
    }

    // ------------------------------------------------------------------ years

    internal static decimal D(string s) => decimal.Parse(s, NumberStyles.Number, CultureInfo.InvariantCulture);

    internal static V1.AllocationResult Run(IEnumerable<V1.AllocateRequest> items, bool allowExclusions = false)
    {
        var reader = new AllocationMapper.Reader(Repo.Catalog);
        foreach (var item in items) reader.Add(item);
        var outcome = Allocator.Run(reader.Build());
        if (!allowExclusions) Assert.Empty(outcome.Exclusions);
        return AllocationMapper.Result(AllocationMapper.Items(outcome));
    }

    /// <summary>Every claim of a kind by the first (or the first two) companies of that kind, shares of one company merged.</summary>
    internal static Year Narrow(Year year, Claimants claimants)
    {
        if (claimants == Claimants.AsGenerated) return year;
        var keep = year.Companies.GroupBy(c => c.Kind).ToDictionary(g => g.Key, g => g.Take(claimants == Claimants.One ? 1 : 2).ToList());
        var kindOf = year.Companies.ToDictionary(c => c.Id, c => c.Kind);
        var works = year.Works.Select(w => w with
        {
            Claims = [.. w.Claims.Select((c, i) =>
                {
                    var mine = keep[kindOf[c.CompanyId]];
                    return c with { CompanyId = mine[i % mine.Count].Id };
                })
                .GroupBy(c => (c.CompanyId, c.Role))
                .Select(g => g.First() with { SharePercent = Math.Min(100m, g.Sum(c => c.SharePercent)) })],
        }).ToList();
        return year with { Works = works };
    }
}
