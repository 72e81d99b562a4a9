using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ContributiAutomatici.Ledger.Tests;

/// <summary>
/// Issue 29 item 3 on each database: 32 concurrent draws against the same credits never spend more than the balance;
/// 32 concurrent retries of one idempotency key apply it once; the journal refuses UPDATE and DELETE at the database.
/// </summary>
public class LedgerFaultTests
{
    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public async Task ThirtyTwoConcurrentDraws_NeverSpendMoreThanTheBalance(string backend)
    {
        var target = Backends.NewTarget(backend);
        var ledger = LedgerStore.Open(target);
        ledger.Post(LedgerTests.Small(2023, ("acme", "w1", 6_000m), ("acme", "w2", 4_000m)));
        // Each its own store (own connections), as 32 server calls or processes would be; 500 each: 20 fit in 10,000.
        var stores = Enumerable.Range(0, 32).Select(_ => LedgerStore.Open(target)).ToList();
        using var start = new Barrier(32);
        var outcomes = await Task.WhenAll(stores.Select((s, i) => OnItsOwnThread(() =>
        {
            start.SignalAndWait();
            try
            {
                return (object)s.Draw(LedgerTests.Draw("acme", 500m, work: $"nuova-{i}"));
            }
            catch (LedgerRefusal e)
            {
                return e;
            }
        })));
        var accepted = outcomes.OfType<DrawResult>().ToList();
        var refused = outcomes.OfType<LedgerRefusal>().ToList();
        Assert.Equal(20, accepted.Count);
        Assert.Equal(12, refused.Count);
        Assert.All(refused, e => Assert.Equal(("amount", "art. 12.2"), (e.Field, e.Article)));
        var s = ledger.Statement("acme", new DateOnly(2024, 12, 31));
        Assert.Equal((10_000m, 0m, 20), (s.Drawn, s.Available, s.Draws.Count));
        LedgerTests.AssertJournalSumsTo(ledger, s);
        // No credit went below zero at any point of the journal's order.
        foreach (var credit in ledger.Journal("acme").GroupBy(e => e.CreditId))
        {
            var running = 0m;
            foreach (var e in credit.OrderBy(e => e.EntryId))
            {
                running += e.Amount;
                Assert.True(running >= 0, $"credit {credit.Key} went to {running} at entry {e.EntryId}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public async Task ThirtyTwoConcurrentRetriesOfOneIdempotencyKey_AreAppliedOnce(string backend)
    {
        var target = Backends.NewTarget(backend);
        var ledger = LedgerStore.Open(target);
        ledger.Post(LedgerTests.Small(2023, ("acme", "w1", 10_000m)));
        var request = LedgerTests.Draw("acme", 700m) with { IdempotencyKey = "retry-me" };
        using var start = new Barrier(32);
        var results = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => LedgerStore.Open(target)).Select(s => OnItsOwnThread(() =>
        {
            start.SignalAndWait();
            return s.Draw(request);
        })));
        Assert.Single(results, r => r.Applied);
        Assert.Single(results.Select(r => r.DrawId).Distinct());
        Assert.Equal(700m, ledger.Statement("acme", new DateOnly(2024, 12, 31)).Drawn);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void TheJournal_RefusesUpdateAndDelete_AtTheDatabase(string backend)
    {
        var target = Backends.NewTarget(backend);
        var ledger = LedgerStore.Open(target);
        ledger.Post(LedgerTests.Small(2023, ("acme", "w1", 1_000m)));
        using var c = Connect(backend, target);
        foreach (var sql in new[]
                 {
                     "UPDATE ledger_entries SET amount = amount * 2", "DELETE FROM ledger_entries", "UPDATE ledger_credits SET amount = 0",
                     "DELETE FROM ledger_postings", "DELETE FROM ledger_operations",
                 })
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            var e = Assert.ThrowsAny<DbException>(() => cmd.ExecuteNonQuery());
            Assert.Contains("append-only", e.Message);
        }
        Assert.Equal(1_000m, ledger.Statement("acme", new DateOnly(2024, 12, 31)).Held);
    }

    /// <summary>A dedicated thread per caller (32 blocked on the barrier would starve the 2-core machine's thread pool).</summary>
    private static Task<T> OnItsOwnThread<T>(Func<T> f) => Task.Factory.StartNew(f, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    internal static DbConnection Connect(string backend, string target)
    {
        DbConnection c = backend == "sqlite" ? new SqliteConnection($"Data Source={target}") : new NpgsqlConnection(target);
        c.Open();
        return c;
    }
}
