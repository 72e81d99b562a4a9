using System.Globalization;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Scoring;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Protocol;

/// <summary>
/// Regression runs: a work or a year under two sides (versions, overlays on or off). Built on the scoring and the
/// allocation as they are, so a comparison says exactly what each side would answer alone.
/// </summary>
public static class Comparisons
{
    private static string Dec(decimal d) => AllocationMapper.Dec(d);

    /// <summary>Euro to the cent, as a report shows them (so the parts it shows add up to the difference it shows).</summary>
    private static decimal Cents(decimal d) => Math.Round(d, 2, MidpointRounding.AwayFromZero);

    /// <summary>The compiled rule set of a side.</summary>
    public static CompiledRuleSet Resolve(V1.RuleSetRef? side, RuleCatalog catalog, string path)
    {
        side ??= new V1.RuleSetRef();
        return RequestMapper.Resolve(Request(side), catalog, path + ".");
    }

    private static V1.ScoreWorkRequest Request(V1.RuleSetRef side)
    {
        var r = new V1.ScoreWorkRequest { RuleSetId = side.RuleSetId, WithOverlays = { side.WithOverlays }, WithoutOverlays = { side.WithoutOverlays }, Reform = side.Reform };
        if (side.HasApplicationYear) r.ApplicationYear = side.ApplicationYear;
        return r;
    }

    /// <summary>A rule-set diff between two sides.</summary>
    public static V1.DiffRuleSetsResponse Diff(V1.DiffRuleSetsRequest request, RuleCatalog catalog) =>
        RuleSetDiff.Compare(Resolve(request.A, catalog, "a").Definition, Resolve(request.B, catalog, "b").Definition);

    /// <summary>
    /// One work under both sides: per role the points per quota, and the rows that differ. Side b is read from
    /// <paramref name="catalogB"/> when given (another rules folder: an edit against the rules in force).
    /// </summary>
    public static V1.WorkComparison CompareWork(V1.CompareWorksRequest request, RuleCatalog catalog, RuleCatalog? catalogB = null)
    {
        var errors = new List<FieldError>();
        (ScoreResult Result, CompiledRuleSet RuleSet)? Score(V1.RuleSetRef? side, string name)
        {
            var r = Request(side ?? new V1.RuleSetRef());
            r.Work = request.Work;
            r.Roles.AddRange(request.Roles);
            try
            {
                var mapped = RequestMapper.Map(r, name == "b" ? catalogB ?? catalog : catalog);
                return (mapped.RuleSet.Score(mapped.Work, mapped.Roles, ScoreOptions.Default), mapped.RuleSet);
            }
            catch (InvalidRequestException ex)
            {
                // The same field may be wrong for one side only (a festival one version does not list): say which.
                errors.AddRange(ex.Errors.Select(e => e with { Description = $"(side {name}) {e.Description}" }));
                return null;
            }
        }
        var sa = Score(request.A, "a");
        var sb = Score(request.B, "b");
        if (errors.Count > 0) throw new InvalidRequestException(errors.DistinctBy(e => e.ToString()).ToList());
        var (a, b) = (sa!.Value.Result, sb!.Value.Result);
        var result = new V1.WorkComparison
        {
            WorkId = request.Work?.Id ?? "", A = sa.Value.RuleSet.Id, B = sb.Value.RuleSet.Id, AIncomplete = a.Incomplete, BIncomplete = b.Incomplete,
            AReform = ReformMapper.Applied(sa.Value.RuleSet, catalog), BReform = ReformMapper.Applied(sb.Value.RuleSet, catalogB ?? catalog),
            AProvisionalRows = { a.Roles.SelectMany(r => r.ProvisionalRows).Distinct() },
            BProvisionalRows = { b.Roles.SelectMany(r => r.ProvisionalRows).Distinct() },
        };
        foreach (var roleA in a.Roles)
        {
            var roleB = b.For(roleA.Role)!;
            var rc = new V1.RoleComparison
            {
                Role = (V1.Role)(int)roleA.Role, ATotal = Dec(roleA.TotalPoints), BTotal = Dec(roleB.TotalPoints),
                Difference = Dec(roleB.TotalPoints - roleA.TotalPoints),
            };
            var qa = roleA.Quotas.ToDictionary(q => q.QuotaId, q => q.Points);
            var qb = roleB.Quotas.ToDictionary(q => q.QuotaId, q => q.Points);
            foreach (var q in qa.Keys.Union(qb.Keys).Order(StringComparer.Ordinal))
                rc.Quotas.Add(new V1.QuotaComparison
                {
                    QuotaId = q, APoints = Dec(qa.GetValueOrDefault(q)), BPoints = Dec(qb.GetValueOrDefault(q)),
                    Difference = Dec(qb.GetValueOrDefault(q) - qa.GetValueOrDefault(q)),
                });
            var la = roleA.Quotas.SelectMany(q => q.Lines).ToDictionary(l => l.RowId);
            var lb = roleB.Quotas.SelectMany(q => q.Lines).ToDictionary(l => l.RowId);
            foreach (var id in la.Keys.Union(lb.Keys).Order(StringComparer.Ordinal))
            {
                la.TryGetValue(id, out var x);
                lb.TryGetValue(id, out var y);
                if (x is not null && y is not null && x.Points == y.Points) continue;
                var line = (y ?? x)!;
                rc.Rows.Add(new V1.RowComparison
                {
                    RowId = id, Label = line.Label, Citation = line.Citation,
                    APoints = x is null ? "" : Dec(x.Points), BPoints = y is null ? "" : Dec(y.Points),
                    Difference = Dec((y?.Points ?? 0) - (x?.Points ?? 0)),
                });
            }
            result.Roles.Add(rc);
        }
        return result;
    }

    /// <summary>Collects a year to allocate under two sides (side b from <paramref name="catalogB"/> when given: another rules folder).</summary>
    public sealed class YearReader(RuleCatalog catalog, RuleCatalog? catalogB = null)
    {
        private readonly List<V1.AllocateRequest> _rest = [];
        private V1.CompareSides? _sides;
        private readonly List<FieldError> _errors = [];
        private int _index;

        public void Add(V1.CompareAllocationsRequest item)
        {
            var path = $"items[{_index++}]";
            switch (item.ItemCase)
            {
                case V1.CompareAllocationsRequest.ItemOneofCase.Sides:
                    if (_sides is not null || _index != 1) _errors.Add(new FieldError($"{path}.sides", "the sides come once, as the first item"));
                    else _sides = item.Sides;
                    break;
                case V1.CompareAllocationsRequest.ItemOneofCase.Company: _rest.Add(new V1.AllocateRequest { Company = item.Company }); break;
                case V1.CompareAllocationsRequest.ItemOneofCase.Work: _rest.Add(new V1.AllocateRequest { Work = item.Work }); break;
                case V1.CompareAllocationsRequest.ItemOneofCase.Claim: _rest.Add(new V1.AllocateRequest { Claim = item.Claim }); break;
                default: _errors.Add(new FieldError(path, "an item is the sides, a company, a work or a claim")); break;
            }
        }

        /// <summary>Both sides allocated, and compared.</summary>
        public V1.CompareAllocationsResponse Compare()
        {
            if (_sides is null) _errors.Add(new FieldError("items[0].sides", "the first item must be the sides (a header for a, one for b)"));
            if (_errors.Count > 0) throw new InvalidRequestException(_errors);
            var a = _sides!.A ?? new V1.AllocationHeader();
            var b = (_sides.B ?? new V1.AllocationHeader()).Clone();
            if (b.Budget.Length == 0) b.Budget = a.Budget;
            if (!b.HasApplicationYear && a.HasApplicationYear) b.ApplicationYear = a.ApplicationYear;
            var sideA = Allocate(a, "a");
            var sideB = Allocate(b, "b");
            if (_sides.KeepPointValues && KeepingBudget(sideA.Outcome, sideB.Outcome) is { } budget)
            {
                b.Budget = Dec(budget);
                sideB = Allocate(b, "b");
            }
            return Allocations(sideA, sideB, _sides.Top > 0 ? _sides.Top : 10);
        }

        private (AllocationOutcome Outcome, AllocationInput Input) Allocate(V1.AllocationHeader header, string side)
        {
            var reader = new AllocationMapper.Reader(side == "b" ? catalogB ?? catalog : catalog, anyYear: true);
            reader.Add(new V1.AllocateRequest { Header = header });
            foreach (var item in _rest) reader.Add(item);
            try
            {
                var input = reader.Build();
                return (Allocator.Run(input), input);
            }
            catch (InvalidRequestException ex)
            {
                throw new InvalidRequestException(ex.Errors.Select(e => e with
                {
                    Field = e.Field.StartsWith("items[0].header", StringComparison.Ordinal) ? $"items[0].sides.{side}" + e.Field["items[0].header".Length..] : e.Field,
                    Description = $"(side {side}) {e.Description}",
                }).ToList());
            }
        }
    }

    /// <summary>
    /// The budget at which every paying quota of <paramref name="b"/> has at least <paramref name="a"/>'s point value, at b's
    /// shares: each quota needs a's EUR per point times b's points, that is a budget of need / (b's resources / b's budget);
    /// the largest of those, rounded up to the euro. Null when no quota of b pays.
    /// </summary>
    public static decimal? KeepingBudget(AllocationOutcome a, AllocationOutcome b)
    {
        var lawValues = a.Quotas.Where(q => q.Pays && q.TotalPoints > 0).ToDictionary(q => q.Quota.Id, q => q.PointValue, StringComparer.Ordinal);
        decimal? budget = null;
        foreach (var q in b.Quotas.Where(q => q.Pays && q.TotalPoints > 0 && q.Resources > 0 && lawValues.ContainsKey(q.Quota.Id)))
        {
            var needed = lawValues[q.Quota.Id] * q.TotalPoints / (q.Resources / b.Budget);
            if (budget is null || needed > budget) budget = needed;
        }
        return budget is { } x ? Math.Ceiling(x) : null;
    }

    private static V1.CompareAllocationsResponse Allocations((AllocationOutcome O, AllocationInput I) a, (AllocationOutcome O, AllocationInput I) b, int top)
    {
        var r = new V1.CompareAllocationsResponse
        {
            A = AllocationMapper.Summary(a.O), B = AllocationMapper.Summary(b.O),
            AAllocated = Dec(a.O.Allocated), BAllocated = Dec(b.O.Allocated),
        };
        var qa = a.O.Quotas.ToDictionary(q => q.Quota.Id, StringComparer.Ordinal);
        var qb = b.O.Quotas.ToDictionary(q => q.Quota.Id, StringComparer.Ordinal);
        foreach (var id in a.O.Quotas.Select(q => q.Quota.Id).Concat(b.O.Quotas.Select(q => q.Quota.Id)).Distinct())
        {
            qa.TryGetValue(id, out var x);
            qb.TryGetValue(id, out var y);
            r.Quotas.Add(new V1.QuotaMoney
            {
                QuotaId = id,
                AResources = x is null ? "" : Dec(x.Resources), BResources = y is null ? "" : Dec(y.Resources),
                ASharePercent = x is null ? "" : Dec(x.Resources * 100m / a.O.Budget), BSharePercent = y is null ? "" : Dec(y.Resources * 100m / b.O.Budget),
                APoints = x is { Pays: true } ? Dec(x.TotalPoints) : "", BPoints = y is { Pays: true } ? Dec(y.TotalPoints) : "",
                APointValue = x is { Pays: true } ? AllocationMapper.Dec(x.PointValue, AllocationMapper.PointValueScale) : "",
                BPointValue = y is { Pays: true } ? AllocationMapper.Dec(y.PointValue, AllocationMapper.PointValueScale) : "",
                AAllocated = x is { Pays: true } ? Dec(x.Allocated) : "", BAllocated = y is { Pays: true } ? Dec(y.Allocated) : "",
            });
        }
        var ca = a.O.Companies.ToDictionary(c => c.Id, StringComparer.Ordinal);
        var cb = b.O.Companies.ToDictionary(c => c.Id, StringComparer.Ordinal);
        var money = ca.Keys.Union(cb.Keys).Order(StringComparer.Ordinal).Select(id =>
        {
            var x = ca.GetValueOrDefault(id)?.Total ?? 0;
            var y = cb.GetValueOrDefault(id)?.Total ?? 0;
            return (Id: id, Name: (ca.GetValueOrDefault(id) ?? cb[id]).Name, A: x, B: y, D: y - x);
        }).ToList();
        V1.CompanyMoney M((string Id, string Name, decimal A, decimal B, decimal D) c) =>
            new() { CompanyId = c.Id, Name = c.Name, AAmount = Dec(c.A), BAmount = Dec(c.B), Difference = Dec(c.D) };
        r.Companies.AddRange(money.Select(M));
        r.Gainers.AddRange(money.Where(c => c.D > 0).OrderByDescending(c => c.D).ThenBy(c => c.Id, StringComparer.Ordinal).Take(top).Select(M));
        r.Losers.AddRange(money.Where(c => c.D < 0).OrderBy(c => c.D).ThenBy(c => c.Id, StringComparer.Ordinal).Take(top).Select(M));

        // The rows that explain it: each side's points per row over the year's claims (scored works, rights shares applied).
        var rowsA = RowPoints(a.I);
        var rowsB = RowPoints(b.I);
        r.Rows.AddRange(rowsA.Keys.Union(rowsB.Keys)
            .Select(id =>
            {
                var x = rowsA.GetValueOrDefault(id);
                var y = rowsB.GetValueOrDefault(id);
                var line = y.Line ?? x.Line!;
                // Each side's points at that side's point value of the row's quota: the row's nominal share of the quota's money.
                var ea = x.Points * (qa.GetValueOrDefault(line.QuotaId) is { Pays: true } u ? u.PointValue : 0m);
                var eb = y.Points * (qb.GetValueOrDefault(line.QuotaId) is { Pays: true } v ? v.PointValue : 0m);
                return (Id: id, Line: line, A: x.Points, B: y.Points, EA: ea, EB: eb);
            })
            .Where(x => x.A != x.B)
            .OrderByDescending(x => Math.Abs(x.B - x.A)).ThenBy(x => x.Id, StringComparer.Ordinal)
            .Select(x => new V1.RowPoints
            {
                RowId = x.Id, Label = x.Line.Label, Citation = x.Line.Citation, APoints = Dec(x.A), BPoints = Dec(x.B), Difference = Dec(x.B - x.A),
                QuotaId = x.Line.QuotaId, AEur = Dec(Cents(x.EA)), BEur = Dec(Cents(x.EB)), EurDifference = Dec(Cents(x.EB) - Cents(x.EA)),
            }));
        return r;
    }

    /// <summary>Points per row over the year: every claim on a work scored here, times its rights share.</summary>
    private static Dictionary<string, (ScoreLine? Line, decimal Points)> RowPoints(AllocationInput input)
    {
        var works = input.Works.Where(w => w.Given is null).ToDictionary(w => w.Work.Id, StringComparer.Ordinal);
        var rows = new Dictionary<string, (ScoreLine? Line, decimal Points)>(StringComparer.Ordinal);
        foreach (var c in input.Claims.OrderBy(c => c.CompanyId, StringComparer.Ordinal).ThenBy(c => c.WorkId, StringComparer.Ordinal).ThenBy(c => c.Role.Role))
        {
            if (!works.TryGetValue(c.WorkId, out var w)) continue;
            var score = input.RuleSet.Score(w.Work, [c.Role], ScoreOptions.Default).Roles[0];
            foreach (var line in score.Quotas.SelectMany(q => q.Lines))
            {
                var (l, p) = rows.GetValueOrDefault(line.RowId);
                rows[line.RowId] = (l ?? line, p + line.Points * c.SharePercent / 100m);
            }
        }
        return rows;
    }
}
