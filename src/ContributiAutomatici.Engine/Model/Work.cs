namespace ContributiAutomatici.Engine.Model;

/// <summary>A dated amount in euro.</summary>
public sealed record DatedAmount(DateOnly Date, decimal Amount)
{
    public override string ToString() => $"{Date:yyyy-MM-dd}: {Amount.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}

/// <summary>Revenue from rights sold in Italy to media-service providers and HE publishers.</summary>
public sealed record MediaSale(DateOnly Date, decimal Amount, bool TheatricalDerogation = false)
{
    public override string ToString() => $"{Date:yyyy-MM-dd}: {Amount.ToString(System.Globalization.CultureInfo.InvariantCulture)}{(TheatricalDerogation ? " (deroga art. 17.1)" : "")}";
}

/// <summary>
/// A sale or pre-sale abroad: one amount for one territory, which may cover several countries (<see cref="Countries"/>,
/// ISO 3166-1 alpha-2: a sale to Benelux is BE, NL, LU); <see cref="Country"/> is the first of them.
/// </summary>
public sealed record ForeignSale(DateOnly Date, decimal Amount, string Country)
{
    /// <summary>Every country the sale covers, each once, <see cref="Country"/> first.</summary>
    public IReadOnlyList<string> Countries { get; init; } = [Country];

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
    public override string ToString() =>
        $"{CompanyId} ({Country}{(RightsSharePercent is { } s ? ", " + s.ToString(System.Globalization.CultureInfo.InvariantCulture) + "%" : "")})";
}

/// <summary>A participation in a Tabella 6 festival.</summary>
public sealed record FestivalEntry(string FestivalId, FestivalSection Section, DateOnly? SelectionDate = null, bool BestFilmPrize = false, int OtherPrizes = 0)
{
    public bool AnyPrize => BestFilmPrize || OtherPrizes > 0;

    /// <summary>
    /// Where <see cref="FestivalId"/> sits in the festival list of the rule set the entry was mapped against, -1 when not known.
    /// The mapper checks each id against the lists and keeps what it found: the list's own id string as the entry's id, and
    /// its position, so scoring reads the position instead of hashing the id again. A hint, never a fact: scoring trusts it
    /// only when the list it scores with holds this very string instance at that position; otherwise (another rule set's
    /// lists, an entry made or changed elsewhere) it looks the id up. An entry's equality ignores it.
    /// </summary>
    internal int ListPosition { get; init; } = -1;

    public override string ToString() => $"{FestivalId} ({Section}{(BestFilmPrize ? ", best film" : "")}{(OtherPrizes > 0 ? $", {OtherPrizes} other prize(s)" : "")})";

    // The same entry whether or not its list position is known (a hint, not a fact of the entry).
    public bool Equals(FestivalEntry? other) => other is not null && FestivalId == other.FestivalId && Section == other.Section &&
                                                SelectionDate == other.SelectionDate && BestFilmPrize == other.BestFilmPrize && OtherPrizes == other.OtherPrizes;

    public override int GetHashCode() => HashCode.Combine(FestivalId, Section, SelectionDate, BestFilmPrize, OtherPrizes);
}

/// <summary>A nomination or a win of a Tabella 7 prize.</summary>
public sealed record PrizeEntry(string PrizeId, PrizeCategory Category, PrizeOutcome Outcome, DateOnly? SelectionDate = null)
{
    /// <inheritdoc cref="FestivalEntry.ListPosition"/>
    internal int ListPosition { get; init; } = -1;

    public override string ToString() => $"{PrizeId} ({Category}, {Outcome})";

    public bool Equals(PrizeEntry? other) => other is not null && PrizeId == other.PrizeId && Category == other.Category &&
                                             Outcome == other.Outcome && SelectionDate == other.SelectionDate;

    public override int GetHashCode() => HashCode.Combine(PrizeId, Category, Outcome, SelectionDate);
}

/// <summary>A participation in a Tabella 8 market or selective lab.</summary>
public sealed record MarketEntry(string MarketId, DateOnly? SelectionDate = null)
{
    /// <inheritdoc cref="FestivalEntry.ListPosition"/>
    internal int ListPosition { get; init; } = -1;

    public override string ToString() => MarketId;

    public bool Equals(MarketEntry? other) => other is not null && MarketId == other.MarketId && SelectionDate == other.SelectionDate;

    public override int GetHashCode() => HashCode.Combine(MarketId, SelectionDate);
}

/// <summary>
/// One work and everything the decree tables read about it. Rule expressions see it as <c>Work</c>.
/// Collections are never null. Derived values (totals, the summer release, the average hourly cost)
/// are computed once, on construction, so rules read them for free.
/// </summary>
public sealed record Work
{
    public string Id { get; init; } = "";
    public string Title { get; init; } = "";
    public WorkKind Kind { get; init; } = WorkKind.Cinema;
    public bool Animation { get; init; }
    public bool ShortFilm { get; init; }
    public bool Documentary { get; init; }
    public bool FirstOrSecondWork { get; init; }
    public bool YoungAuthors { get; init; }
    public bool ResearchAndTraining { get; init; }
    public decimal? ProductionCost { get; init; }
    public decimal? DurationMinutes { get; init; }
    public decimal? AverageHourlyCostGiven { get; init; }
    public DateOnly? FirstReleaseDate { get; init; }
    public TimeOnly? FirstBroadcastStart { get; init; }

    public IReadOnlyList<DatedAmount> BoxOffice { get; init; } = [];
    public IReadOnlyList<MediaSale> MediaSales { get; init; } = [];
    public IReadOnlyList<ForeignSale> ForeignSales { get; init; } = [];

    public bool Essai { get; init; }
    public bool SelectiveContributions { get; init; }
    /// <summary>The kind of co-production the request declares (legacy flag; with <see cref="CoProducers"/> it must agree with the derived one).</summary>
    public CoproductionKind Coproduction { get; init; }
    public decimal? ItalianSharePercent { get; init; }
    /// <summary>The work's producers, Italian and foreign (art. 2.f-h); empty: none named.</summary>
    public IReadOnlyList<CoProducer> CoProducers { get; init; } = [];
    /// <summary>The date the work was recognised as Italian (art. 5 l. 220/2016): its co-production category is fixed then (reading guide, art. 5.8).</summary>
    public DateOnly? NationalityRecognisedOn { get; init; }
    public bool FemaleMajorityAuthors { get; init; }
    public bool FemaleDirector { get; init; }
    public bool FemaleHeadsOfDepartment { get; init; }
    public bool SupranationalFunding { get; init; }
    public bool BilateralFund { get; init; }
    public bool ItalianComposers { get; init; }
    public bool ItalianLiterarySource { get; init; }
    public bool ItalianGraphicAuthor { get; init; }
    public bool PayTv { get; init; }
    public bool Svod { get; init; }
    public IReadOnlyList<ProcessingPhase> ItalianPhases { get; init; } = [];
    public bool IndependentCreativeRights { get; init; }
    /// <summary>A TV/web work: first destined to TV or to the web (DM 2017).</summary>
    public TvWebDestination Destination { get; init; }
    /// <summary>TV: average audience of the first broadcast (DM 2017 "ascolti").</summary>
    public decimal? Audience { get; init; }
    /// <summary>Web: views (DM 2017 "visualizzazioni").</summary>
    public decimal? Views { get; init; }

    public IReadOnlyList<FestivalEntry> Festivals { get; init; } = [];
    public IReadOnlyList<PrizeEntry> Prizes { get; init; } = [];
    public IReadOnlyList<MarketEntry> Markets { get; init; } = [];

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
    public decimal BoxOfficeTotal => Cached().BoxOffice;
    /// <summary>Revenue from media-service providers and HE publishers in Italy.</summary>
    public decimal MediaSalesTotal => Cached().Media;
    /// <summary>Revenue from sales and pre-sales abroad.</summary>
    public decimal ForeignSalesTotal => Cached().Foreign;
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

    // The totals are computed once per instance: a copy made by 'with' (whose lists may differ) computes its own.
    private Totals? _totals;
    private Totals Cached() => _totals is { } t && ReferenceEquals(t.Of, this) ? t : _totals = new Totals(this,
        // Summed by index, in the lists' order (as Enumerable.Sum adds): no enumerator allocated for a work mapped per request.
        RoleInput.Total(BoxOffice, static e => e.Amount), RoleInput.Total(MediaSales, static e => e.Amount),
        RoleInput.Total(ForeignSales, static e => e.Amount));

    private sealed record Totals(Work Of, decimal BoxOffice, decimal Media, decimal Foreign);

    // Equality by reference: two works with the same facts are still two works (and Totals points back here).
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
