using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ContributiAutomatici.Ledger.Tests;

/// <summary>
/// The money the ledger shows reconciles, as properties: a company's credit split over its works sums to it to the cent,
/// each work's part within a cent of its exact share; and after any sequence of postings, draws (some refused), breaches
/// and expiries, every statement's parts sum to its whole (credited = reversed + drawn + lapsed + held, held = set aside +
/// available, per line and in total), every figure is the journal's entries summed, and no credit goes below zero.
/// </summary>
public class LedgerPropertyTests
{
    [Property(MaxTest = 300)]
    public Property Split_SumsToTheTotal_EachPartWithinACentOfItsShare(PositiveInt cents, NonEmptyArray<NonNegativeInt> weights)
    {
        var total = cents.Get / 100m;
        var w = weights.Get.Select(x => (decimal)x.Get / 7m).ToList();
        var parts = AllocationPosting.Split(total, w);
        var sum = w.Sum();
        var ok = parts.Sum() == total && parts.All(p => p >= 0 && decimal.Round(p, 2) == p)
                 && (sum == 0 || parts.Select((p, i) => Math.Abs(p - total * w[i] / sum)).All(d => d < 0.01m));
        return ok.Label($"total {total}, weights [{string.Join(", ", w)}] -> [{string.Join(", ", parts)}]");
    }

    [Property(MaxTest = 25)]
    public void AnySequence_KeepsEveryStatementReconciled_AndNoCreditBelowZero(int seed)
    {
        var rnd = new Random(seed);
        var ledger = Backends.Open("sqlite");
        var companies = Enumerable.Range(0, rnd.Next(1, 4)).Select(i => $"c{i}").ToList();
        for (var year = 2023; year <= 2024; year++)
        {
            var credits = companies.SelectMany(c => Enumerable.Range(0, rnd.Next(1, 4)).Select(w => (c, $"w{year}-{w}", rnd.Next(1, 100_000_00) / 100m))).ToArray();
            var posting = LedgerTests.Small(year, credits);
            if (rnd.Next(2) == 0)
                posting = posting with { Credits = [.. posting.Credits.Select(x => x with { AuthorsShare = 4 * Math.Round(x.Amount * 0.015m, 2, MidpointRounding.AwayFromZero) })] };
            ledger.Post(posting);
        }
        for (var i = 0; i < rnd.Next(0, 12); i++)
        {
            var on = new DateOnly(2025, 1, 1).AddDays(rnd.Next(0, 5 * 365));
            switch (rnd.Next(6))
            {
                case 0:
                    ledger.Expire(on);
                    break;
                case 1:
                    ledger.Breach(new BreachRequest(companies[rnd.Next(companies.Count)], $"w2023-{rnd.Next(3)}", "logo", on));
                    break;
                default:
                    try
                    {
                        ledger.Draw(LedgerTests.Draw(companies[rnd.Next(companies.Count)], rnd.Next(1, 60_000_00) / 100m, on, $"n{i}"));
                    }
                    catch (LedgerRefusal e) when (e.Article == "art. 12.2")
                    {
                        // more than is available at that date: refused, nothing written
                    }
                    break;
            }
        }
        foreach (var c in companies)
        foreach (var at in new[] { new DateOnly(2024, 6, 30), new DateOnly(2027, 1, 1), new DateOnly(2031, 1, 1) })
        {
            var s = ledger.Statement(c, at);
            LedgerTests.AssertJournalSumsTo(ledger, s);
            Assert.Equal(s.Credited, s.Reversed + s.Drawn + s.Lapsed + s.Held);
            Assert.All(s.Lines, l =>
            {
                Assert.Equal(l.Credited, l.Reversed + l.Drawn + l.Lapsed + l.Held);
                Assert.True(l.Available >= 0 && l.AuthorsSetAside >= 0 && l.Drawn >= 0 && l.Lapsed >= 0, $"credit {l.CreditId} at {at}: {l}");
            });
        }
        foreach (var credit in ledger.Journal().GroupBy(e => (e.CreditId, e.Bucket)))
        {
            var running = 0m;
            foreach (var e in credit.OrderBy(e => e.EntryId)) Assert.True((running += e.Amount) >= 0, $"credit {credit.Key} at entry {e.EntryId}: {running}");
        }
    }
}
