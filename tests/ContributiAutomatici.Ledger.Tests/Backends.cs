using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;
using Npgsql;

namespace ContributiAutomatici.Ledger.Tests;

/// <summary>
/// The databases every ledger test runs against: SQLite always; PostgreSQL when CONTRIBUTI_LEDGER_POSTGRES holds a
/// connection string to a server (.ci/run starts one with start-postgres.sh). Under CI=true PostgreSQL is required:
/// without it the PostgreSQL cases fail, they are not skipped.
/// </summary>
public static class Backends
{
    public const string PostgresVariable = "CONTRIBUTI_LEDGER_POSTGRES";

    private static string? Postgres => Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } s ? s : null;

    private static bool Ci => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>"sqlite", and "postgres" when a server is given or CI runs.</summary>
    public static TheoryData<string> All => new(Names);

    public static IReadOnlyList<string> Names => Postgres is not null || Ci ? ["sqlite", "postgres"] : ["sqlite"];

    /// <summary>A new, empty ledger on the backend: a file in a new folder, or a new PostgreSQL database.</summary>
    public static string NewTarget(string backend)
    {
        if (backend == "sqlite") return Path.Combine(Directory.CreateTempSubdirectory("contributi-ledger-").FullName, "ledger.db");
        var admin = Postgres ?? throw new InvalidOperationException(
            $"CI=true and {PostgresVariable} is not set: the ledger tests must run on PostgreSQL in CI (.ci/run starts one)");
        var name = "ledger_" + Guid.NewGuid().ToString("N")[..16];
        using (var c = new NpgsqlConnection(admin))
        {
            c.Open();
            using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            cmd.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    public static LedgerStore Open(string backend) => LedgerStore.Open(NewTarget(backend));
}

/// <summary>The repository and its rules, compiled once per test run (through the compiled-rules cache, $CONTRIBUTI_RULES_CACHE or the default).</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    private static readonly Lazy<RuleCatalog> LazyCatalog = new(() => RuleCatalog.Load(Path.Combine(Root, "rules"),
        new RuleCompileOptions()));

    public static RuleCatalog Catalog => LazyCatalog.Value;

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ContributiAutomatici.sln"))) return d.FullName;
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }
}
