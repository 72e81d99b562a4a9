using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ContributiAutomatici.Ledger;

/// <summary>
/// The fund ledger: each company's fondo potenziale (art. 12) as an append-only journal in SQLite (a file path) or
/// PostgreSQL (a connection string). Every operation is one transaction: all its entries or none. Writers are serialized
/// (SQLite: BEGIN IMMEDIATE; PostgreSQL: advisory locks, postings and expiries exclusive, draws per company and work),
/// so concurrent draws never spend more than the balance. Every balance is a sum of entries; nothing is updated in place.
/// </summary>
public sealed partial class LedgerStore
{
    private const string Available = "available", Authors = "authors";
    private const string GlobalLock = "ledger";

    private readonly Dialect _db;

    /// <summary>
    /// Fault injection for the kill test (tests/ContributiAutomatici.Ledger.Tests): with CONTRIBUTI_LEDGER_PAUSE_MID_POSTING=1
    /// a posting stops inside its transaction, its credits written and none of its entries, says so on stderr and waits to be killed.
    /// </summary>
    private static readonly bool PauseMidPosting = Environment.GetEnvironmentVariable("CONTRIBUTI_LEDGER_PAUSE_MID_POSTING") == "1";

    private LedgerStore(Dialect db, LedgerRules rules, string target)
    {
        _db = db;
        Rules = rules;
        Target = target;
    }

    /// <summary>What it was opened on: the SQLite file or the PostgreSQL connection string.</summary>
    public string Target { get; }

    /// <summary>The figures the ledger applies (fondo-potenziale.yaml).</summary>
    public LedgerRules Rules { get; }

    /// <summary>"sqlite" or "postgres".</summary>
    public string Backend => _db.Name;

    /// <summary>
    /// Opens the ledger at <paramref name="target"/>: a file path (SQLite; created with its folder when missing) or a
    /// PostgreSQL connection string ("Host=...;Database=..."), and brings its schema up to date (DbUp's migrations).
    /// </summary>
    public static LedgerStore Open(string target, LedgerRules? rules = null)
    {
        var db = Dialect.For(target);
        var result = db.Migrate();
        if (!result.Successful)
            throw new InvalidOperationException($"ledger schema migration failed at {result.ErrorScript?.Name}: {result.Error?.Message}", result.Error);
        return new LedgerStore(db, rules ?? LedgerRules.Default, target);
    }

    // ---------------------------------------------------------------- posting (art. 12.1, 12.5, 14.3)

    /// <summary>
    /// Posts an allocation's credits: per credit an entry of what is available and one of the authors' shares set aside.
    /// The same allocation again changes nothing; another allocation of a posted year is refused unless it supersedes
    /// it, and then the old credits are reversed by entries.
    /// </summary>
    public PostResult Post(PostingRequest request)
    {
        Validate(request);
        var hash = AllocationHash(request);
        var requestHash = Sha($"{hash}|{request.Supersede}");
        using var c = _db.Open();
        using var tx = _db.BeginWrite(c);
        _db.Lock(tx, GlobalLock);
        if (Replay<PostResult>(tx, request.IdempotencyKey, "post", requestHash) is { } replayed)
            return replayed with { Applied = false, Message = $"already applied under idempotency key {request.IdempotencyKey}; nothing changed" };

        var total = request.Credits.Sum(x => x.Amount);
        var authors = request.Credits.Sum(x => x.AuthorsShare);
        var existing = Query(tx, "SELECT posting_id FROM ledger_postings WHERE allocation_hash = @h", r => r.GetString(0), ("h", hash));
        if (existing.Count > 0)
        {
            tx.Commit();
            return new PostResult(existing[0], false, hash, request.ApplicationYear, request.CreditingYear, request.Credits.Count, total, authors, null, 0,
                $"allocation {hash[..12]} of {request.ApplicationYear} already posted as {existing[0]}; nothing changed");
        }

        var active = Query(tx, """
            SELECT p.posting_id, p.allocation_hash FROM ledger_postings p
            WHERE p.application_year = @y AND NOT EXISTS (SELECT 1 FROM ledger_postings q WHERE q.supersedes = p.posting_id)
            """, r => (Id: r.GetString(0), Hash: r.GetString(1)), ("y", request.ApplicationYear));
        string? superseded = null;
        var reversal = new List<(long Credit, string Company, string Bucket, decimal Amount)>();
        if (active.Count > 0)
        {
            var (oldId, oldHash) = active[0];
            if (!request.Supersede)
                throw new LedgerRefusal(RefusalKind.FailedPrecondition, "supersede", Rules.SupersedeRule.Cite,
                    $"application year {request.ApplicationYear} is already posted as {oldId} (allocation {oldHash[..12]}), a different allocation " +
                    $"({hash[..12]}); post it with supersede to reverse {oldId}'s credits by entries and post these");
            var used = Query(tx, """
                SELECT COUNT(*) FROM ledger_entries e JOIN ledger_credits c ON c.credit_id = e.credit_id
                WHERE c.posting_id = @p AND e.kind IN ('draw', 'lapse')
                """, r => r.GetInt64(0), ("p", oldId))[0];
            if (used > 0)
                throw new LedgerRefusal(RefusalKind.FailedPrecondition, "supersede", Rules.SupersedeRule.Cite,
                    $"{oldId}'s credits have been drawn on or have lapsed ({used} entries): it cannot be reversed by a new allocation");
            superseded = oldId;
            reversal = Query(tx, """
                SELECT e.credit_id, e.company_id, e.bucket, SUM(e.amount) FROM ledger_entries e JOIN ledger_credits c ON c.credit_id = e.credit_id
                WHERE c.posting_id = @p GROUP BY e.credit_id, e.company_id, e.bucket ORDER BY e.credit_id, e.bucket
                """, r => (r.GetInt64(0), r.GetString(1), r.GetString(2), _db.Money(r.GetValue(3))), ("p", oldId));
        }

        var postingId = $"post-{request.ApplicationYear}-{hash[..16]}";
        var result = new PostResult(postingId, true, hash, request.ApplicationYear, request.CreditingYear, request.Credits.Count, total, authors,
            superseded, reversal.Sum(x => x.Amount),
            superseded is null
                ? $"posted {request.Credits.Count} credits of {request.ApplicationYear}, EUR {Eur(total)} (authors' shares set aside EUR {Eur(authors)})"
                : $"posted {request.Credits.Count} credits of {request.ApplicationYear}, EUR {Eur(total)}, superseding {superseded} (reversed EUR {Eur(reversal.Sum(x => x.Amount))})");
        InsertOperation(tx, postingId, "post", request.IdempotencyKey, requestHash, result);
        Execute(tx, """
            INSERT INTO ledger_postings (posting_id, application_year, crediting_year, allocation_hash, rule_set_id, rule_set_hash, supersedes, posted_on, credit_count, total)
            VALUES (@id, @y, @cy, @h, @rs, @rh, @sup, @on, @n, @total)
            """, ("id", postingId), ("y", request.ApplicationYear), ("cy", request.CreditingYear), ("h", hash), ("rs", request.RuleSetId),
            ("rh", request.RuleSetHash), ("sup", (object?)superseded ?? DBNull.Value), ("on", request.PostedOn), ("n", request.Credits.Count),
            ("total", _db.Money(total)));

        var next = Query(tx, "SELECT COALESCE(MAX(credit_id), 0) FROM ledger_credits", r => r.GetInt64(0))[0] + 1;
        var credits = request.Credits.Select((x, i) => (Id: next + i, Credit: x)).ToList();
        _db.InsertCredits(tx, postingId, credits);
        if (PauseMidPosting)
        {
            Console.Error.WriteLine($"ledger: paused mid-posting, {credits.Count} credits written, no entry yet");
            Thread.Sleep(Timeout.Infinite);
        }
        var entries = new List<NewEntry>(credits.Count * 2 + reversal.Count);
        entries.AddRange(reversal.Select(x => new NewEntry(x.Credit, x.Company, x.Bucket, "reversal", -x.Amount, request.PostedOn, postingId,
            Rules.SupersedeRule.Cite)));
        foreach (var (id, x) in credits)
        {
            entries.Add(new NewEntry(id, x.CompanyId, Available, "credit", x.Amount - x.AuthorsShare, request.PostedOn, postingId, Rules.Posting.Cite));
            if (x.AuthorsShare != 0)
                entries.Add(new NewEntry(id, x.CompanyId, Authors, "authors_set_aside", x.AuthorsShare, request.PostedOn, postingId, Rules.AuthorsShares.Cite));
        }
        _db.InsertEntries(tx, entries);
        tx.Commit();
        _db.AfterBulk(c);
        return result;
    }

    private static void Validate(PostingRequest r)
    {
        if (r.Credits.Count == 0) throw Bad("credits", "art. 12.1", "an allocation with no credit has nothing to post");
        var seen = new HashSet<(string, string, string)>();
        for (var i = 0; i < r.Credits.Count; i++)
        {
            var x = r.Credits[i];
            if (string.IsNullOrEmpty(x.CompanyId)) throw Bad($"credits[{i}].company_id", "art. 12.1", "a credit names its company");
            if (!seen.Add((x.CompanyId, x.WorkId, x.QuotaId)))
                throw Bad($"credits[{i}]", "art. 12.1", $"company {x.CompanyId}, work {x.WorkId}, sub-quota {x.QuotaId} is credited twice");
            if (x.Amount <= 0 || decimal.Round(x.Amount, 2) != x.Amount)
                throw Bad($"credits[{i}].amount", "art. 12.1", $"a credit is a positive amount in euro and cents, got {x.Amount}");
            if (x.AuthorsShare < 0 || x.AuthorsShare > x.Amount || decimal.Round(x.AuthorsShare, 2) != x.AuthorsShare)
                throw Bad($"credits[{i}].authors_share", "art. 14.3", $"the authors' shares are between 0 and the credit, in cents, got {x.AuthorsShare}");
            if (x.ExpiresOn.Year <= x.CreditingYear)
                throw Bad($"credits[{i}].expires_on", "art. 12.5", $"a credit of {x.CreditingYear} cannot expire on {x.ExpiresOn:yyyy-MM-dd}");
        }
    }

    /// <summary>The allocation's identity: its year, rule set and every credit's money, hashed (SHA-256), in a canonical order.</summary>
    public static string AllocationHash(PostingRequest r)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new StringBuilder(256);
        void Add()
        {
            sha.AppendData(Encoding.UTF8.GetBytes(buffer.ToString()));
            buffer.Clear();
        }
        buffer.Append(CultureInfo.InvariantCulture, $"{r.ApplicationYear}|{r.CreditingYear}|{r.RuleSetId}|{r.RuleSetHash}\n");
        Add();
        var order = Enumerable.Range(0, r.Credits.Count).ToArray();
        Array.Sort(order, (a, b) =>
        {
            var (x, y) = (r.Credits[a], r.Credits[b]);
            var c = string.CompareOrdinal(x.CompanyId, y.CompanyId);
            if (c == 0) c = string.CompareOrdinal(x.WorkId, y.WorkId);
            return c != 0 ? c : string.CompareOrdinal(x.QuotaId, y.QuotaId);
        });
        foreach (var i in order)
        {
            var x = r.Credits[i];
            buffer.Append(x.CompanyId).Append('|').Append(x.WorkId).Append('|').Append(x.QuotaId).Append('|').Append(x.CreditingYear)
                .Append('|').Append(x.ExpiresOn.DayNumber).Append('|').Append(x.Amount.ToString("0.00", CultureInfo.InvariantCulture))
                .Append('|').Append(x.AuthorsShare.ToString("0.00", CultureInfo.InvariantCulture)).Append('\n');
            if (buffer.Length > 8192) Add();
        }
        Add();
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    // ---------------------------------------------------------------- expiry (art. 12.5, 12.6) and breach (art. 14.6)

    /// <summary>At <paramref name="on"/>, every credit past its deadline lapses back to the Fund, the day after it (art. 12.6).</summary>
    public ExpireResult Expire(DateOnly on, string? idempotencyKey = null)
    {
        var requestHash = Sha($"expire|{on:yyyy-MM-dd}");
        using var c = _db.Open();
        using var tx = _db.BeginWrite(c);
        _db.Lock(tx, GlobalLock);
        if (Replay<ExpireResult>(tx, idempotencyKey, "expire", requestHash) is { } replayed) return replayed with { Applied = false };
        var rows = Remaining(tx, "c.expires_on < @on", ("on", on));
        return Lapse(tx, rows, "expire", $"expire-{on:yyyyMMdd}-{Guid.NewGuid():N}", idempotencyKey, requestHash, on, Rules.Lapse.Cite,
            x => x.ExpiresOn.AddDays(1));
    }

    /// <summary>A breach of art. 14.6 (the Ministry's logo, the deposit at the Cineteca): the company's credits for the work lapse.</summary>
    public ExpireResult Breach(BreachRequest request)
    {
        var article = request.Clause switch
        {
            "logo" => Rules.Breach.Logo.Cite,
            "deposit" => Rules.Breach.Deposit.Cite,
            _ => throw Bad("clause", "art. 14.6", $"a breach is of the logo (14.6.a) or the deposit (14.6.b): 'logo' or 'deposit', got '{request.Clause}'"),
        };
        if (string.IsNullOrEmpty(request.CompanyId)) throw Bad("company_id", article, "a breach names the company");
        if (string.IsNullOrEmpty(request.WorkId)) throw Bad("work_id", article, "a breach names the work whose credits lapse");
        var requestHash = Sha($"breach|{request.CompanyId}|{request.WorkId}|{request.Clause}|{request.On:yyyy-MM-dd}");
        using var c = _db.Open();
        using var tx = _db.BeginWrite(c);
        _db.Lock(tx, GlobalLock);
        if (Replay<ExpireResult>(tx, request.IdempotencyKey, "breach", requestHash) is { } replayed) return replayed with { Applied = false };
        var rows = Remaining(tx, "c.company_id = @c AND c.work_id = @w", ("c", request.CompanyId), ("w", request.WorkId));
        return Lapse(tx, rows, "breach", $"breach-{Guid.NewGuid():N}", request.IdempotencyKey, requestHash, request.On, article, _ => request.On);
    }

    private sealed record RemainingRow(long CreditId, string CompanyId, string WorkId, string QuotaId, int CreditingYear, DateOnly ExpiresOn,
        string Bucket, decimal Amount);

    private List<RemainingRow> Remaining(DbTransaction tx, string where, params (string, object)[] args) => Query(tx, $"""
        SELECT c.credit_id, c.company_id, c.work_id, c.quota_id, c.crediting_year, c.expires_on, e.bucket, SUM(e.amount)
        FROM ledger_credits c JOIN ledger_entries e ON e.credit_id = c.credit_id
        WHERE {where}
        GROUP BY c.credit_id, c.company_id, c.work_id, c.quota_id, c.crediting_year, c.expires_on, e.bucket
        HAVING SUM(e.amount) <> 0
        ORDER BY c.company_id, c.credit_id, e.bucket
        """, r => new RemainingRow(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetFieldValue<DateOnly>(5),
        r.GetString(6), _db.Money(r.GetValue(7))), args);

    private ExpireResult Lapse(DbTransaction tx, List<RemainingRow> rows, string kind, string id, string? key, string requestHash, DateOnly on,
        string article, Func<RemainingRow, DateOnly> effective)
    {
        var companies = rows.GroupBy(x => x.CompanyId).Select(g => new CompanyLapse(g.Key, g.Sum(x => x.Amount),
            g.GroupBy(x => x.CreditId).Select(cg =>
            {
                var f = cg.First();
                return new CreditAmount(f.CreditId, f.WorkId, f.QuotaId, f.CreditingYear, f.ExpiresOn, cg.Sum(x => x.Amount));
            }).ToList())).ToList();
        var result = new ExpireResult(id, rows.Count > 0, on, article, rows.Sum(x => x.Amount), companies);
        if (rows.Count == 0)
        {
            tx.Commit();
            return result;
        }
        InsertOperation(tx, id, kind, key, requestHash, result);
        _db.InsertEntries(tx, rows.Select(x => new NewEntry(x.CreditId, x.CompanyId, x.Bucket, "lapse", -x.Amount, effective(x), id, article)).ToList());
        tx.Commit();
        return result;
    }

    // ---------------------------------------------------------------- statement (art. 12.7)

    /// <summary>
    /// The art. 12.7 statement of <paramref name="companyId"/> at <paramref name="at"/>: every entry effective by then,
    /// summed per credit and kind, with the works that earned them, the year credited and the year of the deadline.
    /// </summary>
    public Statement Statement(string companyId, DateOnly at)
    {
        using var c = _db.Open();
        using var tx = _db.BeginRead(c);
        var rows = Query(tx, """
            SELECT c.credit_id, c.posting_id, c.company_name, c.work_id, c.work_title, c.quota_id, c.crediting_year, c.expires_on,
                   e.kind, e.bucket, SUM(e.amount), COUNT(*)
            FROM ledger_credits c JOIN ledger_entries e ON e.credit_id = c.credit_id
            WHERE c.company_id = @c AND e.effective_on <= @at
            GROUP BY c.credit_id, c.posting_id, c.company_name, c.work_id, c.work_title, c.quota_id, c.crediting_year, c.expires_on, e.kind, e.bucket
            ORDER BY c.crediting_year, c.expires_on, c.credit_id
            """, r => (Credit: r.GetInt64(0), Posting: r.GetString(1), Name: r.GetString(2), Work: r.GetString(3), Title: r.GetString(4),
            Quota: r.GetString(5), Year: r.GetInt32(6), Expires: r.GetFieldValue<DateOnly>(7), Kind: r.GetString(8), Bucket: r.GetString(9),
            Amount: _db.Money(r.GetValue(10)), Count: r.GetInt64(11)), ("c", companyId), ("at", at));
        var draws = Query(tx, """
            SELECT draw_id, requested_on, new_work_id, use, stage, amount FROM ledger_draws WHERE company_id = @c AND requested_on <= @at
            ORDER BY requested_on, draw_id
            """, r => new StatementDraw(r.GetString(0), r.GetFieldValue<DateOnly>(1), r.GetString(2), r.GetString(3), r.GetString(4),
            _db.Money(r.GetValue(5))), ("c", companyId), ("at", at));
        tx.Commit();
        if (rows.Count == 0)
        {
            var known = KnownCompany(companyId);
            if (!known) throw new LedgerRefusal(RefusalKind.NotFound, "company_id", "art. 12.1", $"company {companyId} has no position in the ledger");
        }
        decimal Sum(IEnumerable<(long, string, string, string, string, string, int, DateOnly, string Kind, string Bucket, decimal Amount, long)> g,
            Func<string, string, bool> f) => g.Where(x => f(x.Kind, x.Bucket)).Sum(x => x.Amount);
        var lines = rows.GroupBy(x => x.Credit).Select(g =>
        {
            var f = g.First();
            return new StatementLine(f.Credit, f.Posting, f.Work, f.Title, f.Quota, f.Year, f.Expires,
                Sum(g, (k, _) => k is "credit" or "authors_set_aside"), -Sum(g, (k, _) => k == "reversal"), -Sum(g, (k, _) => k == "draw"),
                -Sum(g, (k, _) => k == "lapse"), Sum(g, (_, b) => b == Authors), Sum(g, (_, b) => b == Available));
        }).ToList();
        return new Statement(companyId, rows.Count > 0 ? rows[^1].Name : companyId, at, lines.Sum(x => x.Credited), lines.Sum(x => x.Reversed),
            lines.Sum(x => x.Drawn), lines.Sum(x => x.Lapsed), lines.Sum(x => x.AuthorsSetAside), lines.Sum(x => x.Available),
            (int)rows.Sum(x => x.Count), lines, draws);
    }

    private bool KnownCompany(string companyId)
    {
        using var c = _db.Open();
        using var tx = _db.BeginRead(c);
        return Query(tx, "SELECT COUNT(*) FROM ledger_credits WHERE company_id = @c", r => r.GetInt64(0), ("c", companyId))[0] > 0;
    }

    /// <summary>Every entry of a company's position (or of every position), in the order written.</summary>
    public IReadOnlyList<JournalEntry> Journal(string? companyId = null)
    {
        using var c = _db.Open();
        using var tx = _db.BeginRead(c);
        return Query(tx, $"""
            SELECT entry_id, credit_id, company_id, bucket, kind, amount, effective_on, source_id, article FROM ledger_entries
            {(companyId is null ? "" : "WHERE company_id = @c")} ORDER BY entry_id
            """, r => new JournalEntry(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4), _db.Money(r.GetValue(5)),
            r.GetFieldValue<DateOnly>(6), r.GetString(7), r.GetString(8)), companyId is null ? [] : [("c", companyId)]);
    }

    /// <summary>The companies with a position, in id order.</summary>
    public IReadOnlyList<string> Companies()
    {
        using var c = _db.Open();
        using var tx = _db.BeginRead(c);
        return Query(tx, "SELECT DISTINCT company_id FROM ledger_credits ORDER BY company_id", r => r.GetString(0));
    }

    // ---------------------------------------------------------------- plumbing

    private static T? Replay<T>(DbTransaction tx, string? key, string kind, string requestHash) where T : class
    {
        if (key is null) return null;
        if (key.Length is 0 or > 200) throw Bad("idempotency_key", "art. 12.1", "an idempotency key is 1 to 200 characters");
        var rows = Query(tx, "SELECT operation_id, kind, request_hash, response FROM ledger_operations WHERE idempotency_key = @k",
            r => (Id: r.GetString(0), Kind: r.GetString(1), Hash: r.GetString(2), Response: r.GetString(3)), ("k", key));
        if (rows.Count == 0) return null;
        var row = rows[0];
        if (row.Kind != kind || row.Hash != requestHash)
            throw new LedgerRefusal(RefusalKind.FailedPrecondition, "idempotency_key", "art. 12.1",
                $"key '{key}' was used for another request ({row.Kind} {row.Id}); a retry must repeat the same request");
        tx.Commit();
        return JsonSerializer.Deserialize<T>(row.Response);
    }

    private void InsertOperation(DbTransaction tx, string id, string kind, string? key, string requestHash, object response) =>
        Execute(tx, """
            INSERT INTO ledger_operations (operation_id, kind, idempotency_key, request_hash, response, recorded_at)
            VALUES (@id, @kind, @key, @hash, @response, @at)
            """, ("id", id), ("kind", kind), ("key", (object?)key ?? DBNull.Value), ("hash", requestHash),
            ("response", JsonSerializer.Serialize(response, response.GetType())), ("at", RecordedAt()));

    private object RecordedAt() => _db is PostgresDialect ? DateTime.UtcNow : DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    private static List<T> Query<T>(DbTransaction tx, string sql, Func<DbDataReader, T> read, params (string Name, object Value)[] args)
    {
        using var cmd = Command(tx, sql, args);
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read()) list.Add(read(r));
        return list;
    }

    private static void Execute(DbTransaction tx, string sql, params (string Name, object Value)[] args)
    {
        using var cmd = Command(tx, sql, args);
        cmd.ExecuteNonQuery();
    }

    private static DbCommand Command(DbTransaction tx, string sql, (string Name, object Value)[] args)
    {
        var cmd = tx.Connection!.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    internal static string Sha(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));

    internal static string Eur(decimal d) => d.ToString("#,##0.00", CultureInfo.InvariantCulture);

    private static LedgerRefusal Bad(string field, string article, string reason) => new(RefusalKind.InvalidArgument, field, article, reason);
}
