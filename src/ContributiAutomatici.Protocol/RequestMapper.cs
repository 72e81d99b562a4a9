using System.Globalization;
using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Loading;
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

/// <summary>
/// A validated scoring request in the engine's terms: the work and roles with the results that count, and those the engine
/// keeps out (<see cref="CompiledRuleSet.Admit"/>: art. 5.2, 5.10) with their articles. One mapped into a
/// <see cref="RequestScratch"/> is that scratch's, valid until the next request is mapped into it.
/// </summary>
public sealed record ScoringRequest(CompiledRuleSet RuleSet, M.Work Work, IReadOnlyList<M.RoleInput> Roles, ScoreOptions Options,
    IReadOnlyList<Exclusion> Excluded)
{
    // Backing fields of their own, so that a scratch's request is made again (Refill) rather than allocated per request.
    private CompiledRuleSet _ruleSet = RuleSet;
    private M.Work _work = Work;
    private IReadOnlyList<M.RoleInput> _roles = Roles;
    private ScoreOptions _options = Options;
    private IReadOnlyList<Exclusion> _excluded = Excluded;
    private ReformSource? _reformSource;

    public CompiledRuleSet RuleSet { get => _ruleSet; init => _ruleSet = value; }

    public M.Work Work { get => _work; init => _work = value; }

    public IReadOnlyList<M.RoleInput> Roles { get => _roles; init => _roles = value; }

    public ScoreOptions Options { get => _options; init => _options = value; }

    public IReadOnlyList<Exclusion> Excluded { get => _excluded; init => _excluded = value; }

    /// <summary>How the request's reform was had (compiled now, taken from the reforms kept, ...); null without one.</summary>
    public ReformSource? ReformSource { get => _reformSource; init => _reformSource = value; }

    internal ScoringRequest Refill(CompiledRuleSet ruleSet, M.Work work, IReadOnlyList<M.RoleInput> roles, ScoreOptions options,
        IReadOnlyList<Exclusion> excluded, ReformSource? reformSource)
    {
        (_ruleSet, _work, _roles, _options, _excluded, _reformSource) = (ruleSet, work, roles, options, excluded, reformSource);
        return this;
    }
}

/// <summary>
/// What mapping one work (and its claimants) needs: the rule set (its lists) and where malformed fields go (<see cref="Errors"/>).
/// Which dated results count is the engine's call (<see cref="ResultAdmission"/>), not the mapping's: every result is mapped.
/// </summary>
public sealed record MapContext(CompiledRuleSet RuleSet, List<FieldError> Errors)
{
    private CompiledRuleSet _ruleSet = RuleSet;
    private bool _ruleSetKnown = true;

    public CompiledRuleSet RuleSet { get => _ruleSet; init => _ruleSet = value; }

    /// <summary>False while the request's rule-set selection is itself wrong: checks that depend on the version wait.</summary>
    public bool RuleSetKnown { get => _ruleSetKnown; init => _ruleSetKnown = value; }

    /// <summary>Where the mapping takes its instances from (a request's mapping into a scratch); null: it makes them.</summary>
    internal RequestScratch? Scratch { get; init; }

    /// <summary>A scratch's context, for its next request.</summary>
    internal MapContext Rebind(CompiledRuleSet ruleSet, bool ruleSetKnown)
    {
        (_ruleSet, _ruleSetKnown) = (ruleSet, ruleSetKnown);
        return this;
    }
}

/// <summary>
/// Maps <see cref="V1.ScoreWorkRequest"/> onto the engine's model, checking every field on the way and
/// collecting every problem (not only the first), so one INVALID_ARGUMENT names them all.
/// </summary>
public static class RequestMapper
{
    public static ScoringRequest Map(V1.ScoreWorkRequest request, RuleCatalog catalog) => Map(request, catalog, null);

    /// <summary>
    /// <paramref name="request"/> in the engine's terms, checked whole: every wrong field is named in one
    /// <see cref="InvalidRequestException"/>. With a <paramref name="scratch"/>, what the mapping makes is the scratch's own
    /// instances made again (nothing allocated once it has seen a request as large), valid until the next request mapped into it.
    /// </summary>
    public static ScoringRequest Map(V1.ScoreWorkRequest request, RuleCatalog catalog, RequestScratch? scratch)
    {
        scratch?.Reset();
        // The request is checked whole: a wrong rule-set selection is reported with every other wrong field. The rest
        // is then read against a stand-in version for its shape only (the checks that depend on the version, list ids
        // and role columns, wait for a right selection).
        CompiledRuleSet ruleSet;
        var selection = scratch?.Errors ?? [];
        ReformSource? reform = null;
        try
        {
            ruleSet = Resolve(request, catalog, out reform);
        }
        catch (InvalidRequestException ex) when (catalog.Versions.LastOrDefault() is { } standIn)
        {
            selection.AddRange(ex.Errors);
            ruleSet = standIn;
        }
        var ctx = scratch?.Context.Rebind(ruleSet, selection.Count == 0) ?? new MapContext(ruleSet, selection) { RuleSetKnown = selection.Count == 0 };
        var work = MapWork(request.Work, new FieldPath("work"), ctx);
        var roles = MapRoles(request.Roles, ctx);
        // A scratch's errors are its own, emptied for its next request: the exception keeps a copy.
        if (ctx.Errors.Count > 0) throw new InvalidRequestException(scratch is null ? ctx.Errors : [.. ctx.Errors]);
        // The results the decree keeps out, with their articles: the engine's call (it scores the same).
        var excluded = scratch?.Excluded ?? [];
        var (admitted, admittedRoles) = ruleSet.Admit(work!, roles, excluded);
        var options = AsksTotals(request)
            ? ScoreOptions.TotalsOnly
            : new ScoreOptions { Explain = true, IncludeNotApplied = request.IncludeNotApplied };
        return scratch?.Request.Refill(ruleSet, admitted, admittedRoles, options, excluded, reform) ??
               new ScoringRequest(ruleSet, admitted, admittedRoles, options, excluded) { ReformSource = reform };
    }

    /// <summary>Whether <paramref name="request"/> asks no explanation: its answer is the totals alone (<see cref="ResponseMapper.AsksTotals"/> of its mapping).</summary>
    public static bool AsksTotals(V1.ScoreWorkRequest request) => request.TotalsOnly;

    /// <summary>The rule set a request names, or the version in force for its application year.</summary>
    /// <param name="prefix">Where the rule_set_id and application_year fields sit in the caller's message.</param>
    /// <param name="anyYear">A what-if (a regression run): the version named scores the year even if it does not govern it.</param>
    public static CompiledRuleSet Resolve(V1.ScoreWorkRequest request, RuleCatalog catalog, string prefix = "", bool anyYear = false) =>
        Resolve(request, catalog, out _, prefix, anyYear);

    /// <summary>
    /// As <see cref="Resolve(V1.ScoreWorkRequest, RuleCatalog, string, bool)"/>, with the request's reform applied on top (its
    /// base is the rule set the request selects, or the one the reform names when the request names none; both: the same).
    /// </summary>
    public static CompiledRuleSet Resolve(V1.ScoreWorkRequest request, RuleCatalog catalog, out ReformSource? reformSource, string prefix = "", bool anyYear = false)
    {
        reformSource = null;
        return request.Reform is { } reform
            ? ResolveReform(request, reform, catalog, out reformSource, prefix, anyYear)
            : ResolveLaw(request, catalog, prefix, anyYear);
    }

    // Apart from Resolve: its lambdas' captures would be allocated on entry, for every request without a reform too.
    private static CompiledRuleSet ResolveReform(V1.ScoreWorkRequest request, V1.Reform reform, RuleCatalog catalog, out ReformSource? reformSource,
        string prefix, bool anyYear)
    {
        var mapper = ReformMapper.Read(reform, prefix + "reform.");
        var law = mapper.Definition.Base is { } baseSelector ? Base(baseSelector) : ResolveLaw(request, catalog, prefix, anyYear);
        if (mapper.Definition.Base is not null && (request.RuleSetId.Length > 0 || request.WithOverlays.Count + request.WithoutOverlays.Count > 0) &&
            ResolveLaw(request, catalog, prefix, anyYear) is var selected && !ReferenceEquals(selected, law))
            throw new InvalidRequestException([new FieldError(prefix + "reform.base",
                $"the reform changes {catalog.CanonicalName(law)}, the request selects {catalog.CanonicalName(selected)}: leave one of them out, or name the same rule set")]);
        var rs = mapper.Apply(catalog, law, out var source);
        reformSource = source;
        return rs;

        CompiledRuleSet Base(string selector)
        {
            try
            {
                return ResolveLaw(new V1.ScoreWorkRequest { RuleSetId = selector }, catalog, "", anyYear: true);
            }
            catch (InvalidRequestException ex)
            {
                throw new InvalidRequestException([.. ex.Errors.Select(e => new FieldError(prefix + "reform" + (reform.Yaml.Length > 0 ? ".yaml" : ".base"), e.Description))]);
            }
        }
    }

    private static CompiledRuleSet ResolveLaw(V1.ScoreWorkRequest request, RuleCatalog catalog, string prefix, bool anyYear)
    {
        // rule_set_id is a selector (RuleSetSelector: "dm-2021", "dm-2021+covid-19", "dm-2021~covid-19", "2021"), the same
        // grammar as the CLI's and REST's; with_overlays and without_overlays apply after its modifiers.
        // A bare version or year ("dm-2021", "2021": what most requests send) with no overlay asked is the version as in
        // force, read without a parsed selector.
        var id = request.RuleSetId;
        if (request.WithOverlays.Count == 0 && request.WithoutOverlays.Count == 0 && id.AsSpan().IndexOfAny('+', '~') < 0)
        {
            var bare = RuleSetSelector.Bare(id, out var year);
            return catalog.WithOverlays(ResolveVersion(request, id.Length == 0 ? null : bare, year, catalog, prefix, anyYear), [], [], out _)!;
        }
        RuleSetSelector? selector = null;
        if (id.Length > 0 && (selector = RuleSetSelector.TryParse(id, out var bad)) is null)
            throw new InvalidRequestException([new FieldError(prefix + "rule_set_id", bad!)]);
        var version = ResolveVersion(request, selector?.Version, selector?.Year, catalog, prefix, anyYear);
        if ((selector is null || selector.Modifiers.Count == 0) && request.WithOverlays.Count == 0 && request.WithoutOverlays.Count == 0)
            return catalog.WithOverlays(version, [], [], out _)!; // the version as in force, resolved once
        return ResolveOverlays(request, selector, version, catalog, prefix);
    }

    // Apart from ResolveLaw, as ResolveReform: the version as in force allocates no capture.
    private static CompiledRuleSet ResolveOverlays(V1.ScoreWorkRequest request, RuleSetSelector? selector, CompiledRuleSet version, RuleCatalog catalog,
        string prefix)
    {
        var known = catalog.OverlaysOf(version.Id).Select(o => (o.Id, o.Overlay!.OnByDefault)).ToList();
        var applied = (selector ?? new RuleSetSelector(version.Id, null, [])).Overlays(version.Id, known, request.WithOverlays, request.WithoutOverlays, out var unknown);
        if (applied is null)
        {
            var field = selector?.Modifiers.Any(m => m.Overlay == unknown) == true ? "rule_set_id"
                : request.WithOverlays.Contains(unknown) ? "with_overlays" : "without_overlays";
            throw new InvalidRequestException([new FieldError(prefix + field,
                $"'{unknown}' is not an overlay of {version.Id} (its overlays: {string.Join(", ", known.Select(o => o.Id).DefaultIfEmpty("none"))})")]);
        }
        return catalog.WithApplied(version, applied) ?? throw new RuleSetNotFoundException(
            $"{RuleSetSelector.Canonical(version.Id, applied, known)} is not loaded");
    }

    /// <summary>The version the request selects: <paramref name="version"/> or <paramref name="selectorYear"/>, what its rule_set_id names (both null: none).</summary>
    private static CompiledRuleSet ResolveVersion(V1.ScoreWorkRequest request, string? version, int? selectorYear, RuleCatalog catalog, string prefix, bool anyYear)
    {
        if (version is { } id)
        {
            var rs = catalog.FindVersion(id) ?? throw new RuleSetNotFoundException(
                $"rule set '{id}' is not loaded (versions: {string.Join(", ", catalog.Versions.Select(r => r.Id))}; " +
                "a rule set is named VERSION, VERSION+OVERLAY or VERSION~OVERLAY, or by an application year)");
            var d = rs.Definition;
            if (request.HasApplicationYear && !anyYear &&
                (request.ApplicationYear < d.ApplicationYearFrom || d.ApplicationYearTo is { } to && request.ApplicationYear > to))
                throw new InvalidRequestException([new FieldError(prefix + "application_year",
                    $"rule set {rs.Id} covers application years {Years(d)}, not {request.ApplicationYear}")]);
            return rs;
        }
        var year = selectorYear ?? (request.HasApplicationYear ? request.ApplicationYear : (int?)null);
        if (year is null)
            throw new InvalidRequestException([new FieldError(prefix + "rule_set_id", "give rule_set_id or application_year")]);
        var yearField = selectorYear is not null ? "rule_set_id" : "application_year";
        if (selectorYear is { } sy && request.HasApplicationYear && request.ApplicationYear != sy)
            throw new InvalidRequestException([new FieldError(prefix + "application_year", $"rule_set_id names year {sy}, application_year {request.ApplicationYear}")]);
        if (year is < 1900 or > 9999)
            throw new InvalidRequestException([new FieldError(prefix + yearField, $"not a year: {year}")]);
        return catalog.ForApplicationYear(year.Value) ?? throw new RuleSetNotFoundException(
            $"no decree version in force for application year {year} (governed: " +
            string.Join(", ", catalog.Versions.Select(r => $"{Years(r.Definition)} by {r.Id}")) + ")");
    }

    private static string Years(Engine.Rules.RuleSetDefinition d) =>
        $"{d.ApplicationYearFrom}-{d.ApplicationYearTo?.ToString(CultureInfo.InvariantCulture) ?? ""}";

    private static IReadOnlyList<M.RoleInput> MapRoles(RepeatedField<V1.RoleInput> roles, MapContext ctx)
    {
        if (roles.Count == 0) ctx.Errors.Add(new FieldError("roles", "at least one role to score"));
        if (!RequestLimits.CheckCount(roles, "roles", ctx.Errors, RequestLimits.MaxRoles)) return [];
        // The roles asked (one that is missing leaves the request in error), in a list of the scratch's or a new one.
        var result = ctx.Scratch?.RoleLists.Next() ?? new List<M.RoleInput>(roles.Count);
        for (var i = 0; i < roles.Count; i++)
        {
            var path = new FieldPath("roles", i);
            if (MapRole(roles[i], path, ctx) is not { } role) continue;
            if (Asked(result, role.Role)) ctx.Errors.Add(new FieldError(path.Text("role"), $"{roles[i].Role} is asked twice"));
            result.Add(role);
        }
        return result;

        static bool Asked(List<M.RoleInput> roles, M.Role role)
        {
            foreach (var r in roles)
                if (r.Role == role) return true;
            return false;
        }
    }

    /// <summary>One role with its own facts and results (a claim's, in the allocation); null when the role is missing.</summary>
    public static M.RoleInput? MapRole(V1.RoleInput? r, string path, MapContext ctx) => MapRole(r, new FieldPath(path), ctx);

    private static M.RoleInput? MapRole(V1.RoleInput? r, FieldPath path, MapContext ctx)
    {
        var errors = ctx.Errors;
        if (r is null || r.Role == V1.Role.Unspecified || !Enum.IsDefined(r.Role))
        {
            errors.Add(new FieldError(path.Text("role"), "role is required"));
            return null;
        }
        var role = (M.Role)(int)r.Role;
        if (ctx.RuleSetKnown && !ctx.RuleSet.Roles.Contains(role)) errors.Add(new FieldError(path.Text("role"), $"rule set {ctx.RuleSet.Id} has no {r.Role} column"));
        // A role without facts of its own (most claims of a year): one instance per role, as each would be made (it is immutable).
        if (r.ContractSignedOn is null && r.DistributionCost.Length == 0 && r.ForeignSales.Count == 0 && r.HomeEntertainmentSales.Count == 0)
            return PlainRoles[(int)role];
        var contract = Date(r.ContractSignedOn, path, "contract_signed_on", errors);
        var cost = Amount(r.DistributionCost, path, "distribution_cost", errors);
        var foreign = Results(r.ForeignSales, "foreign_sales", path, ctx, ForeignSale, ctx.Scratch?.ForeignSaleLists);
        var home = Results(r.HomeEntertainmentSales, "home_entertainment_sales", path, ctx, DatedAmount, ctx.Scratch?.AmountLists);
        return ctx.Scratch?.RoleInputs.Next().Refill(role, contract, cost, foreign, home) ??
               new M.RoleInput(role, contract, cost) { ForeignSales = foreign, HomeEntertainmentSales = home };
    }

    /// <summary>Each role without facts of its own, by its value.</summary>
    private static readonly M.RoleInput[] PlainRoles =
        [.. Enumerable.Range(0, (int)Enum.GetValues<M.Role>().Max() + 1).Select(i => new M.RoleInput((M.Role)i))];

    private static M.DatedAmount? DatedAmount(V1.DatedAmount e, FieldPath p, MapContext ctx)
    {
        if (ResultDate(e.Date, p, ctx.Errors) is not { } d) return null;
        var amount = Amount(e.Amount, p, "amount", ctx.Errors, required: true) ?? 0;
        return ctx.Scratch?.Amounts.Next().Refill(d, amount) ?? new M.DatedAmount(d, amount);
    }

    private static M.MediaSale? MediaSale(V1.MediaSale e, FieldPath p, MapContext ctx)
    {
        if (ResultDate(e.Date, p, ctx.Errors) is not { } d) return null;
        var amount = Amount(e.Amount, p, "amount", ctx.Errors, required: true) ?? 0;
        return ctx.Scratch?.MediaSales.Next().Refill(d, amount, e.TheatricalDerogation) ?? new M.MediaSale(d, amount, e.TheatricalDerogation);
    }

    private static M.ForeignSale? ForeignSale(V1.ForeignSale e, FieldPath p, MapContext ctx)
    {
        // The territory: country, or countries (one amount for all), or both; each an ISO 3166-1 alpha-2 code, each once,
        // in upper case, in the order given (country first).
        if (e.Country.Length > 0 || e.Countries.Count == 0) IsoCountry(e.Country, p, "country", ctx.Errors);
        for (var i = 0; i < e.Countries.Count; i++) IsoCountry(e.Countries[i], p.Field("countries", i), null, ctx.Errors);
        if (ResultDate(e.Date, p, ctx.Errors) is not { } d) return null;
        var amount = Amount(e.Amount, p, "amount", ctx.Errors, required: true) ?? 0;
        var reused = ctx.Scratch?.ForeignSales;
        // One country (most sales): the sale's own list of it.
        if (e.Countries.Count == 0 && e.Country.Length > 0 && IsoCountries.Upper(e.Country) is var country)
            return reused?.Next().Refill(d, amount, country, null) ?? new M.ForeignSale(d, amount, country);
        var countries = ctx.Scratch?.CountryLists.Next() ?? new List<string>(e.Countries.Count + 1);
        AddCountry(countries, e.Country);
        for (var i = 0; i < e.Countries.Count; i++) AddCountry(countries, e.Countries[i]);
        var first = countries.Count > 0 ? countries[0] : "";
        return reused?.Next().Refill(d, amount, first, countries) ?? new M.ForeignSale(d, amount, first) { Countries = countries };

        static void AddCountry(List<string> countries, string code)
        {
            if (code.Length == 0) return;
            code = IsoCountries.Upper(code);
            if (!countries.Contains(code)) countries.Add(code);
        }
    }

    private static void IsoCountry(string code, FieldPath path, string? leaf, List<FieldError> errors)
    {
        if (code.Length != 2 || !char.IsAsciiLetter(code[0]) || !char.IsAsciiLetter(code[1]))
            errors.Add(new FieldError(path.Text(leaf), $"an ISO 3166-1 alpha-2 country code, got '{code}'"));
    }

    public static M.Work? MapWork(V1.Work? w, string path, MapContext ctx) => MapWork(w, new FieldPath(path), ctx);

    private static M.Work? MapWork(V1.Work? w, FieldPath path, MapContext ctx)
    {
        var errors = ctx.Errors;
        if (w is null)
        {
            errors.Add(new FieldError(path.Text(), "work is required"));
            return null;
        }
        RequestLimits.CheckLength(w.Id, path, "id", errors);
        RequestLimits.CheckLength(w.Title, path, "title", errors, RequestLimits.MaxTitleLength);
        if (w.Kind == V1.WorkKind.Unspecified || !Enum.IsDefined(w.Kind)) errors.Add(new FieldError(path.Text("kind"), "kind is required (WORK_KIND_CINEMA or WORK_KIND_TV_WEB)"));
        var share = Decimal(w.ItalianSharePercent, path, "italian_share_percent", errors);
        if (share is < 0 or > 100) errors.Add(new FieldError(path.Text("italian_share_percent"), $"a share is 0-100%, got {share}"));
        var coProducers = CoProducers(w, path, ctx, ref share);
        var duration = Amount(w.DurationMinutes, path, "duration_minutes", errors);
        List<M.ProcessingPhase>? phases = null;
        for (var i = 0; i < w.ItalianPhases.Count; i++)
        {
            var p = w.ItalianPhases[i];
            if (p == V1.ProcessingPhase.Unspecified || !Enum.IsDefined(p)) errors.Add(new FieldError(path.Field("italian_phases", i).Text(), "unknown phase"));
            else if (phases?.Contains((M.ProcessingPhase)(int)p) == true) errors.Add(new FieldError(path.Field("italian_phases", i).Text(), $"{p} is listed twice"));
            else (phases ??= ctx.Scratch?.PhaseLists.Next() ?? new List<M.ProcessingPhase>(w.ItalianPhases.Count)).Add((M.ProcessingPhase)(int)p);
        }

        // The facts as one value, then the work: made, or the scratch's work made again.
        var values = new M.WorkValues
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
            ProductionCost = Amount(w.ProductionCost, path, "production_cost", errors),
            DurationMinutes = duration,
            AverageHourlyCostGiven = Amount(w.AverageHourlyCost, path, "average_hourly_cost", errors),
            FirstReleaseDate = Date(w.FirstReleaseDate, path, "first_release_date", errors),
            FirstBroadcastStart = Time(w.FirstBroadcastStart, path, "first_broadcast_start", errors),
            BoxOffice = Results(w.BoxOffice, "box_office", path, ctx, DatedAmount, ctx.Scratch?.AmountLists),
            MediaSales = Results(w.MediaSales, "media_sales", path, ctx, MediaSale, ctx.Scratch?.MediaSaleLists),
            ForeignSales = Results(w.ForeignSales, "foreign_sales", path, ctx, ForeignSale, ctx.Scratch?.ForeignSaleLists),
            Essai = w.Essai,
            SelectiveContributions = w.SelectiveContributions,
            Coproduction = Enum.IsDefined(w.Coproduction) ? (M.CoproductionKind)(int)w.Coproduction : M.CoproductionKind.None,
            ItalianSharePercent = share,
            CoProducers = coProducers,
            NationalityRecognisedOn = Date(w.NationalityRecognisedOn, path, "nationality_recognised_on", errors),
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
            ItalianPhases = (IReadOnlyList<M.ProcessingPhase>?)phases ?? [],
            IndependentCreativeRights = w.IndependentCreativeRights,
            Destination = Enum.IsDefined(w.Destination) ? (M.TvWebDestination)(int)w.Destination : M.TvWebDestination.Unspecified,
            Audience = Amount(w.Audience, path, "audience", errors),
            Views = Amount(w.Views, path, "views", errors),
            Festivals = Items(w.Festivals, path, "festivals", ctx, static (f, p, ctx) =>
            {
                var errors = ctx.Errors;
                // Each id looked up once: a listed entry keeps the list's id and its position there, which scoring reads.
                var at = ctx.RuleSetKnown ? ctx.RuleSet.Lists.FestivalPosition(f.FestivalId) : -1;
                if (ctx.RuleSetKnown && at < 0)
                    errors.Add(new FieldError(p.Text("festival_id"), $"'{f.FestivalId}' is not a Tabella 6 festival"));
                if (f.Section == V1.FestivalSection.Unspecified || !Enum.IsDefined(f.Section))
                    errors.Add(new FieldError(p.Text("section"), "section is required (competition or official out of competition)"));
                if (f.OtherPrizes is < 0 or > RequestLimits.MaxOtherPrizes)
                    errors.Add(new FieldError(p.Text("other_prizes"), $"must be 0-{RequestLimits.MaxOtherPrizes}, got {f.OtherPrizes}"));
                var date = Date(f.SelectionDate, p, "selection_date", errors);
                return at >= 0
                    ? ctx.RuleSet.Lists.Festival(ctx.Scratch?.Festivals.Next(), at, (M.FestivalSection)(int)f.Section, date, f.BestFilmPrize, f.OtherPrizes)
                    : new M.FestivalEntry(f.FestivalId, (M.FestivalSection)(int)f.Section, date, f.BestFilmPrize, f.OtherPrizes);
            }, ctx.Scratch?.FestivalLists),
            Prizes = Items(w.Prizes, path, "prizes", ctx, static (x, p, ctx) =>
            {
                var errors = ctx.Errors;
                var at = ctx.RuleSetKnown ? ctx.RuleSet.Lists.PrizePosition(x.PrizeId) : -1;
                if (ctx.RuleSetKnown && at < 0)
                    errors.Add(new FieldError(p.Text("prize_id"), $"'{x.PrizeId}' is not a Tabella 7 prize"));
                if (x.Category == V1.PrizeCategory.Unspecified || !Enum.IsDefined(x.Category))
                    errors.Add(new FieldError(p.Text("category"), "category is required (best film or artistic)"));
                if (x.Outcome == V1.PrizeOutcome.Unspecified || !Enum.IsDefined(x.Outcome))
                    errors.Add(new FieldError(p.Text("outcome"), "outcome is required (nomination or win)"));
                var date = Date(x.SelectionDate, p, "selection_date", errors);
                return at >= 0
                    ? ctx.RuleSet.Lists.Prize(ctx.Scratch?.Prizes.Next(), at, (M.PrizeCategory)(int)x.Category, (M.PrizeOutcome)(int)x.Outcome, date)
                    : new M.PrizeEntry(x.PrizeId, (M.PrizeCategory)(int)x.Category, (M.PrizeOutcome)(int)x.Outcome, date);
            }, ctx.Scratch?.PrizeLists),
            Markets = Items(w.Markets, path, "markets", ctx, static (x, p, ctx) =>
            {
                var at = ctx.RuleSetKnown ? ctx.RuleSet.Lists.MarketPosition(x.MarketId) : -1;
                if (ctx.RuleSetKnown && at < 0)
                    ctx.Errors.Add(new FieldError(p.Text("market_id"), $"'{x.MarketId}' is not a Tabella 8 market or lab"));
                var date = Date(x.SelectionDate, p, "selection_date", ctx.Errors);
                return at >= 0 ? ctx.RuleSet.Lists.Market(ctx.Scratch?.Markets.Next(), at, date) : new M.MarketEntry(x.MarketId, date);
            }, ctx.Scratch?.MarketLists),
        };
        var work = ctx.Scratch?.Work.Refill(values) ?? new M.Work(values);
        if (!Enum.IsDefined(w.Coproduction)) errors.Add(new FieldError(path.Text("coproduction"), $"unknown co-production kind {w.Coproduction}"));
        CheckCoproduction(work, w, path, ctx);
        return work;
    }

    /// <summary>
    /// The work's producers (art. 2.f-h): each with a company id (once), an assigned ISO 3166-1 alpha-2 country and a
    /// share above 0 and at most 100; the shares together, and the foreign ones with the Italian share, at most 100. With
    /// every foreign share given and no Italian share, the Italian share is what the foreign ones leave.
    /// </summary>
    private static IReadOnlyList<M.CoProducer> CoProducers(V1.Work w, FieldPath path, MapContext ctx, ref decimal? italianShare)
    {
        // Most works name none: nothing to check, nothing allocated.
        if (w.CoProducers.Count == 0) return [];
        var errors = ctx.Errors;
        var scratch = ctx.Scratch;
        var list = scratch?.CoProducerLists.Next() ?? new List<M.CoProducer>(w.CoProducers.Count);
        if (!RequestLimits.CheckCount(w.CoProducers, path, "co_producers", errors)) return list;
        var ids = w.CoProducers.Count <= 1 ? null : scratch?.CoProducerIds ?? new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < w.CoProducers.Count; i++)
        {
            var c = w.CoProducers[i];
            var p = path.Field("co_producers", i);
            RequestLimits.CheckLength(c.CompanyId, p, "company_id", errors);
            if (c.CompanyId.Length == 0) errors.Add(new FieldError(p.Text("company_id"), "the co-producer's company id is required"));
            else if (ids?.Add(c.CompanyId) == false) errors.Add(new FieldError(p.Text("company_id"), $"co-producer '{c.CompanyId}' is named twice"));
            if (!IsoCountries.Contains(c.Country))
                errors.Add(new FieldError(p.Text("country"), $"the State of the producer's seat as an ISO 3166-1 alpha-2 country code (art. 2.f-h), got '{c.Country}'"));
            var share = Decimal(c.RightsSharePercent, p, "rights_share_percent", errors);
            if (share is <= 0 or > 100)
                errors.Add(new FieldError(p.Text("rights_share_percent"), $"a share of the rights is above 0% and at most 100% (art. 5.7), got {share}"));
            list.Add(scratch?.CoProducers.Next().Refill(c.CompanyId, IsoCountries.Upper(c.Country), share) ?? new M.CoProducer(c.CompanyId, IsoCountries.Upper(c.Country), share));
        }
        // The sums in the list's order (as Enumerable.Sum adds them): all the shares, and the foreign ones.
        decimal all = 0m, foreignShares = 0m;
        int foreign = 0;
        var everyForeignShareGiven = true;
        foreach (var c in list)
        {
            all += c.RightsSharePercent ?? 0m;
            if (c.Country == M.Work.ItalyCountryCode) continue;
            foreign++;
            foreignShares += c.RightsSharePercent ?? 0m;
            everyForeignShareGiven &= c.RightsSharePercent is not null;
        }
        if (all > 100m) errors.Add(new FieldError(path.Text("co_producers"), $"the co-producers' rights shares add up to {all}%, over 100% (art. 5.7)"));
        if (italianShare is { } given && foreign > 0 && given <= 100m && given + foreignShares > 100m)
            errors.Add(new FieldError(path.Text("italian_share_percent"),
                $"the Italian share {given}% and the foreign co-producers' {foreignShares}% add up to over 100% (art. 5.7, 5.8)"));
        else if (italianShare is null && foreign > 0 && everyForeignShareGiven && foreignShares <= 100m)
            italianShare = 100m - foreignShares;
        return list;
    }

    /// <summary>
    /// A work naming a foreign co-producer needs the day it was recognised as Italian (its category is fixed then); the
    /// request's co-production flag, if given, must be the category the agreements in force that day make (art. 2.f-h).
    /// </summary>
    private static void CheckCoproduction(M.Work work, V1.Work w, FieldPath path, MapContext ctx)
    {
        if (work.CoProducers.Count == 0) return;
        var foreign = false;
        foreach (var c in work.CoProducers) foreign |= c.Country != M.Work.ItalyCountryCode;
        if (foreign && work.NationalityRecognisedOn is null && w.NationalityRecognisedOn is null)
            ctx.Errors.Add(new FieldError(path.Text("nationality_recognised_on"),
                "required with a foreign co-producer: the work's category (art. 2.f-h) is fixed on the day it was recognised as Italian (reading guide, art. 5.8)"));
        // The flag is checked against the category only when what decides it is valid (the other errors are still reported).
        if (work.Coproduction == M.CoproductionKind.None || !ctx.RuleSetKnown || DecidingFieldWrong(ctx.Errors, path))
            return;
        if (!foreign)
        {
            ctx.Errors.Add(new FieldError(path.Text("coproduction"), $"says {w.Coproduction}, but the co-producers named are all Italian"));
            return;
        }
        var status = ctx.RuleSet.Coproductions.Classify(work);
        var expected = work.Coproduction == M.CoproductionKind.Multilateral
            ? M.CoproductionCategory.MultilateralCoproduction : M.CoproductionCategory.BilateralCoproduction;
        if (status.Category != M.CoproductionCategory.Declared && status.Category != expected)
            ctx.Errors.Add(new FieldError(path.Text("coproduction"),
                $"says {w.Coproduction}, but the co-producers make the work a {status.Label} ({status.Article}: {status.Reason}); leave the flag out or correct it"));

        // An error already named a field that decides the category: the co-producers, the date of recognition, the kind, the flag.
        static bool DecidingFieldWrong(List<FieldError> errors, FieldPath path)
        {
            if (errors.Count == 0) return false;
            string coProducers = path.Text("co_producers"), recognised = path.Text("nationality_recognised_on"),
                kind = path.Text("kind"), flag = path.Text("coproduction");
            foreach (var e in errors)
                if (e.Field.StartsWith(coProducers, StringComparison.Ordinal) || e.Field.StartsWith(recognised, StringComparison.Ordinal) ||
                    e.Field == kind || e.Field == flag)
                    return true;
            return false;
        }
    }

    /// <summary>The entries of the list <paramref name="field"/> of the message at <paramref name="path"/>, each mapped with its path.</summary>
    private static IReadOnlyList<TOut> Items<TIn, TOut>(RepeatedField<TIn> items, FieldPath path, string field, MapContext ctx,
        Func<TIn, FieldPath, MapContext, TOut> map, RequestScratch.ReusedLists<TOut>? reuse)
    {
        if (items.Count == 0) return [];
        var list = reuse?.Next() ?? new List<TOut>(items.Count);
        if (!RequestLimits.CheckCount(items, path, field, ctx.Errors)) return list;
        for (var i = 0; i < items.Count; i++) list.Add(map(items[i], path.Field(field, i), ctx));
        return list;
    }

    /// <summary>
    /// Dated results: each mapped, in the request's order (an entry's index is its index in the request, as the engine's
    /// exclusions name it). Which of them count is the engine's call (<see cref="ResultAdmission"/>: art. 5.2, 5.10, and in
    /// an allocation 5.3-5.6).
    /// </summary>
    private static IReadOnlyList<TOut> Results<TIn, TOut>(RepeatedField<TIn> items, string field, FieldPath path, MapContext ctx,
        Func<TIn, FieldPath, MapContext, TOut?> map, RequestScratch.ReusedLists<TOut>? reuse) where TOut : class
    {
        if (items.Count == 0) return [];
        var list = reuse?.Next() ?? new List<TOut>(items.Count);
        if (!RequestLimits.CheckCount(items, path, field, ctx.Errors)) return list;
        for (var i = 0; i < items.Count; i++)
            if (map(items[i], path.Field(field, i), ctx) is { } e) list.Add(e);
        return list;
    }

    /// <summary>A result's date: required and a calendar date. Whether it counts is <see cref="ResultAdmission"/>'s call.</summary>
    private static DateOnly? ResultDate(Google.Type.Date? d, FieldPath path, List<FieldError> errors)
    {
        if (d is null)
        {
            errors.Add(new FieldError(path.Text("date"), "a result needs its date"));
            return null;
        }
        return Date(d, path, "date", errors);
    }

    public static DateOnly? Date(Google.Type.Date? d, string path, List<FieldError> errors) => Date(d, new FieldPath(path), null, errors);

    /// <summary>A date at <paramref name="path"/>.<paramref name="leaf"/>: the path is only built for an error.</summary>
    private static DateOnly? Date(Google.Type.Date? d, FieldPath path, string? leaf, List<FieldError> errors)
    {
        if (d is null) return null;
        if (d.Year is >= 1 and <= 9999 && d.Month is >= 1 and <= 12 && d.Day >= 1 && d.Day <= DateTime.DaysInMonth(d.Year, d.Month))
            return new DateOnly(d.Year, d.Month, d.Day);
        errors.Add(new FieldError(path.Text(leaf), $"not a calendar date: {d.Year:D4}-{d.Month:D2}-{d.Day:D2}"));
        return null;
    }

    private static TimeOnly? Time(Google.Type.TimeOfDay? t, FieldPath path, string leaf, List<FieldError> errors)
    {
        if (t is null) return null;
        if (t.Hours is < 0 or > 23 || t.Minutes is < 0 or > 59 || t.Seconds is < 0 or > 59)
        {
            errors.Add(new FieldError(path.Text(leaf), $"not a time of day: {t.Hours}:{t.Minutes}:{t.Seconds}"));
            return null;
        }
        return new TimeOnly(t.Hours, t.Minutes, t.Seconds);
    }

    /// <summary>The one grammar of decimal strings in requests (work.proto says so).</summary>
    public const string DecimalGrammar = "-?[0-9]+(\\.[0-9]+)?";

    /// <summary>
    /// A decimal string of the grammar <see cref="DecimalGrammar"/>: an optional minus, digits, an optional point and
    /// digits; no plus sign, exponent, separators or spaces. Anything else is refused quoting the grammar.
    /// </summary>
    public static decimal? Decimal(string s, string path, List<FieldError> errors) => Decimal(s, new FieldPath(path), null, errors);

    private static decimal? Decimal(string s, FieldPath path, string? leaf, List<FieldError> errors)
    {
        if (s.Length == 0) return null;
        if (s.Length <= 64 && OfGrammar(s) &&
            decimal.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var d))
        {
            RequestLimits.CheckNumber(d, path, leaf, errors);
            return d;
        }
        errors.Add(new FieldError(path.Text(leaf), $"not a decimal number of the form {DecimalGrammar}: '{s}' (write e.g. \"1234.56\")"));
        return null;
    }

    /// <summary>Whether <paramref name="s"/> matches <see cref="DecimalGrammar"/> (scanned by hand: no regex per field).</summary>
    internal static bool OfGrammar(ReadOnlySpan<char> s)
    {
        var i = s.Length > 0 && s[0] == '-' ? 1 : 0;
        var start = i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        if (i == start) return false;
        if (i == s.Length) return true;
        if (s[i] != '.') return false;
        start = ++i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        return i > start && i == s.Length;
    }

    /// <summary>A non-negative amount.</summary>
    public static decimal? Amount(string s, string path, List<FieldError> errors, bool required = false) => Amount(s, new FieldPath(path), null, errors, required);

    private static decimal? Amount(string s, FieldPath path, string? leaf, List<FieldError> errors, bool required = false)
    {
        if (s.Length == 0)
        {
            if (required) errors.Add(new FieldError(path.Text(leaf), "amount is required"));
            return null;
        }
        var d = Decimal(s, path, leaf, errors);
        if (d < 0) errors.Add(new FieldError(path.Text(leaf), $"must be >= 0, got {s}"));
        return d;
    }
}
