using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Tooling;

namespace ContributiAutomatici.Tests;

/// <summary>
/// Issue 27 item 2: the allocation runs its independent pieces side by side (the claims' scorings and parts, each paying quota's
/// money, the works' statements: <c>Allocator.Run(input, workers)</c>) and the stream's items are written side by side
/// (<c>AllocationMapper.Frames(outcome, statementsFor, workers)</c>). Whatever the workers, the outcome and its items are the
/// same, byte for byte, as one by one: a synthetic year large enough for several blocks of claims, of works and of scorings
/// shared by a work's claimants, and quotas of thousands of parts, under both excess policies.
/// </summary>
public class AllocationParallelTests
{
    private static AllocationInput Year()
    {
        var rs = Repo.Catalog.Find("dm-2021")!;
        var reader = new AllocationMapper.Reader(Repo.Catalog);
        foreach (var item in YearSynthesizer.Items(rs, 600, 6_000, 5, 2023, 20_000_000m)) reader.Add(item);
        return reader.Build();
    }

    private static byte[] Bytes(IEnumerable<ReadOnlyMemory<byte>> frames)
    {
        var all = new List<byte>();
        foreach (var f in frames)
        {
            all.AddRange(BitConverter.GetBytes(f.Length));
            all.AddRange(f.ToArray());
        }
        return [.. all];
    }

    private static string Json(AllocationOutcome o)
    {
        var json = new StringWriter();
        AllocationMapper.WriteJson(o, null, json);
        return json.ToString();
    }

    [Fact]
    public void Side_by_side_the_outcome_and_its_items_are_the_same_as_one_by_one()
    {
        var input = Year();
        // Several blocks of 2,048 claims and works, over 256 scorings of a work and role claimed by several companies.
        Assert.True(input.Claims.Count > 3 * 2048);
        Assert.True(input.Claims.GroupBy(c => (c.WorkId, c.Role.Role)).Count(g => g.Count() > 1) > 512);
        foreach (var excess in new ExcessPolicy?[] { ExcessPolicy.Unassigned, ExcessPolicy.Redistribute })
        {
            var year = input with { ExcessOverride = excess };
            var one = Allocator.Run(year, workers: 1);
            Assert.Contains(one.Quotas, q => q.Pays && q.TotalPoints > 0);
            Assert.True(one.Companies.Sum(c => c.Credits.Sum(x => x.Lines.Count)) > 4096);
            var expected = Bytes(AllocationMapper.Frames(one, null, workers: 1));
            var json = Json(one);
            foreach (var workers in new[] { 2, 3, 4 })
            {
                var side = Allocator.Run(year, workers);
                Assert.Equal(expected, Bytes(AllocationMapper.Frames(side, null, workers: 1)));
                Assert.Equal(expected, Bytes(AllocationMapper.Frames(side, null, workers)));
                Assert.Equal(json, Json(side));
            }
            // A company's statements only, written side by side.
            string[] some = [one.Companies[5].Id, one.Companies[400].Id];
            Assert.Equal(Bytes(AllocationMapper.Frames(one, some, workers: 1)), Bytes(AllocationMapper.Frames(one, some, workers: 2)));
        }
    }

    [Fact]
    public void Items_written_side_by_side_can_be_left_after_a_few()
    {
        var outcome = Allocator.Run(Year(), workers: 2);
        var all = AllocationMapper.Frames(outcome, null, workers: 1).Select(f => f.ToArray()).ToList();
        // The caller stops after a few items (a cancelled stream): the workers stop, the items read are the first ones.
        var few = AllocationMapper.Frames(outcome, null, workers: 4).Take(300).Select(f => f.ToArray()).ToList();
        Assert.Equal(all.Take(300), few);
        Assert.Equal(all.Count, AllocationMapper.Frames(outcome, null, workers: 4).Count());
    }
}
