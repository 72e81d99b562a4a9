using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Engine.Rules;

/// <summary>A place in a rule file: what every error and every compiled expression points back to.</summary>
public sealed record SourceLocation(string File, int Line, int Column = 1)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>A rule expression (C#) as written in a rule file, with where it was written.</summary>
public sealed record RuleExpression(string Text, SourceLocation Location, int LineOffset = 0, bool FileLines = true)
{
    /// <summary>
    /// The file line of line <paramref name="inner"/> (0-based) of the expression. Only a literal block scalar (|)
    /// keeps the file's lines; any other multi-line value (a "\n" escape, folded lines) reports its first line.
    /// </summary>
    public int LineOf(int inner) => Location.Line + LineOffset + (FileLines ? inner : 0);
}

/// <summary>A quota or sub-quota of the yearly resources (art. 3); <paramref name="ShortFilmsLimitPercent"/>: art. 3.3.</summary>
public sealed record QuotaDefinition(
    string Id, string Title, decimal SharePercent, string? ParentId, bool Reserved, string Citation, SourceLocation Location,
    decimal? ShortFilmsLimitPercent = null);

public sealed record ListEntry(
    string Id, string Name, string? Band, string Category, decimal IncrementPercent, string Citation, SourceLocation Location)
{
    /// <summary>The entry holds only for works with these facts (e.g. a documentary that is not a short film).</summary>
    public WorkFacts? ForWorks { get; init; }

    /// <summary>The entry does not hold for works with these facts.</summary>
    public WorkFacts? NotForWorks { get; init; }

    /// <summary>Whether the entry holds for the work (no conditions: always).</summary>
    public bool HoldsFor(Model.Work work) => ForWorks?.Match(work) != false && NotForWorks?.Match(work) != true;

    /// <summary>
    /// Dated lists (agreements, conventions, the DAC list): the day the entry took effect. Null: listed but not in force (an
    /// agreement being prepared, or one whose date is not verified: its note says which).
    /// </summary>
    public DateOnly? InForceFrom { get; init; }

    /// <summary>What the source leaves open about the entry (an unverified date, a newer agreement not yet in force).</summary>
    public string? Note { get; init; }

    /// <summary>Whether a dated entry is in force on <paramref name="date"/>.</summary>
    public bool InForceOn(DateOnly date) => InForceFrom is { } from && from <= date;
}

/// <summary>
/// A condition on a work's facts written in a list file (<c>{ documentary: true, short_film: false }</c>): every fact
/// named must have the value given. For an entry printed in two bands that counts in one per work (reading guide 7).
/// </summary>
public sealed record WorkFacts(IReadOnlyDictionary<string, bool> Facts)
{
    /// <summary>The work facts a list file may name.</summary>
    public static readonly IReadOnlyDictionary<string, Func<Model.Work, bool>> Known = new Dictionary<string, Func<Model.Work, bool>>
    {
        ["documentary"] = w => w.Documentary,
        ["short_film"] = w => w.ShortFilm,
        ["animation"] = w => w.Animation,
        ["tv_web"] = w => w.Kind == WorkKind.TvWeb,
        ["first_or_second_work"] = w => w.FirstOrSecondWork,
    };

    // The facts' readers resolved once per condition (kept beside the record, not in it: equality stays the record's).
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<WorkFacts, (Func<Model.Work, bool> Fact, bool Value)[]> Readers = new();

    public bool Match(Model.Work work)
    {
        var facts = Readers.GetValue(this, static f => [.. f.Facts.Select(x => (Known[x.Key], x.Value))]);
        foreach (var (fact, value) in facts)
            if (fact(work) != value) return false;
        return true;
    }

    public override string ToString() => "{ " + string.Join(", ", Facts.Select(f => $"{f.Key}: {(f.Value ? "true" : "false")}")) + " }";
}

/// <summary>One of the decree's lists (Tabelle 6, 7, 8): festivals, prizes, markets.</summary>
public sealed record ListDefinition(
    string Kind, string Title, string Citation, string File, IReadOnlyList<ListEntry> Entries)
{
    /// <summary>
    /// The list of another version this one is (<c>borrows: dm-2021/festivals</c>): its entries are that list's, read at load,
    /// with the differences this file states (<c>entries</c> added; <c>remove</c>: ids taken out). Null: the file's own entries.
    /// </summary>
    public string? Borrows { get; init; }

    /// <summary>Ids of the borrowed list's entries this list leaves out.</summary>
    public IReadOnlyList<string> Removes { get; init; } = [];

    /// <summary>Where the file says what it borrows (for errors).</summary>
    public SourceLocation? BorrowsLocation { get; init; }

    /// <summary>
    /// Named groups of the list's ids (<c>groups:</c>), each defined once: the seven prizes of the "cinquina" that Tabelle 1
    /// and 4 name in eight rows are one group, read by rules by its name where they take ids. A borrowed list brings its
    /// lender's groups.
    /// </summary>
    public IReadOnlyList<ListGroup> Groups { get; init; } = [];
}

/// <summary>A named group of a list's ids (<c>premi_miglior_film: { label, cite, ids: [...] }</c>).</summary>
public sealed record ListGroup(string Name, string Label, string Citation, IReadOnlyList<string> Ids, SourceLocation Location);

/// <summary>A role column of a row: its own condition and points expression.</summary>
public sealed record CellDefinition(Role Role, RuleExpression? When, RuleExpression Points, SourceLocation Location);

/// <summary>
/// A named figure of a row ("1 punto ogni EUR 5.000": <c>eur_per_point: 5000</c>): what an official edits, with no C#
/// in sight; the row's expressions read it by name, and the compiler emits it as a constant.
/// </summary>
public sealed record Figure(string Name, decimal Value, string Unit, string Citation, SourceLocation Location)
{
    /// <summary>
    /// Where the figure is defined when the row does not define it but refers to it (<c>{ ref: T1.A.1.tier_1_up_to }</c>,
    /// or borrowed with its row: <c>dm-2021/T1.A.1.tier_1_up_to</c>): the path as written, resolved at load; null for a
    /// figure the row defines itself. <see cref="Value"/>, <see cref="Unit"/> and <see cref="Citation"/> are then the
    /// referenced figure's.
    /// </summary>
    public string? Ref { get; init; }

    /// <summary>A reference not resolved yet (the parser's output, before the catalog resolves it).</summary>
    public bool Unresolved => Ref is not null && ResolvedFrom is null;

    /// <summary>The defining place of a referenced figure (its file and line), once resolved.</summary>
    public SourceLocation? ResolvedFrom { get; init; }

    /// <summary>
    /// A scale of marginal bands (<c>producer_scale: { scale: [[tier_1_up_to, tier_1_eur_per_point], ...] }</c>): each band a
    /// pair of the row's own figures, its upper bound and the euro per point, in ascending order; the row's expressions hand it
    /// whole to <c>Tiers</c> or <c>TiersOf</c>. Null for a figure holding one value. A reference to a scale brings its band
    /// figures with it.
    /// </summary>
    public IReadOnlyList<(string UpTo, string Per)>? Bands { get; init; }

    /// <summary>The unit of a figure written in short form (<c>producer_points: 10</c>): points, cited by its row's line.</summary>
    public const string Points = "punti";

    /// <summary>The unit of a day of the year (<c>value: "06-01"</c>, held as 601): the summer window of Tabelle 1 and 3.</summary>
    public const string MonthDay = "month-day";

    /// <summary>The value as an official writes it, with its unit: "5000 EUR", "0.5 x", "06-01 month-day".</summary>
    public string Shown => Bands is { } b ? "scale " + string.Join(", ", b.Select(x => $"({x.UpTo}, {x.Per})")) : Show(Value, Unit);

    /// <summary><see cref="Shown"/> for a value in a unit (numbers in <paramref name="format"/>, if given).</summary>
    public static string Show(decimal value, string unit, string? format = null) =>
        (unit == MonthDay ? $"{(int)value / 100:00}-{(int)value % 100:00}" : value.ToString(format, System.Globalization.CultureInfo.InvariantCulture)) +
        (unit.Length > 0 ? " " + unit : "");

    public override string ToString() => $"{Name} = {Shown}";
}

/// <summary>Where a row's figures come from (rule sets whose source is incomplete, e.g. DM 2017).</summary>
public enum Provenance
{
    /// <summary>From the decree's text or a source the rule set cites.</summary>
    Sourced,
    /// <summary>The parameter is known to exist; its figure is borrowed from another decree's row (named in Borrows).</summary>
    Provisional,
    /// <summary>The parameter is known to exist, its figure is not: a score that needs it is incomplete.</summary>
    Missing,
}

/// <summary>An overlay's figures for a row, in force for the results dated inside the overlay's window only.</summary>
public sealed record WindowedFigures(string OverlayId, DateOnly From, DateOnly To, IReadOnlyList<Figure> Figures, string Citation);

public sealed record RowDefinition(
    string Id, string Label, string Citation, string TableId, string SectionId, string QuotaId,
    RuleExpression? When, IReadOnlyList<string> BasePatterns, Role? BaseRole, bool WholePoints,
    IReadOnlyList<CellDefinition> Cells, SourceLocation Location)
{
    /// <summary>The row's named figures.</summary>
    public IReadOnlyList<Figure> Figures { get; init; } = [];

    public Provenance Provenance { get; init; } = Provenance.Sourced;

    /// <summary>For a provisional row: the row of another decree whose figure it borrows (e.g. "DM 2021 T1.A.1").</summary>
    public string? Borrows { get; init; }

    /// <summary>Set by an overlay that patches the row's figures within its window: entries dated inside use these.</summary>
    public WindowedFigures? Windowed { get; init; }

    /// <summary>The window of the overlay that wrote this row's expressions (its InWindow reads it).</summary>
    public (DateOnly From, DateOnly To)? Window { get; init; }

    /// <summary>Overlays that changed this row (ids with their citations), for explanations and diffs.</summary>
    public IReadOnlyList<string> PatchedBy { get; init; } = [];

    /// <summary>Set when an overlay replaced the row's expressions (<c>replace:</c>): the overlay, and its stated reason.</summary>
    public string? ReplacedBy { get; init; }
}

/// <summary>
/// A named quantity (<c>box_office_revenue</c>): a value of the work that several rows read by name, defined once in the
/// manifest (<c>quantities:</c>). An overlay changes what it is (art. 17.1 adds the derogation revenue to the box office)
/// by adding or subtracting terms, each in force inside the overlay's window, so every row that reads it follows, and an
/// edit of those rows is never shadowed. Rows, conditions and other quantities read it like a figure, by its name.
/// </summary>
public sealed record QuantityDefinition(string Name, string Label, string Citation, IReadOnlyList<QuantityTerm> Terms, SourceLocation Location);

/// <summary>
/// One term of a quantity: its expression, added (or subtracted), by the version or by an overlay (then evaluated with the
/// overlay's window in scope, so its <c>InWindow</c> reads it).
/// </summary>
public sealed record QuantityTerm(RuleExpression Expr, bool Subtract, string? OverlayId, (DateOnly From, DateOnly To)? Window, string Citation);

/// <summary>What an overlay does to a quantity: defines a new one, or adds or subtracts a term of the version's.</summary>
public enum QuantityAction { Define, Plus, Minus }

/// <summary>An overlay's change of a named quantity.</summary>
public sealed record QuantityPatch(string Name, QuantityAction Action, string Label, string Citation, RuleExpression Expr, SourceLocation Location);

public sealed record SectionDefinition(
    string Id, string Title, RuleExpression? When, IReadOnlyList<RowDefinition> Rows, SourceLocation Location);

public sealed record TableDefinition(
    string Id, string Title, string Citation, RuleExpression? Applies, IReadOnlyList<SectionDefinition> Sections,
    string File)
{
    public IEnumerable<RowDefinition> Rows => Sections.SelectMany(s => s.Rows);
}

/// <summary>
/// What an overlay does to one row of the version it patches: new figures (inside its window only), new expressions,
/// a new row, or the row disabled.
/// </summary>
public sealed record RowPatch(string RowId, PatchAction Action, string Citation, IReadOnlyList<Figure> Figures, RowDefinition? Row,
    string? After, SourceLocation Location)
{
    /// <summary>For a 'replace': why the overlay must replace the row's expressions rather than change figures or quantities.</summary>
    public string Reason { get; init; } = "";
}

/// <summary>What an overlay's row patch does: add a row, suspend one, change its figures inside the window, or replace its expressions.</summary>
public enum PatchAction { Add, Disable, Figures, Replace }

/// <summary>An overlay's window and patches (rule sets of kind overlay).</summary>
public sealed record OverlayDefinition(string Patches, bool OnByDefault, DateOnly From, DateOnly To, IReadOnlyList<RowPatch> Rows)
{
    /// <summary>The quantities the overlay defines, or whose terms it extends.</summary>
    public IReadOnlyList<QuantityPatch> Quantities { get; init; } = [];
}

/// <summary>What a rule set is: a decree version, an overlay of one (a folder, <c>kind:</c> in its manifest), or a what-if reform sent with a request.</summary>
public enum RuleSetKind { Version, Overlay, Reform }

/// <summary>A decree version or an overlay: a folder under rules/ with a ruleset.yaml manifest.</summary>
public sealed record RuleSetDefinition(
    string Id, string Title, string Decree, RuleSetKind Kind, string? Patches,
    DateOnly InForceFrom, DateOnly? InForceTo, int ApplicationYearFrom, int? ApplicationYearTo,
    IReadOnlyList<QuotaDefinition> Quotas, IReadOnlyList<TableDefinition> Tables, IReadOnlyList<ListDefinition> Lists,
    IReadOnlyDictionary<string, string> Policies, string Directory, string ContentHash, DateOnly? AdmissibleResultsFrom = null,
    string AdmissibleResultsCitation = "", AllocationDefinition? Allocation = null)
{
    /// <summary>The overlay's window and patches, for kind overlay.</summary>
    public OverlayDefinition? Overlay { get; init; }

    /// <summary>Where the manifest says its application years, and what it patches (for errors).</summary>
    public SourceLocation? YearsLocation { get; init; }
    public SourceLocation? PatchesLocation { get; init; }

    /// <summary>The version this rule set supersedes (its id), if any.</summary>
    public string? Supersedes { get; init; }

    /// <summary>The named quantities rows read (manifest <c>quantities:</c>), with an applied overlay's terms.</summary>
    public IReadOnlyList<QuantityDefinition> Quantities { get; init; } = [];

    /// <summary>The overlays applied to this version (ids), when it was built from a version and its overlays.</summary>
    public IReadOnlyList<string> AppliedOverlays { get; init; } = [];

    /// <summary>
    /// The decree's text beside the version (decreto.md; an overlay's: its version's), which every row's cite resolves in;
    /// null when the folder has none. Not cached with the definitions (its bytes are in the folder's content hash): read
    /// when first asked for (<see cref="LawSource"/>), so a warm start does not parse it.
    /// </summary>
    public Engine.Law.DecreeText? LawText => LawSource?.Value;

    /// <summary>Where <see cref="LawText"/> comes from: the text read and checked at load, or a reader for a warm start.</summary>
    public Lazy<Engine.Law.DecreeText?>? LawSource { get; init; }

    /// <summary>
    /// The version's own id when this is a version with overlays applied (<see cref="Id"/> is then "dm-2021+covid-19") or a
    /// reform applied ("dm-2021+covid-19@tier-4000").
    /// </summary>
    public string BaseId => Id.AsSpan().IndexOfAny('+', '@') is var cut and >= 0 ? Id[..cut] : Id; // no array per call: the totals path reads it

    /// <summary>The what-if reform applied on top of the rule set (its id is then the rule set's, '@', the reform's), or null.</summary>
    public AppliedReform? Reform { get; init; }
}

/// <summary>A figure with the article it comes from.</summary>
public sealed record CitedFigure(decimal Value, string Citation);

/// <summary>Who may claim in a role (art. 4.1): the ATECO codes (prefixes) and, for some work kinds, independence.</summary>
public sealed record ApplicantRoleDefinition(IReadOnlyList<string> Ateco, IReadOnlySet<WorkKind> IndependentFor, string Citation);

/// <summary>The co-production threshold of art. 5.8: the Italian share below which a work is kept out.</summary>
public sealed record CoproductionThreshold(decimal MinimumShare, decimal ReducedShare, decimal ReducedFromCost, string Citation)
{
    /// <summary>How a work with named co-producers is classed (art. 2.f-h); null: the request's flag is taken as given.</summary>
    public CoproductionCategories? Categories { get; init; }
}

/// <summary>
/// Art. 2.f-h: the lists (by kind) that decide a work's category on its recognition date, Italy's code in them, and the
/// article of each category. <paramref name="Agreements"/>: the bilateral agreements; <paramref name="Conventions"/>: the
/// parties to the Council of Europe's conventions (one category per convention; the home country must be a party too).
/// </summary>
public sealed record CoproductionCategories(
    string HomeCountry, string Agreements, string Conventions,
    string CoproductionCitation, string ParticipationCitation, string InternationalProductionCitation, string MultilateralCitation);

/// <summary>The authors' shares of art. 14.3: a percentage each, of what the roles named are credited.</summary>
public sealed record AuthorsSharesDefinition(decimal Percent, IReadOnlyList<string> Categories, IReadOnlySet<Role> Roles, string Citation);

/// <summary>The art. 5.3-5.6 windows around the first exploitation: their citations and the 5.6 year count.</summary>
public sealed record FirstExploitationDefinition(string NotYetCitation, string OtherYearCitation, int TooEarlyYears, string TooEarlyCitation);

/// <summary>
/// What the yearly allocation reads of a rule set besides its quotas: the caps, the credit expiry, the authors'
/// shares, who may claim, and the admissibility of works and results. Every figure with its citation.
/// </summary>
public sealed record AllocationDefinition(
    Allocation.ExcessPolicy DefaultExcess, CitedFigure WorkCap, CitedFigure CompanyCap, CitedFigure CreditExpiryYears,
    AuthorsSharesDefinition? AuthorsShares,
    IReadOnlyDictionary<Role, ApplicantRoleDefinition> Applicants, string EeaSeatCitation,
    CitedFigure? NetWorthMinimum, decimal? NetWorthMinimumShortFilms,
    string EligibleWorksCitation, CoproductionThreshold? Coproduction, string RightsSharesCitation,
    FirstExploitationDefinition? FirstExploitation, string DeclaredOnceCitation, string NotYetObtainedCitation);

/// <summary>One problem in a rule file, as <c>file:line:column: reason</c> (<c>file:line: reason</c> when the column is not known: 0).</summary>
public sealed record RuleError(string File, int Line, string Message, int Column = 0)
{
    public override string ToString() => Column > 0 ? $"{File}:{Line}:{Column}: {Message}" : $"{File}:{Line}: {Message}";
}

/// <summary>A rule set (or the whole rules folder) was refused. Nothing of it is loaded.</summary>
public sealed class RuleLoadException(IReadOnlyList<RuleError> errors)
    : Exception(string.Join(Environment.NewLine, errors.Select(e => e.ToString())))
{
    public IReadOnlyList<RuleError> Errors { get; } = errors;
}

/// <summary>Maps the role keys of rule files to roles.</summary>
public static class RoleNames
{
    public static readonly IReadOnlyDictionary<string, Role> ByKey = new Dictionary<string, Role>
    {
        ["producer"] = Role.Producer,
        ["theatrical_distributor"] = Role.TheatricalDistributor,
        ["international_distributor"] = Role.InternationalDistributor,
        ["home_entertainment_publisher"] = Role.HomeEntertainmentPublisher,
    };

    /// <summary>The rule files' key of a role (the inverse of <see cref="ByKey"/>).</summary>
    public static string Key(Role role) => role switch
    {
        Role.Producer => "producer",
        Role.TheatricalDistributor => "theatrical_distributor",
        Role.InternationalDistributor => "international_distributor",
        Role.HomeEntertainmentPublisher => "home_entertainment_publisher",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "no rule-file key"),
    };
}
