using System.Globalization;
using System.Text;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Protocol;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>
/// Issue 7 item 8: properties of the allocation over random years of dm-2021, run end to end as the service runs them
/// (proto items -> <see cref="AllocationMapper.Reader"/> -> <see cref="Allocator.Run"/> -> proto result). Works come with
/// their points given (no scoring), over the paying (sub-)quotas; companies meet art. 4 for the roles they claim;
/// rights shares of one work and role add up to at most 100%. So every generated claim is admitted (checked) and the
/// properties are about the money. Exact amounts are read from the engine's outcome (full decimal precision; the proto
/// carries them to 10 decimals), the byte-for-byte comparison from the proto result.
/// </summary>
public class AllocationPropertyTests
{
    private const int Tests = 150;

    /// <summary>What decimal division leaves in the last digits (reading guide 7: a value exactly at a cap is not capped).</summary>
    private const decimal Tolerance = 0.000000000000000001m;

    // ------------------------------------------------------------------ properties

    [Property(Arbitrary = [typeof(Years)], MaxTest = Tests)]
    public void AllocationProperty_NoSubQuotaPaysMoreThanItsResources_RoundedCreditsIncluded(Year year)
    {
        var (o, _) = Run(year);
        foreach (var q in o.Quotas.Where(q => q.Pays))
        {
            var credits = o.Companies.SelectMany(c => c.Credits).Where(c => c.QuotaId == q.Quota.Id).ToList();
            Assert.All(credits, c => Assert.True(c.Amount >= 0, $"{q.Quota.Id}: negative credit {c.Amount}"));
            Assert.Equal(q.Allocated, credits.Sum(c => c.Amount));
            Assert.True(q.Allocated <= q.Resources, $"{q.Quota.Id}: credits {q.Allocated} > resources {q.Resources}");
            Assert.True(q.ExactAllocated <= q.Resources + Tolerance, $"{q.Quota.Id}: exact {q.ExactAllocated} > resources {q.Resources}");
        }
    }

    [Property(Arbitrary = [typeof(Years)], MaxTest = Tests)]
    public void AllocationProperty_NoWorkAbove30PercentNoCompanyAbove50PercentOfASubQuota(Year year)
    {
        var (o, _) = Run(year);
        var a = Repo.Catalog.Find("dm-2021")!.Definition.Allocation!;
        foreach (var q in o.Quotas.Where(q => q.Pays))
        {
            var workCap = q.Resources * a.WorkCap.Value / 100m;
            var companyCap = q.Resources * a.CompanyCap.Value / 100m;
            foreach (var w in o.Works)
            {
                var exact = w.Claims.Where(c => c.QuotaId == q.Quota.Id).Sum(c => c.Exact);
                Assert.True(exact <= workCap + Tolerance, $"{q.Quota.Id}: work {w.Id} has {exact} > cap {workCap}");
            }
            foreach (var c in o.Companies)
            {
                var exact = c.Credits.Where(x => x.QuotaId == q.Quota.Id).Sum(x => x.Exact);
                Assert.True(exact <= companyCap + Tolerance, $"{q.Quota.Id}: company {c.Id} has {exact} > cap {companyCap}");
            }
        }
    }

    /// <summary>
    /// Per pool: a sub-quota whose short-film limit binds is two pools (the shorts' 5% and the others' 95%, reading
    /// guide 2), each filled on its own, so what one pool cannot place (all its claimants capped, or no claimant at
    /// all, e.g. only shorts in the sub-quota) is not given to the other.
    /// </summary>
    [Property(Arbitrary = [typeof(Years)], MaxTest = Tests)]
    public void AllocationProperty_RedistributeLeavesNothingUnassignedUnlessEveryClaimantInThePoolIsCapped(Year year)
    {
        year = year with { Redistribute = true };
        var (o, _) = Run(year);
        foreach (var q in o.Quotas.Where(q => q.Pays))
        {
            var parts = o.Works.SelectMany(w => w.Claims.Where(c => c.QuotaId == q.Quota.Id).Select(c => (Work: w.Id, Claim: c))).ToList();
            var pools = q.ShortFilms is { Binding: true } sf
                ? [(parts.Where(p => p.Claim.ShortFilmsPool).ToList(), sf.Resources), (parts.Where(p => !p.Claim.ShortFilmsPool).ToList(), q.Resources - sf.Resources)]
                : new[] { (parts, q.Resources) };
            foreach (var (pool, resources) in pools)
            {
                var left = resources - pool.Sum(p => p.Claim.Exact);
                if (left <= Tolerance) continue;
                var uncapped = pool.Where(p => !p.Claim.WorkCapped && !p.Claim.CompanyCapped).ToList();
                Assert.True(uncapped.Count == 0, $"{q.Quota.Id}: {left} unassigned while uncapped: " +
                    string.Join(", ", uncapped.Select(p => $"{p.Claim.CompanyId}/{p.Work} {p.Claim.Exact}")));
            }
        }
    }

    /// <summary>
    /// Within a relative 1e-20, or 1e-20 EUR absolute for tiny amounts: decimal keeps at most 28 digits after the point,
    /// so with a budget of cents the point values are around 1e-10 EUR and carry only some 18 significant digits
    /// (FsCheck found, with a budget of 0.01, an amount of 2.9e-6 EUR off by 1.5e-22 after scaling by 3).
    /// </summary>
    [Property(Arbitrary = [typeof(Years)], MaxTest = Tests)]
    public void AllocationProperty_ScalingTheBudgetByKScalesEveryExactAmountByK(Year year)
    {
        var (o, _) = Run(year);
        foreach (var k in new[] { 3m, 10m, 0.5m })
        {
            var (scaled, _) = Run(year with { Budget = year.Budget * k });
            Assert.Equal(ExactAmounts(o).Keys.Order(), ExactAmounts(scaled).Keys.Order());
            var after = ExactAmounts(scaled);
            foreach (var (key, before) in ExactAmounts(o))
            {
                var expected = before * k;
                Assert.True(Math.Abs(after[key] - expected) <= Math.Max(Math.Abs(expected) * 0.00000000000000000001m, 0.00000000000000000001m),
                    $"k = {k}, {key}: {after[key]}, expected {expected} ({before} x {k})");
            }
        }
    }

    [Property(Arbitrary = [typeof(Years)], MaxTest = Tests)]
    public void AllocationProperty_AClaimantWithZeroPointsChangesNoOnesAmount(Year year, NonNegativeInt pick)
    {
        var (_, before) = Run(year);
        var withZero = WithZeroPointsClaimant(year, pick.Item);
        var (_, after) = Run(withZero);
        Assert.Equal(before.Summary.Quotas, after.Summary.Quotas);
        Assert.Equal(before.Summary.Allocated, after.Summary.Allocated);
        Assert.Equal(before.Summary.Unassigned, after.Summary.Unassigned);
        var companies = after.Companies.ToDictionary(c => c.CompanyId);
        foreach (var c in before.Companies) Assert.Equal(c, companies[c.CompanyId]);
        Assert.All(after.Companies.Where(c => before.Companies.All(b => b.CompanyId != c.CompanyId)), c => Assert.Empty(c.Credits));
        var works = after.Works.ToDictionary(w => w.WorkId);
        foreach (var w in before.Works) Assert.Equal(w, works[w.WorkId]);
        Assert.Empty(after.Exclusions);
    }

    [Property(Arbitrary = [typeof(Years)], MaxTest = Tests)]
    public void AllocationProperty_SameYearInAnyItemOrderGivesTheSameResultByteForByte(Year year, int seed)
    {
        var items = Items(year).ToList();
        var rnd = new Random(seed);
        var shuffled = items.Skip(1).Select(i => i.Clone()).ToArray();
        rnd.Shuffle(shuffled);
        foreach (var w in shuffled.Where(i => i.ItemCase == V1.AllocateRequest.ItemOneofCase.Work).Select(i => i.Work))
        {
            var given = w.GivenPoints.ToArray();
            rnd.Shuffle(given);
            w.GivenPoints.Clear();
            w.GivenPoints.AddRange(given);
        }
        var (_, a) = Run(items);
        var (_, b) = Run([items[0], .. shuffled]);
        Assert.Equal(a.ToByteArray(), b.ToByteArray());
    }

    [Property(Arbitrary = [typeof(Years)], MaxTest = Tests)]
    public void AllocationProperty_EachRoundedCreditIsWithinHalfACentOfItsExactAmountButTheOneCentGivenBack(Year year)
    {
        var (o, _) = Run(year);
        foreach (var q in o.Quotas.Where(q => q.Pays))
        {
            var credits = o.Companies.SelectMany(c => c.Credits).Where(c => c.QuotaId == q.Quota.Id).ToList();
            foreach (var c in credits)
            {
                var back = c.GiveBack ? 0.01m : 0m;
                Assert.True(Math.Abs(c.Amount + back - c.Exact) <= 0.005m,
                    $"{q.Quota.Id}: credit {c.Amount} (give-back {c.GiveBack}) for exact {c.Exact}");
            }
            if (credits.Any(c => c.GiveBack))
                // Cents are given back only while needed: one cent fewer would exceed the resources.
                Assert.True(q.Allocated + 0.01m > q.Resources, $"{q.Quota.Id}: gave back too much: {q.Allocated} of {q.Resources}");
            else
                Assert.True(credits.Sum(c => Math.Round(c.Exact, 2, MidpointRounding.AwayFromZero)) <= q.Resources);
        }
    }

    /// <summary>
    /// The properties mean something only if the random years reach the cases they are about: 300 years of a fixed
    /// seed must include, ten times each at least, work caps, company caps, a binding short-film limit, a one-cent give-back, and under
    /// redistribute both a filled sub-quota with a cap biting and money left because everyone is capped.
    /// </summary>
    [Fact]
    public void AllocationProperty_TheRandomYearsReachCapsShortsLimitAndGiveBack()
    {
        var seen = new Dictionary<string, int>
        {
            ["work cap"] = 0, ["company cap"] = 0, ["shorts limit binding"] = 0, ["give-back"] = 0,
            ["redistribute, a cap bites, nothing unassigned"] = 0, ["redistribute, everyone capped, money left"] = 0,
        };
        foreach (var year in Gen.Sample(Years.Year().Generator, 300, new Rnd(20231UL, 0x9E3779B97F4A7C15UL), 50))
        {
            var (o, _) = Run(year);
            var parts = o.Works.SelectMany(w => w.Claims).ToList();
            if (parts.Any(c => c.WorkCapped)) seen["work cap"]++;
            if (parts.Any(c => c.CompanyCapped)) seen["company cap"]++;
            if (o.Quotas.Any(q => q.ShortFilms is { Binding: true })) seen["shorts limit binding"]++;
            if (o.Companies.SelectMany(c => c.Credits).Any(c => c.GiveBack)) seen["give-back"]++;
            if (!year.Redistribute) continue;
            foreach (var q in o.Quotas.Where(q => q.Pays && q.TotalPoints > 0 && q.ShortFilms is not { Binding: true }))
            {
                var mine = parts.Where(c => c.QuotaId == q.Quota.Id).ToList();
                if (q.Unassigned <= Tolerance && mine.Any(c => c.WorkCapped || c.CompanyCapped)) seen["redistribute, a cap bites, nothing unassigned"]++;
                if (q.Unassigned > Tolerance) seen["redistribute, everyone capped, money left"]++;
            }
        }
        Assert.All(seen, kv => Assert.True(kv.Value >= 10, $"the random years reach '{kv.Key}' {kv.Value} times in 300: {string.Join(", ", seen)}"));
    }

    // ------------------------------------------------------------------ running a year

    private static (AllocationOutcome Outcome, V1.AllocationResult Result) Run(Year year) => Run(Items(year));

    private static (AllocationOutcome Outcome, V1.AllocationResult Result) Run(IEnumerable<V1.AllocateRequest> items)
    {
        var reader = new AllocationMapper.Reader(Repo.Catalog);
        foreach (var item in items) reader.Add(item);
        var outcome = Allocator.Run(reader.Build());
        // Every generated claim is admissible: the properties are about the money, not about exclusions.
        Assert.Empty(outcome.Exclusions);
        return (outcome, AllocationMapper.Result(AllocationMapper.Items(outcome)));
    }

    private static Dictionary<string, decimal> ExactAmounts(AllocationOutcome o) =>
        o.Works.SelectMany(w => w.Claims.Select(c => ($"work {w.Id} {c.CompanyId} {c.Role} {c.QuotaId}", c.Exact)))
            .Concat(o.Companies.SelectMany(c => c.Credits.Select(x => ($"credit {c.Id} {x.QuotaId}", x.Exact))))
            .ToDictionary(x => x.Item1, x => x.Item2);

    private static string Str(decimal d) => d.ToString(CultureInfo.InvariantCulture);

    internal static IEnumerable<V1.AllocateRequest> Items(Year year)
    {
        yield return new V1.AllocateRequest
        {
            Header = new V1.AllocationHeader
            {
                RuleSetId = "dm-2021", ApplicationYear = 2023, Budget = Str(year.Budget),
                ExcessPolicy = year.Redistribute ? V1.ExcessPolicy.Redistribute : V1.ExcessPolicy.Unassigned,
            },
        };
        foreach (var c in year.Companies)
            yield return new V1.AllocateRequest
            {
                Company = new V1.Company
                {
                    Id = c.Id, Name = "Società " + c.Id, AtecoCode = Ateco[c.Kind], Independent = true, EeaSeat = true, NetWorth = "1000000",
                },
            };
        foreach (var w in year.Works)
        {
            var work = new V1.AllocationWork
            {
                Work = new V1.Work
                {
                    Id = w.Id, Title = "Opera " + w.Id, Kind = w.Form == Form.Tv ? V1.WorkKind.TvWeb : V1.WorkKind.Cinema,
                    ShortFilm = w.Form == Form.Short,
                },
                Eligible = true,
            };
            work.GivenPoints.AddRange(w.Points.Select(p => new V1.GivenPoints { Role = p.Role, QuotaId = p.QuotaId, Points = Str(p.Points) }));
            yield return new V1.AllocateRequest { Work = work };
        }
        foreach (var w in year.Works)
        foreach (var c in w.Claims)
            yield return new V1.AllocateRequest
            {
                Claim = new V1.Claim
                {
                    CompanyId = c.CompanyId, WorkId = w.Id, Role = new V1.RoleInput { Role = c.Role }, RightsSharePercent = Str(c.SharePercent),
                },
            };
    }

    /// <summary>
    /// The year with one more claim worth no points: on a work, in a role nobody claims there (its points given as 0, or
    /// not given at all), by an existing company of that role or a new one; or, when a work has every role claimed, on a
    /// new work whose producer's points are 0.
    /// </summary>
    private static Year WithZeroPointsClaimant(Year year, int pick)
    {
        var work = year.Works[pick % year.Works.Count];
        var free = RolesOf(work.Form).Where(r => work.Claims.All(c => c.Role != r.Role)).ToList();
        var works = year.Works.ToList();
        V1.Role role;
        string quota;
        if (free.Count == 0)
        {
            (role, quota) = (V1.Role.Producer, "cinema.economic");
            work = new WorkCase("WZERO", Form.Cinema, [], []);
            works.Add(work);
        }
        else (role, quota) = (free[pick % free.Count].Role, free[pick % free.Count].Quotas[0]);
        var kind = KindOf[role];
        var companies = year.Companies.ToList();
        var ofKind = companies.Where(c => c.Kind == kind).ToList();
        string companyId;
        if (pick % 3 == 0 || ofKind.Count == 0)
        {
            companyId = "CZERO";
            companies.Add(new CompanyCase(companyId, kind));
        }
        else companyId = ofKind[pick % ofKind.Count].Id;
        var i = works.IndexOf(work);
        works[i] = work with
        {
            Points = pick % 2 == 0 ? [.. work.Points, new GivenPointsCase(role, quota, 0m)] : work.Points,
            Claims = [.. work.Claims, new ClaimCase(companyId, role, 100m)],
        };
        return year with { Companies = companies, Works = works };
    }

    // ------------------------------------------------------------------ the random years

    public enum Form { Cinema, Tv, Short }

    public enum CompanyKind { Producer, Distributor, Publisher }

    private static readonly Dictionary<CompanyKind, string> Ateco = new()
    {
        [CompanyKind.Producer] = "59.11", [CompanyKind.Distributor] = "59.13", [CompanyKind.Publisher] = "18.20",
    };

    private static readonly Dictionary<V1.Role, CompanyKind> KindOf = new()
    {
        [V1.Role.Producer] = CompanyKind.Producer, [V1.Role.TheatricalDistributor] = CompanyKind.Distributor,
        [V1.Role.InternationalDistributor] = CompanyKind.Distributor, [V1.Role.HomeEntertainmentPublisher] = CompanyKind.Publisher,
    };

    /// <summary>The roles a work of a form may have and the paying (sub-)quotas each may earn points in.</summary>
    private static IReadOnlyList<(V1.Role Role, string[] Quotas)> RolesOf(Form form) => form switch
    {
        // Short films compete only in the cinema cultural sub-quota (art. 3.3).
        Form.Short => [(V1.Role.Producer, ["cinema.cultural"])],
        Form.Tv => [(V1.Role.Producer, ["tv_web.economic", "tv_web.cultural", "animation"]),
            (V1.Role.InternationalDistributor, ["international"]), (V1.Role.HomeEntertainmentPublisher, ["home_entertainment"])],
        _ => [(V1.Role.Producer, ["cinema.economic", "cinema.cultural", "animation"]),
            (V1.Role.TheatricalDistributor, ["cinema.economic", "cinema.cultural", "animation"]),
            (V1.Role.InternationalDistributor, ["international"]), (V1.Role.HomeEntertainmentPublisher, ["home_entertainment"])],
    };

    public sealed record CompanyCase(string Id, CompanyKind Kind);

    public sealed record GivenPointsCase(V1.Role Role, string QuotaId, decimal Points);

    public sealed record ClaimCase(string CompanyId, V1.Role Role, decimal SharePercent);

    public sealed record WorkCase(string Id, Form Form, IReadOnlyList<GivenPointsCase> Points, IReadOnlyList<ClaimCase> Claims);

    /// <summary>A random year; its <see cref="ToString"/> is what FsCheck prints for a (shrunk) counterexample.</summary>
    public sealed record Year(decimal Budget, bool Redistribute, IReadOnlyList<CompanyCase> Companies, IReadOnlyList<WorkCase> Works)
    {
        public override string ToString()
        {
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"budget {Budget}, {(Redistribute ? "redistribute" : "unassigned")}; companies ");
            sb.AppendJoin(" ", Companies.Select(c => $"{c.Id}:{c.Kind}"));
            foreach (var w in Works)
            {
                sb.Append(CultureInfo.InvariantCulture, $"; {w.Id} {w.Form} points [");
                sb.AppendJoin(" ", w.Points.Select(p => FormattableString.Invariant($"{p.Role}/{p.QuotaId}={p.Points}")));
                sb.Append("] claims [");
                sb.AppendJoin(" ", w.Claims.Select(c => FormattableString.Invariant($"{c.CompanyId}/{c.Role}@{c.SharePercent}%")));
                sb.Append(']');
            }
            return sb.ToString();
        }
    }

    /// <summary>FsCheck's generator and shrinker of <see cref="Year"/>.</summary>
    public static class Years
    {
        public static Arbitrary<Year> Year() => Arb.From(Generator, Shrink);

        private static readonly decimal[][] Splits =
            [[100m], [100m], [60m], [70m, 30m], [50m, 50m], [45.5m, 20m], [33.33m, 33.33m, 33.34m]];

        /// <summary>Mostly small and ordinary, some zero, some blockbusters (so the caps bite), some with decimals.</summary>
        private static Gen<decimal> Points => Gen.Frequency(
            (1, Gen.Constant(0m)),
            (6, Gen.Choose(1, 100).Select(i => (decimal)i)),
            (4, Gen.Choose(1, 9_999_999).Select(i => i / 100m)),
            (2, Gen.Choose(1_000, 100_000).Select(i => (decimal)i)));

        /// <summary>Tiny (0.07: sub-quotas of a few cents), odd (1234567.891), round, and random to the tenth of a cent.</summary>
        private static Gen<decimal> Budget => Gen.Frequency(
            (2, Gen.Elements(0.07m, 1234567.891m, 0.01m, 1m, 3m, 100_000_000m, 123_456_789.01m)),
            (3, Gen.Choose(1, int.MaxValue).Select(i => i / 1000m)),
            (2, Gen.Choose(1, 100_000).Select(i => i * 1000m)));

        private static Gen<Year> Generator =>
            from budget in Budget
            from redistribute in Gen.Elements(false, true)
            from extra in Gen.ListOf(Gen.Elements(CompanyKind.Producer, CompanyKind.Producer, CompanyKind.Distributor, CompanyKind.Publisher)).Resize(6)
            let companies = new[] { CompanyKind.Producer, CompanyKind.Distributor, CompanyKind.Publisher }.Concat(extra)
                .Select((k, i) => new CompanyCase($"C{i + 1:D2}", k)).ToList()
            from count in Gen.Choose(1, 12)
            from works in Gen.CollectToList(Enumerable.Range(1, count), i => Work($"W{i:D2}", companies))
            select new Year(budget, redistribute, companies, works);

        private static Gen<WorkCase> Work(string id, List<CompanyCase> companies) =>
            from form in Gen.Frequency((6, Gen.Constant(Form.Cinema)), (2, Gen.Constant(Form.Tv)), (2, Gen.Constant(Form.Short)))
            from roles in Gen.SubListOf(RolesOf(form).ToArray()).Where(r => r.Count > 0).Resize(3)
            from parts in Gen.CollectToList(roles, r => Role(r.Role, r.Quotas, companies))
            select new WorkCase(id, form, [.. parts.SelectMany(p => p.Points)], [.. parts.SelectMany(p => p.Claims)]);

        private static Gen<(List<GivenPointsCase> Points, List<ClaimCase> Claims)> Role(V1.Role role, string[] quotas, List<CompanyCase> companies) =>
            from inQuotas in Gen.SubListOf(quotas).Where(q => q.Count > 0)
            from points in Gen.CollectToList(inQuotas, q => Points.Select(p => new GivenPointsCase(role, q, p)))
            from split in Gen.Elements(Splits)
            from claimants in Gen.Shuffle(companies.Where(c => c.Kind == KindOf[role]))
            select (points, claimants.Zip(split, (c, s) => new ClaimCase(c.Id, role, s)).ToList());

        /// <summary>Fewer works, fewer claims, fewer given points, rounder points and budget, the other policy.</summary>
        private static IEnumerable<Year> Shrink(Year y)
        {
            for (var i = 0; i < y.Works.Count && y.Works.Count > 1; i++)
                yield return Tidy(y with { Works = [.. y.Works.Where((_, j) => j != i)] });
            for (var i = 0; i < y.Works.Count; i++)
            {
                var w = y.Works[i];
                for (var c = 0; c < w.Claims.Count; c++)
                    yield return Tidy(y with { Works = Replace(y.Works, i, w with { Claims = [.. w.Claims.Where((_, j) => j != c)] }) });
                for (var p = 0; p < w.Points.Count; p++)
                {
                    yield return y with { Works = Replace(y.Works, i, w with { Points = [.. w.Points.Where((_, j) => j != p)] }) };
                    if (w.Points[p].Points != Math.Round(w.Points[p].Points))
                        yield return y with
                        {
                            Works = Replace(y.Works, i, w with { Points = Replace(w.Points, p, w.Points[p] with { Points = Math.Round(w.Points[p].Points) }) }),
                        };
                }
            }
            if (y.Budget != Math.Round(y.Budget) && Math.Round(y.Budget) > 0) yield return y with { Budget = Math.Round(y.Budget) };
            if (y.Redistribute) yield return y with { Redistribute = false };
        }

        /// <summary>Drops the companies that no longer claim anything (a company of each kind stays, for the zero-points property).</summary>
        private static Year Tidy(Year y)
        {
            var claiming = y.Works.SelectMany(w => w.Claims).Select(c => c.CompanyId).ToHashSet();
            return y with
            {
                Companies = [.. y.Companies.Where(c => claiming.Contains(c.Id) || y.Companies.First(k => k.Kind == c.Kind) == c)],
            };
        }

        private static IReadOnlyList<T> Replace<T>(IReadOnlyList<T> list, int i, T item) => [.. list.Select((x, j) => j == i ? item : x)];
    }
}
