using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using ContributiAutomatici.Tooling;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>
/// Issue 27 item 2: `allocate --json` streams its output item by item (<see cref="AllocationMapper.WriteJson"/>); the text must be
/// the whole AllocationResult formatted at once, byte for byte: a synthetic year, a company's statements only, and a year
/// with nothing but its summary.
/// </summary>
public class AllocationJsonTests
{
    private static readonly JsonFormatter Indented = new(JsonFormatter.Settings.Default.WithIndentation());

    private static void Same(IReadOnlyList<V1.AllocateResponse> items)
    {
        var whole = Indented.Format(AllocationMapper.Result(items));
        var streamed = new StringWriter();
        AllocationMapper.WriteJson(items, Indented, streamed);
        Assert.Equal(whole, streamed.ToString());
    }

    [Fact]
    public void The_streamed_json_is_the_whole_result_formatted_at_once()
    {
        var rs = Repo.Catalog.Find("dm-2021")!;
        var reader = new AllocationMapper.Reader(Repo.Catalog);
        foreach (var item in YearSynthesizer.Items(rs, 40, 300, 11, 2023, 1_000_000m)) reader.Add(item);
        var outcome = Allocator.Run(reader.Build());
        var items = AllocationMapper.Items(outcome).ToList();
        Assert.Contains(items, i => i.ItemCase == V1.AllocateResponse.ItemOneofCase.Exclusion);
        Same(items);
        Same(AllocationMapper.Items(outcome, [outcome.Companies[3].Id]).ToList());
        Same(items.Take(1).ToList());
        Same(items.Where(i => i.ItemCase != V1.AllocateResponse.ItemOneofCase.Work).ToList());
        Same([]);
    }
}
