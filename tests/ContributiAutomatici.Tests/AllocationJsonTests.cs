using ContributiAutomatici.Engine.Allocation;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using ContributiAutomatici.Tooling;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>
/// Issue 27 item 2: the year's result is written straight from the outcome, field by field, without its messages: the gRPC
/// stream's items (<see cref="AllocationMapper.Frames"/>, protobuf's bytes) and `allocate --json` (<see cref="AllocationMapper.WriteJson"/>).
/// Both must be, byte for byte, what the messages (<see cref="AllocationMapper.Items"/>, the unary call's) give: each item's
/// serialized bytes, and the whole AllocationResult formatted at once. Synthetic years (escapes in names, capped lines, shares
/// of rights), a company's statements only, each golden allocation (co-productions, caps under both policies, short films).
/// </summary>
public class AllocationJsonTests
{
    private static readonly JsonFormatter Indented = new(JsonFormatter.Settings.Default.WithIndentation());

    /// <summary>A synthetic dm-2021 year of 40 companies and 300 works (seed 11), allocated; a few names with characters JSON escapes.</summary>
    private static AllocationOutcome SmallYear(int companies = 40, int works = 300, decimal budget = 1_000_000m)
    {
        var rs = Repo.Catalog.Find("dm-2021")!;
        var reader = new AllocationMapper.Reader(Repo.Catalog);
        var n = 0;
        foreach (var item in YearSynthesizer.Items(rs, companies, works, 11, 2023, budget))
        {
            if (item.Company is { } c && n++ % 7 == 0) c.Name += " \"<&>\\ \u00e0\u2028\u0007\ud83c\udfac '=";
            reader.Add(item);
        }
        return Allocator.Run(reader.Build());
    }

    /// <summary>The frames and the JSON against the messages, for the whole year and for two companies' statements.</summary>
    private static void Same(AllocationOutcome outcome, IReadOnlyCollection<string>?[] selections)
    {
        foreach (var statementsFor in selections)
        {
            var made = AllocationMapper.Items(outcome, statementsFor).Select(i => Convert.ToBase64String(i.ToByteArray())).ToList();
            var framed = AllocationMapper.Frames(outcome, statementsFor).Select(f => Convert.ToBase64String(f.Span)).ToList();
            Assert.Equal(made, framed);
            var whole = Indented.Format(AllocationMapper.Result(AllocationMapper.Items(outcome, statementsFor)));
            var json = new StringWriter();
            AllocationMapper.WriteJson(outcome, statementsFor, json);
            Assert.Equal(whole, json.ToString());
        }
    }

    [Fact]
    public void The_frames_and_the_json_are_the_messages_bytes_and_text()
    {
        var outcome = SmallYear();
        Assert.Contains(outcome.Works, w => w.Claims.Count > 1);
        Assert.Contains(outcome.Works, w => w.Claims.Count == 1);
        Assert.Contains(outcome.Companies, c => c.Credits.Count > 1 || c.Credits.Any(x => x.Lines.Count > 1));
        Assert.NotEmpty(outcome.Exclusions);
        Assert.Contains(outcome.Companies, c => c.Name.Contains('\u2028'));
        Same(outcome, [null, [outcome.Companies[3].Id, outcome.Companies[7].Id], ["no such company"]]);
    }

    [Fact]
    public void Capped_years_write_their_caps_and_cuts_as_the_messages()
    {
        // A small budget's year with few companies: the caps bind (lines capped, their cuts and the caps named).
        var outcome = SmallYear(companies: 3, works: 60, budget: 10_000_000m);
        Assert.Contains(outcome.Companies, c => c.Credits.Any(x => x.Caps.Count > 0));
        Same(outcome, [null]);
    }

    [Fact]
    public void A_figure_is_written_as_the_messages_write_it()
    {
        // The encoders' own digits (a coefficient of up to 64 bits) against ResponseMapper's: signs, fractions below one, whole
        // numbers, trailing zeros, 28 decimals, coefficients of 64 bits and above, rounding half away from zero.
        decimal[] values =
        [
            0m, -0m, 0.000m, 1m, -1m, 10m, 100.00m, 0.5m, -0.5m, 0.0000000001m, 0.00000000005m, -0.00000000005m, 123.4567890123456789m,
            1234567.1000000000m, 18446744073709551615m, 18446744073709551616m, 1844674407.3709551615m, 1844674407.3709551616m,
            79228162514264337593543950335m, -79228162514264337593543950335m, 1m / 3m, -2m / 3m, 100_000_000m / 7m, 0.1000000000000000000000000001m,
        ];
        Span<char> expected = stackalloc char[64], written = stackalloc char[64];
        foreach (var v in values)
            foreach (var scale in new[] { 0, 2, 10, 12, 28 })
            {
                var n = ResponseMapper.Canonical(Math.Round(v, scale, MidpointRounding.AwayFromZero), expected);
                var m = Encoder.Format(v, scale, written);
                Assert.Equal(expected[..n].ToString(), written[..m].ToString());
            }
    }

    [Fact]
    public void Each_golden_allocation_writes_the_messages_bytes_and_text()
    {
        var errors = new List<RuleError>();
        var cases = Repo.Catalog.Versions.SelectMany(rs => AllocationGoldenTests.Load(rs.Definition.Directory, rs.Id, errors)).ToList();
        Assert.Empty(errors);
        Assert.NotEmpty(cases);
        var coproductions = 0;
        foreach (var c in cases)
        {
            var reader = new AllocationMapper.Reader(Repo.Catalog);
            foreach (var item in AllocationMapper.Items(c.Year)) reader.Add(item);
            AllocationInput input;
            try { input = reader.Build(); }
            catch (InvalidRequestException) { continue; } // a case of a refused year: nothing to write
            var outcome = Allocator.Run(input);
            coproductions += outcome.Works.Count(w => w.Coproduction is not null);
            Same(outcome, [null]);
        }
        Assert.True(coproductions > 0);
    }
}
