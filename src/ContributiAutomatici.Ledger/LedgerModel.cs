namespace ContributiAutomatici.Ledger;

/// <summary>How a refusal maps to a status: a request wrong in itself, one the decree or the ledger's state refuses, or a position that does not exist.</summary>
public enum RefusalKind { InvalidArgument, FailedPrecondition, NotFound }

/// <summary>A request the ledger refuses, naming the field and the article; nothing of it was applied.</summary>
public sealed class LedgerRefusal(RefusalKind kind, string field, string article, string reason)
    : Exception($"{field}: {reason} [{article}]")
{
    public RefusalKind Kind { get; } = kind;
    public string Field { get; } = field;
    public string Article { get; } = article;
    public string Reason { get; } = reason;
}

/// <summary>One credit to post: a company, a work and a sub-quota, the year credited, its expiry (art. 12.5) and the authors' shares (art. 14.3).</summary>
public sealed record PostingCredit(string CompanyId, string CompanyName, string WorkId, string WorkTitle, string QuotaId, int CreditingYear,
    DateOnly ExpiresOn, decimal Amount, decimal AuthorsShare);

/// <summary>An allocation to post: its year, the rule set it was computed under, and its credits to the cent.</summary>
public sealed record PostingRequest(int ApplicationYear, int CreditingYear, string RuleSetId, string RuleSetHash, DateOnly PostedOn,
    IReadOnlyList<PostingCredit> Credits)
{
    /// <summary>Supersede the year's posting: its credits are reversed by entries and these posted (art. 12.1).</summary>
    public bool Supersede { get; init; }

    /// <summary>A retried request with the same key is applied once.</summary>
    public string? IdempotencyKey { get; init; }
}

/// <summary>What a posting did: applied, or nothing because the same allocation was posted before.</summary>
public sealed record PostResult(string PostingId, bool Applied, string AllocationHash, int ApplicationYear, int CreditingYear, int Credits,
    decimal Total, decimal AuthorsSetAside, string? Superseded, decimal Reversed, string Message);

/// <summary>A co-producer of the new work, with whether its country is on the OECD DAC list on the request's date (art. 15.2).</summary>
public sealed record Coproducer(string Country, bool DacListed);

/// <summary>A request to draw on the fondo potenziale for a new work (arts. 13-15).</summary>
public sealed record DrawRequest(string CompanyId, DateOnly RequestedOn, string NewWorkId, string WorkKind, bool ShortFilm, string Use,
    decimal Cost, decimal OtherPublicAid, decimal Amount, decimal NetWorth, bool AuthorsSharesDocumented)
{
    /// <summary>A production of art. 54.7.a of Regulation (EU) 651/2014 (art. 15.1's 60%).</summary>
    public bool Gber547a { get; init; }

    /// <summary>The letter of art. 15.3 under which the work is difficult ("a" to "d"), or null.</summary>
    public string? DifficultWork { get; init; }

    /// <summary>The work's co-producers (art. 15.2).</summary>
    public IReadOnlyList<Coproducer> Coproducers { get; init; } = [];

    /// <summary>The progress stage this draw pays (art. 13.2), free text: "1/3", "final".</summary>
    public string Stage { get; init; } = "";

    /// <summary>A retried request with the same key is applied once.</summary>
    public string? IdempotencyKey { get; init; }
}

/// <summary>What a draw took from one credit, or what lapsed of it.</summary>
public sealed record CreditAmount(long CreditId, string WorkId, string QuotaId, int CreditingYear, DateOnly ExpiresOn, decimal Amount);

/// <summary>An accepted draw: the ceiling that held, the credits it took (oldest first) and what remains available.</summary>
public sealed record DrawResult(string DrawId, bool Applied, string CompanyId, string NewWorkId, decimal Amount, decimal CeilingPercent,
    string CeilingArticle, decimal AidTotal, decimal AidCeiling, string Policy, IReadOnlyList<CreditAmount> From, decimal AvailableAfter);

/// <summary>What lapsed of one company's fondo potenziale.</summary>
public sealed record CompanyLapse(string CompanyId, decimal Amount, IReadOnlyList<CreditAmount> Credits);

/// <summary>An expiry run (art. 12.6) or a breach of art. 14.6: what lapsed back to the Fund, per company.</summary>
public sealed record ExpireResult(string OperationId, bool Applied, DateOnly On, string Article, decimal Total, IReadOnlyList<CompanyLapse> Companies);

/// <summary>A breach of art. 14.6 for one work of a company: the work's credits lapse.</summary>
public sealed record BreachRequest(string CompanyId, string WorkId, string Clause, DateOnly On)
{
    /// <summary>A retried request with the same key is applied once.</summary>
    public string? IdempotencyKey { get; init; }
}

/// <summary>
/// One credit in a statement at a date: the work that earned it, the year credited and the year by which it must be
/// used (art. 12.7), and each movement summed from the journal: credited = set aside + available + drawn + lapsed +
/// reversed (the last three as positive amounts taken), held = set aside + available.
/// </summary>
public sealed record StatementLine(long CreditId, string PostingId, string WorkId, string WorkTitle, string QuotaId, int CreditingYear,
    DateOnly ExpiresOn, decimal Credited, decimal Reversed, decimal Drawn, decimal Lapsed, decimal AuthorsSetAside, decimal Available)
{
    /// <summary>The year by which it must be used (art. 12.7).</summary>
    public int UseByYear => ExpiresOn.Year;

    /// <summary>What the company holds of it: the authors' shares set aside and the available rest.</summary>
    public decimal Held => AuthorsSetAside + Available;
}

/// <summary>One accepted draw in a statement.</summary>
public sealed record StatementDraw(string DrawId, DateOnly RequestedOn, string NewWorkId, string Use, string Stage, decimal Amount);

/// <summary>The art. 12.7 statement of a company's fondo potenziale at a date: totals, one line per credit, the draws.</summary>
public sealed record Statement(string CompanyId, string CompanyName, DateOnly At, decimal Credited, decimal Reversed, decimal Drawn,
    decimal Lapsed, decimal AuthorsSetAside, decimal Available, int Entries, IReadOnlyList<StatementLine> Lines, IReadOnlyList<StatementDraw> Draws)
{
    /// <summary>What the company holds: every entry up to the date, summed.</summary>
    public decimal Held => AuthorsSetAside + Available;
}

/// <summary>One entry of the journal as stored.</summary>
public sealed record JournalEntry(long EntryId, long CreditId, string CompanyId, string Bucket, string Kind, decimal Amount, DateOnly EffectiveOn,
    string SourceId, string Article);
