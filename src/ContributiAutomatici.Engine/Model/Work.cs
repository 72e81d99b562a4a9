namespace ContributiAutomatici.Engine.Model;

/// <summary>A dated amount in euro.</summary>
public sealed record DatedAmount(DateOnly Date, decimal Amount)
{
    // Backing fields of their own, so that a request's mapper can reuse its entries (Refill); equality is the record's.
    private DateOnly _date = Date;
    private decimal _amount = Amount;

    public DateOnly Date { get => _date; init => _date = value; }

    public decimal Amount { get => _amount; init => _amount = value; }

    /// <summary>This entry made another (see <see cref="Work.Refill"/>: only by the mapper that owns it).</summary>
    internal DatedAmount Refill(DateOnly date, decimal amount)
    {
        (_date, _amount) = (date, amount);
        return this;
    }

    public override string ToString() => $"{Date:yyyy-MM-dd}: {Amount.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}

/// <summary>Revenue from rights sold in Italy to media-service providers and HE publishers.</summary>
public sealed record MediaSale(DateOnly Date, decimal Amount, bool TheatricalDerogation = false)
{
    private DateOnly _date = Date;
    private decimal _amount = Amount;
    private bool _theatricalDerogation = TheatricalDerogation;

    public DateOnly Date { get => _date; init => _date = value; }

    public decimal Amount { get => _amount; init => _amount = value; }

    public bool TheatricalDerogation { get => _theatricalDerogation; init => _theatricalDerogation = value; }

    /// <inheritdoc cref="DatedAmount.Refill"/>
    internal MediaSale Refill(DateOnly date, decimal amount, bool theatricalDerogation)
    {
        (_date, _amount, _theatricalDerogation) = (date, amount, theatricalDerogation);
        return this;
    }

    public override string ToString() => $"{Date:yyyy-MM-dd}: {Amount.ToString(System.Globalization.CultureInfo.InvariantCulture)}{(TheatricalDerogation ? " (deroga art. 17.1)" : "")}";
}

/// <summary>
/// A sale or pre-sale abroad: one amount for one territory, which may cover several countries (<see cref="Countries"/>,
/// ISO 3166-1 alpha-2: a sale to Benelux is BE, NL, LU); <see cref="Country"/> is the first of them.
/// </summary>
public sealed record ForeignSale(DateOnly Date, decimal Amount, string Country)
{
    private DateOnly _date = Date;
    private decimal _amount = Amount;
    private string _country = Country;
    // The list of the sale's one country (most sales name one), made with the sale (a copy made by 'with' shares it); a
    // sale over several countries is given its list (Countries).
    private readonly string[] _one = [Country];
    private IReadOnlyList<string>? _countries;

    public DateOnly Date { get => _date; init => _date = value; }

    public decimal Amount { get => _amount; init => _amount = value; }

    public string Country { get => _country; init => _country = value; }

    /// <summary>Every country the sale covers, each once, <see cref="Country"/> first.</summary>
    public IReadOnlyList<string> Countries { get => _countries ?? _one; init => _countries = value; }

    /// <summary>
    /// <inheritdoc cref="DatedAmount.Refill"/> <paramref name="countries"/>: its countries, <paramref name="country"/> first;
    /// null for that one alone.
    /// </summary>
    internal ForeignSale Refill(DateOnly date, decimal amount, string country, IReadOnlyList<string>? countries)
    {
        (_date, _amount, _country, _countries) = (date, amount, country, countries);
        _one[0] = country;
        return this;
    }

    public override string ToString() =>
        $"{Date:yyyy-MM-dd} {string.Join("+", Countries)}: {Amount.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    // Two sales are the same sale (art. 5.10) with the same date, amount and countries.
    public bool Equals(ForeignSale? other) =>
        other is not null && Date == other.Date && Amount == other.Amount && Country == other.Country && Countries.SequenceEqual(other.Countries);

    public override int GetHashCode() => HashCode.Combine(Date, Amount, Country, Countries.Count);
}

/// <summary>One country of a sale abroad, with the sale's date and its whole amount (the amount is not split).</summary>
public sealed record TerritorySale(DateOnly Date, string Country, decimal Amount);

/// <summary>
/// A producer of the work (art. 2.f-h): its company id, the country of its seat (ISO 3166-1 alpha-2) and its share of the
/// rights, percent (null: not given). Italian producers may be listed too (country IT); the foreign ones decide whether
/// the work is a coproduzione, a compartecipazione or a produzione internazionale.
/// </summary>
public sealed record CoProducer(string CompanyId, string Country, decimal? RightsSharePercent = null)
{
    private string _companyId = CompanyId;
    private string _country = Country;
    private decimal? _rightsSharePercent = RightsSharePercent;

    public string CompanyId { get => _companyId; init => _companyId = value; }

    public string Country { get => _country; init => _country = value; }

    public decimal? RightsSharePercent { get => _rightsSharePercent; init => _rightsSharePercent = value; }

    /// <inheritdoc cref="DatedAmount.Refill"/>
    internal CoProducer Refill(string companyId, string country, decimal? rightsSharePercent)
    {
        (_companyId, _country, _rightsSharePercent) = (companyId, country, rightsSharePercent);
        return this;
    }

    public override string ToString() =>
        $"{CompanyId} ({Country}{(RightsSharePercent is { } s ? ", " + s.ToString(System.Globalization.CultureInfo.InvariantCulture) + "%" : "")})";
}

/// <summary>A participation in a Tabella 6 festival.</summary>
public sealed record FestivalEntry(string FestivalId, FestivalSection Section, DateOnly? SelectionDate = null, bool BestFilmPrize = false, int OtherPrizes = 0)
{
    private string _festivalId = FestivalId;
    private FestivalSection _section = Section;
    private DateOnly? _selectionDate = SelectionDate;
    private bool _bestFilmPrize = BestFilmPrize;
    private int _otherPrizes = OtherPrizes;

    public string FestivalId { get => _festivalId; init => _festivalId = value; }

    public FestivalSection Section { get => _section; init => _section = value; }

    public DateOnly? SelectionDate { get => _selectionDate; init => _selectionDate = value; }

    public bool BestFilmPrize { get => _bestFilmPrize; init => _bestFilmPrize = value; }

    public int OtherPrizes { get => _otherPrizes; init => _otherPrizes = value; }

    /// <inheritdoc cref="DatedAmount.Refill"/>
    internal FestivalEntry Refill(string festivalId, int listPosition, FestivalSection section, DateOnly? selectionDate, bool bestFilmPrize, int otherPrizes)
    {
        (_festivalId, _section, _selectionDate, _bestFilmPrize, _otherPrizes) = (festivalId, section, selectionDate, bestFilmPrize, otherPrizes);
        ListPosition = listPosition;
        return this;
    }

    public bool AnyPrize => BestFilmPrize || OtherPrizes > 0;

    /// <summary>
    /// Where <see cref="FestivalId"/> sits in the festival list of the rule set the entry was mapped against, -1 when not known.
    /// The mapper checks each id against the lists and keeps what it found: the list's own id string as the entry's id, and
    /// its position, so scoring reads the position instead of hashing the id again. A hint, never a fact: scoring trusts it
    /// only when the list it scores with holds this very string instance at that position; otherwise (another rule set's
    /// lists, an entry made or changed elsewhere) it looks the id up. An entry's equality ignores it.
    /// </summary>
    internal int ListPosition { get; set; } = -1;

    public override string ToString() => $"{FestivalId} ({Section}{(BestFilmPrize ? ", best film" : "")}{(OtherPrizes > 0 ? $", {OtherPrizes} other prize(s)" : "")})";

    // The same entry whether or not its list position is known (a hint, not a fact of the entry).
    public bool Equals(FestivalEntry? other) => other is not null && FestivalId == other.FestivalId && Section == other.Section &&
                                                SelectionDate == other.SelectionDate && BestFilmPrize == other.BestFilmPrize && OtherPrizes == other.OtherPrizes;

    public override int GetHashCode() => HashCode.Combine(FestivalId, Section, SelectionDate, BestFilmPrize, OtherPrizes);
}

/// <summary>A nomination or a win of a Tabella 7 prize.</summary>
public sealed record PrizeEntry(string PrizeId, PrizeCategory Category, PrizeOutcome Outcome, DateOnly? SelectionDate = null)
{
    private string _prizeId = PrizeId;
    private PrizeCategory _category = Category;
    private PrizeOutcome _outcome = Outcome;
    private DateOnly? _selectionDate = SelectionDate;

    public string PrizeId { get => _prizeId; init => _prizeId = value; }

    public PrizeCategory Category { get => _category; init => _category = value; }

    public PrizeOutcome Outcome { get => _outcome; init => _outcome = value; }

    public DateOnly? SelectionDate { get => _selectionDate; init => _selectionDate = value; }

    /// <inheritdoc cref="FestivalEntry.ListPosition"/>
    internal int ListPosition { get; set; } = -1;

    /// <inheritdoc cref="DatedAmount.Refill"/>
    internal PrizeEntry Refill(string prizeId, int listPosition, PrizeCategory category, PrizeOutcome outcome, DateOnly? selectionDate)
    {
        (_prizeId, ListPosition, _category, _outcome, _selectionDate) = (prizeId, listPosition, category, outcome, selectionDate);
        return this;
    }

    public override string ToString() => $"{PrizeId} ({Category}, {Outcome})";

    public bool Equals(PrizeEntry? other) => other is not null && PrizeId == other.PrizeId && Category == other.Category &&
                                             Outcome == other.Outcome && SelectionDate == other.SelectionDate;

    public override int GetHashCode() => HashCode.Combine(PrizeId, Category, Outcome, SelectionDate);
}

/// <summary>A participation in a Tabella 8 market or selective lab.</summary>
public sealed record MarketEntry(string MarketId, DateOnly? SelectionDate = null)
{
    private string _marketId = MarketId;
    private DateOnly? _selectionDate = SelectionDate;

    public string MarketId { get => _marketId; init => _marketId = value; }

    public DateOnly? SelectionDate { get => _selectionDate; init => _selectionDate = value; }

    /// <inheritdoc cref="FestivalEntry.ListPosition"/>
    internal int ListPosition { get; set; } = -1;

    /// <inheritdoc cref="DatedAmount.Refill"/>
    internal MarketEntry Refill(string marketId, int listPosition, DateOnly? selectionDate)
    {
        (_marketId, ListPosition, _selectionDate) = (marketId, listPosition, selectionDate);
        return this;
    }

    public override string ToString() => MarketId;

    public bool Equals(MarketEntry? other) => other is not null && MarketId == other.MarketId && SelectionDate == other.SelectionDate;

    public override int GetHashCode() => HashCode.Combine(MarketId, SelectionDate);
}

/// <summary>
/// Every fact of a <see cref="Work"/> as one value, what its properties read (their meaning is documented there). A mapper
/// of many requests fills one and hands it to a <see cref="Work"/> it reuses from request to request
/// (<see cref="Work.Refill"/>), so that a request's work allocates nothing; everyone else writes a <see cref="Work"/>'s
/// properties.
/// </summary>
public struct WorkValues
{
    public WorkValues()
    {
    }

    public string Id = "";
    public string Title = "";
    public WorkKind Kind = WorkKind.Cinema;
    public bool Animation;
    public bool ShortFilm;
    public bool Documentary;
    public bool FirstOrSecondWork;
    public bool YoungAuthors;
    public bool ResearchAndTraining;
    public decimal? ProductionCost;
    public decimal? DurationMinutes;
    public decimal? AverageHourlyCostGiven;
    public DateOnly? FirstReleaseDate;
    public TimeOnly? FirstBroadcastStart;
    public IReadOnlyList<DatedAmount> BoxOffice = [];
    public IReadOnlyList<MediaSale> MediaSales = [];
    public IReadOnlyList<ForeignSale> ForeignSales = [];
    public bool Essai;
    public bool SelectiveContributions;
    public CoproductionKind Coproduction;
    public decimal? ItalianSharePercent;
    public IReadOnlyList<CoProducer> CoProducers = [];
    public DateOnly? NationalityRecognisedOn;
    public bool FemaleMajorityAuthors;
    public bool FemaleDirector;
    public bool FemaleHeadsOfDepartment;
    public bool SupranationalFunding;
    public bool BilateralFund;
    public bool ItalianComposers;
    public bool ItalianLiterarySource;
    public bool ItalianGraphicAuthor;
    public bool PayTv;
    public bool Svod;
    public IReadOnlyList<ProcessingPhase> ItalianPhases = [];
    public bool IndependentCreativeRights;
    public TvWebDestination Destination;
    public decimal? Audience;
    public decimal? Views;
    public IReadOnlyList<FestivalEntry> Festivals = [];
    public IReadOnlyList<PrizeEntry> Prizes = [];
    public IReadOnlyList<MarketEntry> Markets = [];
}

/// <summary>
/// One work and everything the decree tables read about it. Rule expressions see it as <c>Work</c>.
/// Collections are never null. Derived values (totals, the summer release, the average hourly cost)
/// are computed once, on construction, so rules read them for free.
/// </summary>
public sealed record Work
{
    private WorkValues _v;

    public Work() => _v = new WorkValues();

    /// <summary>A work of these facts.</summary>
    public Work(in WorkValues values) => _v = Whole(values);

    /// <summary>
    /// Makes this instance a work of <paramref name="values"/> (its sums computed again when read): for a mapper that reuses
    /// one work from request to request, the only owner of it (what scored the work before keeps nothing of it: a rule scope
    /// binds each work it scores afresh). Never on a work anyone else holds.
    /// </summary>
    internal Work Refill(in WorkValues values)
    {
        _v = Whole(values);
        Volatile.Write(ref _summed, null);
        return this;
    }

    public string Id { get => _v.Id; init => _v.Id = value; }
    public string Title { get => _v.Title; init => _v.Title = value; }
    public WorkKind Kind { get => _v.Kind; init => _v.Kind = value; }
    public bool Animation { get => _v.Animation; init => _v.Animation = value; }
    public bool ShortFilm { get => _v.ShortFilm; init => _v.ShortFilm = value; }
    public bool Documentary { get => _v.Documentary; init => _v.Documentary = value; }
    public bool FirstOrSecondWork { get => _v.FirstOrSecondWork; init => _v.FirstOrSecondWork = value; }
    public bool YoungAuthors { get => _v.YoungAuthors; init => _v.YoungAuthors = value; }
    public bool ResearchAndTraining { get => _v.ResearchAndTraining; init => _v.ResearchAndTraining = value; }
    public decimal? ProductionCost { get => _v.ProductionCost; init => _v.ProductionCost = value; }
    public decimal? DurationMinutes { get => _v.DurationMinutes; init => _v.DurationMinutes = value; }
    public decimal? AverageHourlyCostGiven { get => _v.AverageHourlyCostGiven; init => _v.AverageHourlyCostGiven = value; }
    public DateOnly? FirstReleaseDate { get => _v.FirstReleaseDate; init => _v.FirstReleaseDate = value; }
    public TimeOnly? FirstBroadcastStart { get => _v.FirstBroadcastStart; init => _v.FirstBroadcastStart = value; }

    public IReadOnlyList<DatedAmount> BoxOffice { get => _v.BoxOffice; init => _v.BoxOffice = value; }
    public IReadOnlyList<MediaSale> MediaSales { get => _v.MediaSales; init => _v.MediaSales = value; }
    public IReadOnlyList<ForeignSale> ForeignSales { get => _v.ForeignSales; init => _v.ForeignSales = value; }

    public bool Essai { get => _v.Essai; init => _v.Essai = value; }
    public bool SelectiveContributions { get => _v.SelectiveContributions; init => _v.SelectiveContributions = value; }
    /// <summary>The kind of co-production the request declares (legacy flag; with <see cref="CoProducers"/> it must agree with the derived one).</summary>
    public CoproductionKind Coproduction { get => _v.Coproduction; init => _v.Coproduction = value; }
    public decimal? ItalianSharePercent { get => _v.ItalianSharePercent; init => _v.ItalianSharePercent = value; }
    /// <summary>The work's producers, Italian and foreign (art. 2.f-h); empty: none named.</summary>
    public IReadOnlyList<CoProducer> CoProducers { get => _v.CoProducers; init => _v.CoProducers = value; }
    /// <summary>The date the work was recognised as Italian (art. 5 l. 220/2016): its co-production category is fixed then (reading guide, art. 5.8).</summary>
    public DateOnly? NationalityRecognisedOn { get => _v.NationalityRecognisedOn; init => _v.NationalityRecognisedOn = value; }
    public bool FemaleMajorityAuthors { get => _v.FemaleMajorityAuthors; init => _v.FemaleMajorityAuthors = value; }
    public bool FemaleDirector { get => _v.FemaleDirector; init => _v.FemaleDirector = value; }
    public bool FemaleHeadsOfDepartment { get => _v.FemaleHeadsOfDepartment; init => _v.FemaleHeadsOfDepartment = value; }
    public bool SupranationalFunding { get => _v.SupranationalFunding; init => _v.SupranationalFunding = value; }
    public bool BilateralFund { get => _v.BilateralFund; init => _v.BilateralFund = value; }
    public bool ItalianComposers { get => _v.ItalianComposers; init => _v.ItalianComposers = value; }
    public bool ItalianLiterarySource { get => _v.ItalianLiterarySource; init => _v.ItalianLiterarySource = value; }
    public bool ItalianGraphicAuthor { get => _v.ItalianGraphicAuthor; init => _v.ItalianGraphicAuthor = value; }
    public bool PayTv { get => _v.PayTv; init => _v.PayTv = value; }
    public bool Svod { get => _v.Svod; init => _v.Svod = value; }
    public IReadOnlyList<ProcessingPhase> ItalianPhases { get => _v.ItalianPhases; init => _v.ItalianPhases = value; }
    public bool IndependentCreativeRights { get => _v.IndependentCreativeRights; init => _v.IndependentCreativeRights = value; }
    /// <summary>A TV/web work: first destined to TV or to the web (DM 2017).</summary>
    public TvWebDestination Destination { get => _v.Destination; init => _v.Destination = value; }
    /// <summary>TV: average audience of the first broadcast (DM 2017 "ascolti").</summary>
    public decimal? Audience { get => _v.Audience; init => _v.Audience = value; }
    /// <summary>Web: views (DM 2017 "visualizzazioni").</summary>
    public decimal? Views { get => _v.Views; init => _v.Views = value; }

    public IReadOnlyList<FestivalEntry> Festivals { get => _v.Festivals; init => _v.Festivals = value; }
    public IReadOnlyList<PrizeEntry> Prizes { get => _v.Prizes; init => _v.Prizes = value; }
    public IReadOnlyList<MarketEntry> Markets { get => _v.Markets; init => _v.Markets = value; }

    // ---- derived, for rules ----

    /// <summary>The country of an Italian producer's seat (ISO 3166-1 alpha-2): the other co-producers are foreign.</summary>
    public const string ItalyCountryCode = "IT";

    /// <summary>
    /// Made with foreign producers: a coproduzione, a compartecipazione or a produzione internazionale (art. 2.f-h), declared by
    /// the request's flag or by a foreign co-producer. The rows that count co-productions and compartecipazioni alike read this
    /// (Tabella 1 B.2 and its twins, reading guide art. 5.8); which of the three it is comes from the agreement lists.
    /// </summary>
    public bool International => Coproduction != CoproductionKind.None || CoProducers.Any(static c => c.Country != ItalyCountryCode);

    /// <summary>Gross box office, all periods (not capped: the tables cap where they say so).</summary>
    public decimal BoxOfficeTotal => Cached()._boxOfficeTotal;
    /// <summary>Revenue from media-service providers and HE publishers in Italy.</summary>
    public decimal MediaSalesTotal => Cached()._mediaTotal;
    /// <summary>Revenue from sales and pre-sales abroad.</summary>
    public decimal ForeignSalesTotal => Cached()._foreignTotal;
    /// <summary>Average hourly cost as given, else production cost x 60 / duration in minutes (reading guide 7).</summary>
    public decimal? AverageHourlyCost =>
        AverageHourlyCostGiven ?? (ProductionCost is { } c && DurationMinutes is > 0 ? c * 60m / DurationMinutes.Value : null);

    /// <summary>The work with only its results dated where <paramref name="keep"/> says (an overlay's window).</summary>
    public Work Dated(Func<DateOnly, bool> keep) => this with
    {
        BoxOffice = BoxOffice.Where(e => keep(e.Date)).ToList(),
        MediaSales = MediaSales.Where(e => keep(e.Date)).ToList(),
        ForeignSales = ForeignSales.Where(e => keep(e.Date)).ToList(),
    };

    // Never a null text or list, whatever the caller passed (default(WorkValues) has nulls; new WorkValues() has none).
    private static WorkValues Whole(WorkValues v)
    {
        v.Id ??= "";
        v.Title ??= "";
        v.BoxOffice ??= [];
        v.MediaSales ??= [];
        v.ForeignSales ??= [];
        v.CoProducers ??= [];
        v.ItalianPhases ??= [];
        v.Festivals ??= [];
        v.Prizes ??= [];
        v.Markets ??= [];
        return v;
    }

    // The totals are computed once per instance, kept in its own fields (no object per work): a copy made by 'with' (whose
    // lists may differ) copies _summed, which then names the original, and computes its own. Two threads summing at once
    // write the same values; _summed is written after them and read before them.
    private Work? _summed;
    private decimal _boxOfficeTotal, _mediaTotal, _foreignTotal;

    private Work Cached()
    {
        if (ReferenceEquals(Volatile.Read(ref _summed), this)) return this;
        // Summed by index, in the lists' order (as Enumerable.Sum adds): no enumerator allocated for a work mapped per request.
        _boxOfficeTotal = RoleInput.Total(BoxOffice, static e => e.Amount);
        _mediaTotal = RoleInput.Total(MediaSales, static e => e.Amount);
        _foreignTotal = RoleInput.Total(ForeignSales, static e => e.Amount);
        Volatile.Write(ref _summed, this);
        return this;
    }

    // Equality by reference: two works with the same facts are still two works (and _summed names this very instance).
    public bool Equals(Work? other) => ReferenceEquals(this, other);
    public override int GetHashCode() => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(this);
}

/// <summary>
/// A role scored on a work, with the facts and results that are that claimant's own (rule expressions see it as
/// <c>Claimant</c>): a distributor's contract date and distribution cost, an international distributor's own sales
/// abroad (not the producer's revenue from rights sold abroad, which is <see cref="Work.ForeignSales"/>), an HE
/// publisher's own sales in Italy.
/// </summary>
public sealed record RoleInput(Role Role, DateOnly? ContractSignedOn = null, decimal? DistributionCost = null)
{
    // Backing fields of their own, so that a rule scope can point a view of its own at a claimant's results dated in an
    // overlay's window (ViewDated) instead of copying the claimant per work scored. Equality and printing are the record's.
    private Role _role = Role;
    private DateOnly? _contractSignedOn = ContractSignedOn;
    private decimal? _distributionCost = DistributionCost;
    private IReadOnlyList<ForeignSale> _foreignSales = [];
    private IReadOnlyList<DatedAmount> _homeEntertainmentSales = [];

    public Role Role { get => _role; init => _role = value; }

    public DateOnly? ContractSignedOn { get => _contractSignedOn; init => _contractSignedOn = value; }

    public decimal? DistributionCost { get => _distributionCost; init => _distributionCost = value; }

    /// <summary>The international distributor's own sales and pre-sales abroad (Tabella 4).</summary>
    public IReadOnlyList<ForeignSale> ForeignSales { get => _foreignSales; init => _foreignSales = value; }

    /// <summary>The HE publisher's own sales in Italy (Tabella 5).</summary>
    public IReadOnlyList<DatedAmount> HomeEntertainmentSales { get => _homeEntertainmentSales; init => _homeEntertainmentSales = value; }

    /// <summary>
    /// Makes this instance, a rule scope's own view never handed out, the claimant <paramref name="of"/> with only its results
    /// dated inside from..to (<paramref name="inside"/>) or outside it, gathered into the scope's reused lists: what
    /// <see cref="Dated"/> gives, without a copy per work scored.
    /// </summary>
    /// <inheritdoc cref="DatedAmount.Refill"/>
    internal RoleInput Refill(Role role, DateOnly? contractSignedOn, decimal? distributionCost, IReadOnlyList<ForeignSale> foreignSales,
        IReadOnlyList<DatedAmount> homeEntertainmentSales)
    {
        (_role, _contractSignedOn, _distributionCost) = (role, contractSignedOn, distributionCost);
        (_foreignSales, _homeEntertainmentSales) = (foreignSales, homeEntertainmentSales);
        return this;
    }

    internal void ViewDated(RoleInput of, DateOnly from, DateOnly to, bool inside, List<ForeignSale> foreign, List<DatedAmount> home)
    {
        (_role, _contractSignedOn, _distributionCost) = (of._role, of._contractSignedOn, of._distributionCost);
        foreign.Clear();
        for (var i = 0; i < of._foreignSales.Count; i++)
            if (of._foreignSales[i].Date is var d && (d >= from && d <= to) == inside) foreign.Add(of._foreignSales[i]);
        home.Clear();
        for (var i = 0; i < of._homeEntertainmentSales.Count; i++)
            if (of._homeEntertainmentSales[i].Date is var d && (d >= from && d <= to) == inside) home.Add(of._homeEntertainmentSales[i]);
        (_foreignSales, _homeEntertainmentSales) = (foreign, home);
    }

    /// <summary>Sum of <see cref="ForeignSales"/>: each sale's amount once, however many countries it covers.</summary>
    public decimal ForeignSalesTotal => Total(ForeignSales, static s => s.Amount);

    /// <summary>Each country of each of <see cref="ForeignSales"/>, with its sale's date and amount (Tabella 4 A.2 counts countries).</summary>
    public IEnumerable<TerritorySale> ForeignTerritories => ForeignSales.SelectMany(s => s.Countries.Select(c => new TerritorySale(s.Date, c, s.Amount)));

    /// <summary>
    /// How many distinct countries the claimant's sales abroad of a positive amount cover (a territory's countries each count;
    /// a country sold twice counts once): <c>ForeignTerritories.Where(s => s.Amount > 0).Select(s => s.Country).Distinct().Count()</c>
    /// without a list, a set or a record per scoring (Tabella 4 A.2).
    /// </summary>
    public int ForeignCountriesSold
    {
        get
        {
            var count = 0;
            var sales = ForeignSales;
            for (var i = 0; i < sales.Count; i++)
            {
                if (sales[i].Amount <= 0) continue;
                var countries = sales[i].Countries;
                for (var k = 0; k < countries.Count; k++)
                    if (!SoldBefore(sales, i, k, countries[k])) count++;
            }
            return count;
        }
    }

    // Whether a country was already counted: in an earlier sale of a positive amount, or earlier in the same sale.
    private static bool SoldBefore(IReadOnlyList<ForeignSale> sales, int sale, int index, string country)
    {
        for (var i = 0; i <= sale; i++)
        {
            if (sales[i].Amount <= 0) continue;
            var countries = sales[i].Countries;
            for (var k = 0; k < (i == sale ? index : countries.Count); k++)
                if (string.Equals(countries[k], country, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    /// <summary>Sum of <see cref="HomeEntertainmentSales"/>.</summary>
    public decimal HomeEntertainmentTotal => Total(HomeEntertainmentSales, static s => s.Amount);

    /// <summary>A sum read by rules on every scoring: a loop over the list, no enumerator allocated.</summary>
    internal static decimal Total<T>(IReadOnlyList<T> items, Func<T, decimal> amount)
    {
        var total = 0m;
        for (var i = 0; i < items.Count; i++) total += amount(items[i]);
        return total;
    }

    /// <summary>The claimant with only its results dated where <paramref name="keep"/> says (an overlay's window).</summary>
    public RoleInput Dated(Func<DateOnly, bool> keep) => this with
    {
        ForeignSales = ForeignSales.Where(e => keep(e.Date)).ToList(),
        HomeEntertainmentSales = HomeEntertainmentSales.Where(e => keep(e.Date)).ToList(),
    };
}
