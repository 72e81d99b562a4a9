using System.Globalization;
using ContributiAutomatici.Engine.Scoring;
using Google.Protobuf.Collections;
using M = ContributiAutomatici.Engine.Model;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Protocol;

/// <summary>One offending field of a request: its path in the message (proto field names) and why.</summary>
public sealed record FieldError(string Field, string Description)
{
    public override string ToString() => $"{Field}: {Description}";
}

/// <summary>The request names a rule set or year that no loaded rule set covers.</summary>
public sealed class RuleSetNotFoundException(string message) : Exception(message);

/// <summary>The request is malformed; every offending field is listed.</summary>
public sealed class InvalidRequestException(IReadOnlyList<FieldError> errors)
    : Exception("invalid request: " + string.Join("; ", errors.Take(5)) + (errors.Count > 5 ? $"; and {errors.Count - 5} more" : ""))
{
    public IReadOnlyList<FieldError> Errors { get; } = errors;
}

/// <summary>A validated scoring request in the engine's terms.</summary>
public sealed record ScoringRequest(CompiledRuleSet RuleSet, M.Work Work, IReadOnlyList<M.RoleInput> Roles, ScoreOptions Options);

/// <summary>
/// Maps <see cref="V1.ScoreWorkRequest"/> onto the engine's model, checking every field on the way and
/// collecting every problem (not only the first), so one INVALID_ARGUMENT names them all.
/// </summary>
public static class RequestMapper
{
    public static ScoringRequest Map(V1.ScoreWorkRequest request, RuleCatalog catalog)
    {
        var ruleSet = Resolve(request, catalog);
        var errors = new List<FieldError>();
        var work = MapWork(request.Work, ruleSet, errors);
        var roles = MapRoles(request.Roles, ruleSet, errors);
        if (errors.Count > 0) throw new InvalidRequestException(errors);
        return new ScoringRequest(ruleSet, work!, roles,
            request.TotalsOnly
                ? ScoreOptions.TotalsOnly
                : new ScoreOptions { Explain = true, IncludeNotApplied = request.IncludeNotApplied });
    }

    public static CompiledRuleSet Resolve(V1.ScoreWorkRequest request, RuleCatalog catalog)
    {
        if (request.RuleSetId.Length > 0)
        {
            var rs = catalog.Find(request.RuleSetId) ?? throw new RuleSetNotFoundException(
                $"rule set '{request.RuleSetId}' is not loaded (loaded: {string.Join(", ", catalog.RuleSets.Select(r => r.Id))})");
            var d = rs.Definition;
            if (request.ApplicationYear != 0 &&
                (request.ApplicationYear < d.ApplicationYearFrom || d.ApplicationYearTo is { } to && request.ApplicationYear > to))
                throw new InvalidRequestException([new FieldError("application_year",
                    $"rule set {rs.Id} covers application years {d.ApplicationYearFrom}-{d.ApplicationYearTo?.ToString(CultureInfo.InvariantCulture) ?? ""}, not {request.ApplicationYear}")]);
            return rs;
        }
        if (request.ApplicationYear == 0)
            throw new InvalidRequestException([new FieldError("rule_set_id", "give rule_set_id or application_year")]);
        return catalog.ForApplicationYear(request.ApplicationYear) ?? throw new RuleSetNotFoundException(
            $"no decree version in force for application year {request.ApplicationYear}");
    }

    private static List<M.RoleInput> MapRoles(RepeatedField<V1.RoleInput> roles, CompiledRuleSet ruleSet, List<FieldError> errors)
    {
        var result = new List<M.RoleInput>();
        if (roles.Count == 0) errors.Add(new FieldError("roles", "at least one role to score"));
        if (!RequestLimits.CheckCount(roles, "roles", errors, RequestLimits.MaxRoles)) return result;
        var scored = ruleSet.Roles;
        for (var i = 0; i < roles.Count; i++)
        {
            var r = roles[i];
            var path = $"roles[{i}]";
            if (r.Role == V1.Role.Unspecified || !Enum.IsDefined(r.Role))
            {
                errors.Add(new FieldError($"{path}.role", "role is required"));
                continue;
            }
            var role = (M.Role)(int)r.Role;
            if (result.Any(x => x.Role == role)) errors.Add(new FieldError($"{path}.role", $"{r.Role} is asked twice"));
            else if (!scored.Contains(role)) errors.Add(new FieldError($"{path}.role", $"rule set {ruleSet.Id} has no {r.Role} column"));
            result.Add(new M.RoleInput(role, Date(r.ContractSignedOn, $"{path}.contract_signed_on", errors),
                Amount(r.DistributionCost, $"{path}.distribution_cost", errors)));
        }
        return result;
    }

    private static M.Work? MapWork(V1.Work? w, CompiledRuleSet ruleSet, List<FieldError> errors)
    {
        var lists = ruleSet.Lists;
        var admissible = ruleSet.Definition.AdmissibleResultsFrom;
        if (w is null)
        {
            errors.Add(new FieldError("work", "work is required"));
            return null;
        }
        RequestLimits.CheckLength(w.Id, "work.id", errors);
        RequestLimits.CheckLength(w.Title, "work.title", errors, RequestLimits.MaxTitleLength);
        if (w.Kind == V1.WorkKind.Unspecified || !Enum.IsDefined(w.Kind)) errors.Add(new FieldError("work.kind", "kind is required (WORK_KIND_CINEMA or WORK_KIND_TV_WEB)"));
        var share = Decimal(w.ItalianSharePercent, "work.italian_share_percent", errors);
        if (share is < 0 or > 100) errors.Add(new FieldError("work.italian_share_percent", $"a share is 0-100%, got {share}"));
        var duration = Amount(w.DurationMinutes, "work.duration_minutes", errors);
        var phases = new List<M.ProcessingPhase>();
        for (var i = 0; i < w.ItalianPhases.Count; i++)
        {
            var p = w.ItalianPhases[i];
            if (p == V1.ProcessingPhase.Unspecified || !Enum.IsDefined(p)) errors.Add(new FieldError($"work.italian_phases[{i}]", "unknown phase"));
            else if (phases.Contains((M.ProcessingPhase)(int)p)) errors.Add(new FieldError($"work.italian_phases[{i}]", $"{p} is listed twice"));
            else phases.Add((M.ProcessingPhase)(int)p);
        }

        return new M.Work
        {
            Id = w.Id,
            Title = w.Title,
            Kind = w.Kind == V1.WorkKind.TvWeb ? M.WorkKind.TvWeb : M.WorkKind.Cinema,
            Animation = w.Animation,
            ShortFilm = w.ShortFilm,
            Documentary = w.Documentary,
            FirstOrSecondWork = w.FirstOrSecondWork,
            YoungAuthors = w.YoungAuthors,
            ResearchAndTraining = w.ResearchAndTraining,
            ProductionCost = Amount(w.ProductionCost, "work.production_cost", errors),
            DurationMinutes = duration,
            AverageHourlyCostGiven = Amount(w.AverageHourlyCost, "work.average_hourly_cost", errors),
            FirstReleaseDate = Date(w.FirstReleaseDate, "work.first_release_date", errors),
            FirstBroadcastStart = Time(w.FirstBroadcastStart, "work.first_broadcast_start", errors),
            BoxOffice = Results(w.BoxOffice, "work.box_office", errors, (e, p) => new M.DatedAmount(
                ResultDate(e.Date, p, admissible, errors), Amount(e.Amount, p + ".amount", errors, required: true) ?? 0)),
            MediaSales = Results(w.MediaSales, "work.media_sales", errors, (e, p) => new M.MediaSale(
                ResultDate(e.Date, p, admissible, errors), Amount(e.Amount, p + ".amount", errors, required: true) ?? 0, e.TheatricalDerogation)),
            ForeignSales = Results(w.ForeignSales, "work.foreign_sales", errors, (e, p) =>
            {
                if (e.Country.Length != 2 || !e.Country.All(char.IsAsciiLetter))
                    errors.Add(new FieldError(p + ".country", $"an ISO 3166-1 alpha-2 country code, got '{e.Country}'"));
                return new M.ForeignSale(ResultDate(e.Date, p, admissible, errors), Amount(e.Amount, p + ".amount", errors, required: true) ?? 0, e.Country.ToUpperInvariant());
            }),
            HomeEntertainmentSales = Results(w.HomeEntertainmentSales, "work.home_entertainment_sales", errors, (e, p) => new M.DatedAmount(
                ResultDate(e.Date, p, admissible, errors), Amount(e.Amount, p + ".amount", errors, required: true) ?? 0)),
            Essai = w.Essai,
            SelectiveContributions = w.SelectiveContributions,
            Coproduction = (M.CoproductionKind)(int)w.Coproduction,
            ItalianSharePercent = share,
            FemaleMajorityAuthors = w.FemaleMajorityAuthors,
            FemaleDirector = w.FemaleDirector,
            FemaleHeadsOfDepartment = w.FemaleHeadsOfDepartment,
            SupranationalFunding = w.SupranationalFunding,
            BilateralFund = w.BilateralFund,
            ItalianComposers = w.ItalianComposers,
            ItalianLiterarySource = w.ItalianLiterarySource,
            ItalianGraphicAuthor = w.ItalianGraphicAuthor,
            PayTv = w.PayTv,
            Svod = w.Svod,
            ItalianPhases = phases,
            IndependentCreativeRights = w.IndependentCreativeRights,
            Festivals = Results(w.Festivals, "work.festivals", errors, (f, p) =>
            {
                if (!lists.Contains("festivals", f.FestivalId))
                    errors.Add(new FieldError(p + ".festival_id", $"'{f.FestivalId}' is not a Tabella 6 festival"));
                if (f.Section == V1.FestivalSection.Unspecified || !Enum.IsDefined(f.Section))
                    errors.Add(new FieldError(p + ".section", "section is required (competition or official out of competition)"));
                if (f.OtherPrizes is < 0 or > RequestLimits.MaxOtherPrizes)
                    errors.Add(new FieldError(p + ".other_prizes", $"must be 0-{RequestLimits.MaxOtherPrizes}, got {f.OtherPrizes}"));
                return new M.FestivalEntry(f.FestivalId, (M.FestivalSection)(int)f.Section,
                    Date(f.SelectionDate, p + ".selection_date", errors), f.BestFilmPrize, f.OtherPrizes);
            }),
            Prizes = Results(w.Prizes, "work.prizes", errors, (x, p) =>
            {
                if (!lists.Contains("prizes", x.PrizeId))
                    errors.Add(new FieldError(p + ".prize_id", $"'{x.PrizeId}' is not a Tabella 7 prize"));
                if (x.Category == V1.PrizeCategory.Unspecified || !Enum.IsDefined(x.Category))
                    errors.Add(new FieldError(p + ".category", "category is required (best film or artistic)"));
                if (x.Outcome == V1.PrizeOutcome.Unspecified || !Enum.IsDefined(x.Outcome))
                    errors.Add(new FieldError(p + ".outcome", "outcome is required (nomination or win)"));
                return new M.PrizeEntry(x.PrizeId, (M.PrizeCategory)(int)x.Category, (M.PrizeOutcome)(int)x.Outcome,
                    Date(x.SelectionDate, p + ".selection_date", errors));
            }),
            Markets = Results(w.Markets, "work.markets", errors, (x, p) =>
            {
                if (!lists.Contains("markets", x.MarketId))
                    errors.Add(new FieldError(p + ".market_id", $"'{x.MarketId}' is not a Tabella 8 market or lab"));
                return new M.MarketEntry(x.MarketId, Date(x.SelectionDate, p + ".selection_date", errors));
            }),
        };
    }

    private static List<TOut> Results<TIn, TOut>(RepeatedField<TIn> items, string path, List<FieldError> errors,
        Func<TIn, string, TOut> map)
    {
        var list = new List<TOut>(items.Count);
        if (!RequestLimits.CheckCount(items, path, errors)) return list;
        for (var i = 0; i < items.Count; i++) list.Add(map(items[i], $"{path}[{i}]"));
        return list;
    }

    /// <summary>A result's date: required, valid, and not before the rule set's admissible_results_from (DM 2021: art. 5.2).</summary>
    private static DateOnly ResultDate(Google.Type.Date? d, string path, DateOnly? admissible, List<FieldError> errors)
    {
        if (d is null)
        {
            errors.Add(new FieldError(path + ".date", "a result needs its date"));
            return default;
        }
        var date = Date(d, path + ".date", errors) ?? default;
        if (admissible is { } from && date != default && date < from)
            errors.Add(new FieldError(path + ".date",
                $"{date:yyyy-MM-dd} is before {from:yyyy-MM-dd}: results before then are inadmissible (admissible_results_from of the rule set; DM 2021 art. 5.2)"));
        return date;
    }

    private static DateOnly? Date(Google.Type.Date? d, string path, List<FieldError> errors)
    {
        if (d is null) return null;
        try { return new DateOnly(d.Year, d.Month, d.Day); }
        catch (ArgumentOutOfRangeException)
        {
            errors.Add(new FieldError(path, $"not a calendar date: {d.Year:D4}-{d.Month:D2}-{d.Day:D2}"));
            return null;
        }
    }

    private static TimeOnly? Time(Google.Type.TimeOfDay? t, string path, List<FieldError> errors)
    {
        if (t is null) return null;
        if (t.Hours is < 0 or > 23 || t.Minutes is < 0 or > 59 || t.Seconds is < 0 or > 59)
        {
            errors.Add(new FieldError(path, $"not a time of day: {t.Hours}:{t.Minutes}:{t.Seconds}"));
            return null;
        }
        return new TimeOnly(t.Hours, t.Minutes, t.Seconds);
    }

    /// <summary>A decimal string ("1234.56"), invariant culture, no thousands separators.</summary>
    private static decimal? Decimal(string s, string path, List<FieldError> errors)
    {
        if (s.Length == 0) return null;
        if (decimal.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var d))
        {
            RequestLimits.CheckNumber(d, path, errors);
            return d;
        }
        errors.Add(new FieldError(path, $"not a decimal number: '{s}' (write e.g. \"1234.56\")"));
        return null;
    }

    /// <summary>A non-negative amount.</summary>
    private static decimal? Amount(string s, string path, List<FieldError> errors, bool required = false)
    {
        if (s.Length == 0)
        {
            if (required) errors.Add(new FieldError(path, "amount is required"));
            return null;
        }
        var d = Decimal(s, path, errors);
        if (d < 0) errors.Add(new FieldError(path, $"must be >= 0, got {s}"));
        return d;
    }
}
