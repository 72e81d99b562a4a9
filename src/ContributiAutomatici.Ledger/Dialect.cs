using System.Data;
using System.Data.Common;
using DbUp;
using DbUp.Engine;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace ContributiAutomatici.Ledger;

/// <summary>
/// What differs between the two databases: opening a connection and a writing transaction, the locks that serialize
/// writers, how money is stored (SQLite: INTEGER cents; PostgreSQL: numeric), the migration runner's target, and the
/// bulk insert of a posting (SQLite: one prepared statement reused; PostgreSQL: binary COPY).
/// </summary>
internal abstract class Dialect
{
    public abstract string Name { get; }

    public abstract DbConnection Open();

    /// <summary>A writing transaction; on SQLite BEGIN IMMEDIATE, so writers queue (busy_timeout) instead of failing.</summary>
    public abstract DbTransaction BeginWrite(DbConnection connection);

    /// <summary>A reading transaction: one snapshot for a statement's several queries.</summary>
    public abstract DbTransaction BeginRead(DbConnection connection);

    /// <summary>Serializes writers on <paramref name="key"/> until the transaction ends (SQLite: the write lock already does).</summary>
    public abstract void Lock(DbTransaction tx, string key, bool shared = false);

    public abstract object Money(decimal amount);

    public abstract decimal Money(object value);

    public abstract DatabaseUpgradeResult Migrate();

    public abstract void InsertCredits(DbTransaction tx, string postingId, IReadOnlyList<(long Id, PostingCredit Credit)> credits);

    public abstract void InsertEntries(DbTransaction tx, IReadOnlyList<NewEntry> entries);

    /// <summary>After a bulk posting is committed: the planner's statistics brought up to date (PostgreSQL; SQLite plans by its indexes).</summary>
    public virtual void AfterBulk(DbConnection connection)
    {
    }

    /// <summary>The migration scripts of this database, embedded (Migrations/&lt;name&gt;/NNNN_*.sql).</summary>
    protected Func<string, bool> Scripts => s => s.Contains($".Migrations.{Name}.", StringComparison.Ordinal);

    public static Dialect For(string target) =>
        target.StartsWith("Host=", StringComparison.OrdinalIgnoreCase) || target.StartsWith("Server=", StringComparison.OrdinalIgnoreCase)
        || target.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || target.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            ? new PostgresDialect(target)
            : new SqliteDialect(target);
}

/// <summary>One journal entry to write.</summary>
internal sealed record NewEntry(long CreditId, string CompanyId, string Bucket, string Kind, decimal Amount, DateOnly EffectiveOn, string SourceId,
    string Article);

internal sealed class SqliteDialect : Dialect
{
    private readonly string _connectionString;

    public SqliteDialect(string path)
    {
        var full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is { Length: > 0 } dir) Directory.CreateDirectory(dir);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = full, Pooling = true, DefaultTimeout = 60 }.ToString();
    }

    public override string Name => "sqlite";

    public override DbConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        using var pragma = c.CreateCommand();
        // busy_timeout: a writer waits for the one writing instead of failing (SQLite has one writer at a time);
        // synchronous FULL: a committed posting survives a crash or power loss; a 64 MiB page cache, so a year's posting
        // updates its indexes in memory. (WAL is set once, in the file, by Migrate.)
        pragma.CommandText = "PRAGMA busy_timeout = 60000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;";
        pragma.ExecuteNonQuery();
        return c;
    }

    public override DbTransaction BeginWrite(DbConnection connection) => ((SqliteConnection)connection).BeginTransaction(deferred: false);

    public override DbTransaction BeginRead(DbConnection connection) => ((SqliteConnection)connection).BeginTransaction(deferred: true);

    public override void Lock(DbTransaction tx, string key, bool shared = false)
    {
        // BEGIN IMMEDIATE took the database's write lock: one writer at a time, every read in it sees the last commit.
    }

    public override object Money(decimal amount) => decimal.ToInt64(decimal.Round(amount * 100m, 0, MidpointRounding.AwayFromZero)) is var cents
        && cents / 100m == amount ? cents : throw new ArgumentException($"{amount} is not a whole number of cents");

    public override decimal Money(object value) => value is DBNull ? 0m : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) / 100m;

    public override DatabaseUpgradeResult Migrate()
    {
        using (var c = Open())
        using (var wal = c.CreateCommand())
        {
            // WAL, kept in the file: readers do not block the writer, nor the writer the readers.
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            wal.ExecuteNonQuery();
        }
        return DeployChanges.To.SqliteDatabase(_connectionString)
            .WithScriptsEmbeddedInAssembly(typeof(Dialect).Assembly, Scripts).WithTransaction().LogToNowhere().Build().PerformUpgrade();
    }

    public override void InsertCredits(DbTransaction tx, string postingId, IReadOnlyList<(long Id, PostingCredit Credit)> credits)
    {
        using var cmd = tx.Connection!.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO ledger_credits (credit_id, posting_id, company_id, company_name, work_id, work_title, quota_id, crediting_year, expires_on, amount, authors_share)
            VALUES ($id, $posting, $company, $name, $work, $title, $quota, $year, $expires, $amount, $authors)
            """;
        var p = Parameters(cmd, "$id", "$posting", "$company", "$name", "$work", "$title", "$quota", "$year", "$expires", "$amount", "$authors");
        cmd.Prepare();
        foreach (var (id, c) in credits)
        {
            p[0].Value = id; p[1].Value = postingId; p[2].Value = c.CompanyId; p[3].Value = c.CompanyName; p[4].Value = c.WorkId;
            p[5].Value = c.WorkTitle; p[6].Value = c.QuotaId; p[7].Value = c.CreditingYear; p[8].Value = c.ExpiresOn;
            p[9].Value = Money(c.Amount); p[10].Value = Money(c.AuthorsShare);
            cmd.ExecuteNonQuery();
        }
    }

    public override void InsertEntries(DbTransaction tx, IReadOnlyList<NewEntry> entries)
    {
        using var cmd = tx.Connection!.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO ledger_entries (credit_id, company_id, bucket, kind, amount, effective_on, source_id, article)
            VALUES ($credit, $company, $bucket, $kind, $amount, $on, $source, $article)
            """;
        var p = Parameters(cmd, "$credit", "$company", "$bucket", "$kind", "$amount", "$on", "$source", "$article");
        cmd.Prepare();
        foreach (var e in entries)
        {
            p[0].Value = e.CreditId; p[1].Value = e.CompanyId; p[2].Value = e.Bucket; p[3].Value = e.Kind; p[4].Value = Money(e.Amount);
            p[5].Value = e.EffectiveOn; p[6].Value = e.SourceId; p[7].Value = e.Article;
            cmd.ExecuteNonQuery();
        }
    }

    private static DbParameter[] Parameters(DbCommand cmd, params string[] names) => names.Select(n =>
    {
        var p = cmd.CreateParameter();
        p.ParameterName = n;
        p.Value = DBNull.Value;
        cmd.Parameters.Add(p);
        return p;
    }).ToArray();
}

internal sealed class PostgresDialect(string connectionString) : Dialect
{
    private readonly NpgsqlDataSource _source = NpgsqlDataSource.Create(connectionString);

    public override string Name => "postgres";

    public override DbConnection Open() => _source.OpenConnection();

    // READ COMMITTED with the advisory locks below taken first: each later statement sees what the previous holder committed.
    public override DbTransaction BeginWrite(DbConnection connection) => connection.BeginTransaction(IsolationLevel.ReadCommitted);

    public override DbTransaction BeginRead(DbConnection connection) => connection.BeginTransaction(IsolationLevel.RepeatableRead);

    public override void Lock(DbTransaction tx, string key, bool shared = false)
    {
        using var cmd = tx.Connection!.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = shared ? "SELECT pg_advisory_xact_lock_shared(hashtextextended(@k, 0))" : "SELECT pg_advisory_xact_lock(hashtextextended(@k, 0))";
        var p = cmd.CreateParameter();
        p.ParameterName = "k";
        p.Value = "contributi-ledger:" + key;
        cmd.Parameters.Add(p);
        cmd.ExecuteNonQuery();
    }

    public override object Money(decimal amount) => amount;

    // A year's posting adds some 350,000 rows: without fresh statistics the draws' queries are planned as on the empty
    // tables until autovacuum's analyze comes round (draws 2-4 times slower meanwhile).
    public override void AfterBulk(DbConnection connection)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "ANALYZE ledger_credits, ledger_entries";
        cmd.ExecuteNonQuery();
    }

    public override decimal Money(object value) => value is DBNull ? 0m : Convert.ToDecimal(value, System.Globalization.CultureInfo.InvariantCulture);

    public override DatabaseUpgradeResult Migrate()
    {
        // Two processes migrating at once (replicas starting together) take turns on a session lock.
        using var c = (NpgsqlConnection)Open();
        using (var l = new NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended('contributi-ledger:migrate', 0))", c)) l.ExecuteNonQuery();
        try
        {
            return DeployChanges.To.PostgresqlDatabase(connectionString)
                .WithScriptsEmbeddedInAssembly(typeof(Dialect).Assembly, Scripts).WithTransaction().LogToNowhere().Build().PerformUpgrade();
        }
        finally
        {
            using var u = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtextextended('contributi-ledger:migrate', 0))", c);
            u.ExecuteNonQuery();
        }
    }

    public override void InsertCredits(DbTransaction tx, string postingId, IReadOnlyList<(long Id, PostingCredit Credit)> credits)
    {
        using var w = ((NpgsqlConnection)tx.Connection!).BeginBinaryImport(
            "COPY ledger_credits (credit_id, posting_id, company_id, company_name, work_id, work_title, quota_id, crediting_year, expires_on, amount, authors_share) FROM STDIN (FORMAT BINARY)");
        foreach (var (id, c) in credits)
        {
            w.StartRow();
            w.Write(id, NpgsqlDbType.Bigint);
            w.Write(postingId, NpgsqlDbType.Text);
            w.Write(c.CompanyId, NpgsqlDbType.Text);
            w.Write(c.CompanyName, NpgsqlDbType.Text);
            w.Write(c.WorkId, NpgsqlDbType.Text);
            w.Write(c.WorkTitle, NpgsqlDbType.Text);
            w.Write(c.QuotaId, NpgsqlDbType.Text);
            w.Write(c.CreditingYear, NpgsqlDbType.Integer);
            w.Write(c.ExpiresOn, NpgsqlDbType.Date);
            w.Write(c.Amount, NpgsqlDbType.Numeric);
            w.Write(c.AuthorsShare, NpgsqlDbType.Numeric);
        }
        w.Complete();
    }

    public override void InsertEntries(DbTransaction tx, IReadOnlyList<NewEntry> entries)
    {
        using var w = ((NpgsqlConnection)tx.Connection!).BeginBinaryImport(
            "COPY ledger_entries (credit_id, company_id, bucket, kind, amount, effective_on, source_id, article) FROM STDIN (FORMAT BINARY)");
        foreach (var e in entries)
        {
            w.StartRow();
            w.Write(e.CreditId, NpgsqlDbType.Bigint);
            w.Write(e.CompanyId, NpgsqlDbType.Text);
            w.Write(e.Bucket, NpgsqlDbType.Text);
            w.Write(e.Kind, NpgsqlDbType.Text);
            w.Write(e.Amount, NpgsqlDbType.Numeric);
            w.Write(e.EffectiveOn, NpgsqlDbType.Date);
            w.Write(e.SourceId, NpgsqlDbType.Text);
            w.Write(e.Article, NpgsqlDbType.Text);
        }
        w.Complete();
    }
}
