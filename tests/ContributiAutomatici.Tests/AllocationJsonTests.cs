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

    /// <summary>A synthetic dm-2021 year of 40 companies and 300 works (seed 11), allocated.</summary>
    private static AllocationOutcome SmallYear()
    {
        var rs = Repo.Catalog.Find("dm-2021")!;
        var reader = new AllocationMapper.Reader(Repo.Catalog);
        foreach (var item in YearSynthesizer.Items(rs, 40, 300, 11, 2023, 1_000_000m)) reader.Add(item);
        return Allocator.Run(reader.Build());
    }

    [Fact]
    public void The_streamed_json_is_the_whole_result_formatted_at_once()
    {
        var outcome = SmallYear();
        var items = AllocationMapper.Items(outcome).ToList();
        Assert.Contains(items, i => i.ItemCase == V1.AllocateResponse.ItemOneofCase.Exclusion);
        Same(items);
        Same(AllocationMapper.Items(outcome, [outcome.Companies[3].Id]).ToList());
        Same(items.Take(1).ToList());
        Same(items.Where(i => i.ItemCase != V1.AllocateResponse.ItemOneofCase.Work).ToList());
        Same([]);
    }

    /// <summary>
    /// The stream's items (<see cref="AllocationMapper.Stream"/>: one message per kind, rewritten for each statement, what the
    /// server and `allocate --json` write) are, one by one, the bytes of the items made each as a message of its own, and
    /// their JSON is the whole result's: statements with more credits, lines, claims and shares followed by ones with fewer.
    /// </summary>
    [Fact]
    public void The_stream_rewrites_one_message_per_kind_into_the_same_bytes()
    {
        var outcome = SmallYear();
        Assert.Contains(outcome.Works, w => w.Claims.Count > 1);
        Assert.Contains(outcome.Works, w => w.Claims.Count == 1);
        Assert.Contains(outcome.Companies, c => c.Credits.Count > 1 || c.Credits.Any(x => x.Lines.Count > 1));
        foreach (var statementsFor in new[] { null, new[] { outcome.Companies[3].Id, outcome.Companies[7].Id } })
        {
            var made = AllocationMapper.Items(outcome, statementsFor).Select(i => Convert.ToBase64String(i.ToByteArray())).ToList();
            var streamed = new List<string>();
            var companies = new HashSet<V1.CompanyStatement>(ReferenceEqualityComparer.Instance);
            var works = new HashSet<V1.WorkStatement>(ReferenceEqualityComparer.Instance);
            foreach (var item in AllocationMapper.Stream(outcome, statementsFor))
            {
                streamed.Add(Convert.ToBase64String(item.ToByteArray()));
                if (item.Company is { } c) companies.Add(c);
                if (item.Work is { } w) works.Add(w);
            }
            Assert.Equal(made, streamed);
            // One message per kind, rewritten (not one per statement).
            Assert.Single(companies);
            Assert.Single(works);
            var whole = Indented.Format(AllocationMapper.Result(AllocationMapper.Items(outcome, statementsFor)));
            var json = new StringWriter();
            AllocationMapper.WriteJson(AllocationMapper.Stream(outcome, statementsFor), Indented, json);
            Assert.Equal(whole, json.ToString());
        }
    }
}
