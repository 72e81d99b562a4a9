using System.Globalization;
using System.Text.RegularExpressions;
using ContributiAutomatici.Protocol;
using ContributiAutomatici.Tooling;
using V1 = ContributiAutomatici.Contracts.V1;

namespace ContributiAutomatici.Tests;

/// <summary>One canonical form for the decimals a response carries, and totals that are the exact sums of their parts.</summary>
public class OutputFormTests
{
    private static readonly Regex Canonical = new(@"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$");

    [Fact]
    public void The_canonical_decimal_is_the_custom_formats_string_for_any_decimal()
    {
        var rnd = new Random(11);
        decimal[] edges = [0m, -0m, 0.0000m, -0.0m, 1m, -1m, 10m, 100.00m, 0.5m, -0.05m, 203.20m, decimal.MaxValue, decimal.MinValue,
            0.0000000000000000000000000001m, 847.3333333333333333333333333m, 657.33333333333333333333333334m, 1_000_000.0010m];
        var values = edges.Concat(Enumerable.Range(0, 20_000).Select(_ =>
            new decimal(rnd.Next(), rnd.Next(), rnd.Next(3) == 0 ? rnd.Next() : 0, rnd.Next(2) == 0, (byte)rnd.Next(29))));
        foreach (var d in values)
        {
            var expected = d.ToString("0.############################", System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(expected == "-0" ? "0" : expected, ResponseMapper.Dec(d));
            Assert.Matches(Canonical, ResponseMapper.Dec(d));
        }
    }

    [Fact]
    public void Scores_print_points_canonically_at_ten_decimals_and_every_total_is_the_sum_of_what_it_prints()
    {
        var rs = Repo.Catalog.Find("dm-2021")!;
        var items = YearSynthesizer.Items(rs, 40, 400, seed: 11, year: 2023, budget: 1_000_000m).ToList();
        var roles = items.Where(i => i.Claim is not null).GroupBy(i => i.Claim.WorkId)
            .ToDictionary(g => g.Key, g => g.Select(i => i.Claim.Role.Role).Distinct().ToList());
        var strings = 0;
        foreach (var work in items.Where(i => i.Work is not null).Select(i => i.Work.Work))
        {
            var request = new V1.ScoreWorkRequest { RuleSetId = "dm-2021", Work = work };
            request.Roles.AddRange(roles.GetValueOrDefault(work.Id, [V1.Role.Producer]).Select(r => new V1.RoleInput { Role = r }));
            var mapped = RequestMapper.Map(request, Repo.Catalog);
            var response = ResponseMapper.ToProto(mapped.RuleSet.Score(mapped.Work, mapped.Roles, mapped.Options), mapped.Excluded);
            foreach (var role in response.Roles)
            {
                Assert.Matches(Canonical, role.TotalPoints);
                Assert.Equal(D(role.TotalPoints), role.Quotas.Sum(q => D(q.Points)));
                foreach (var q in role.Quotas)
                {
                    Assert.Matches(Canonical, q.Points);
                    Assert.Equal(D(q.Points), q.Lines.Sum(l => D(l.Points)));
                    foreach (var l in q.Lines)
                    {
                        Assert.Matches(Canonical, l.Points);
                        Assert.True(l.Points.Length - l.Points.IndexOf('.') - 1 <= 10 || !l.Points.Contains('.'), l.Points);
                        strings++;
                    }
                }
            }
        }
        Assert.True(strings > 400, $"only {strings} lines scored: the synthetic works should score");
    }

    [Theory]
    [InlineData("+2400000")]
    [InlineData("2.4e6")]
    [InlineData("1e-7")]
    [InlineData("1,000")]
    [InlineData(" 5")]
    [InlineData("5.")]
    [InlineData(".5")]
    [InlineData("0x10")]
    public void A_decimal_string_outside_the_grammar_is_refused_quoting_the_grammar(string amount)
    {
        var request = new V1.ScoreWorkRequest { RuleSetId = "dm-2021", Work = new V1.Work { Kind = V1.WorkKind.Cinema, ProductionCost = amount } };
        request.Roles.Add(new V1.RoleInput { Role = V1.Role.Producer });
        var ex = Assert.Throws<InvalidRequestException>(() => RequestMapper.Map(request, Repo.Catalog));
        var error = Assert.Single(ex.Errors);
        Assert.Equal("work.production_cost", error.Field);
        Assert.Contains(RequestMapper.DecimalGrammar, error.Description);
    }

    [Theory]
    [InlineData("2400000", 2400000)]
    [InlineData("2400000.00", 2400000)]
    [InlineData("-0.5", -0.5)]
    public void A_decimal_string_of_the_grammar_is_read(string text, double expected)
    {
        var request = new V1.ScoreWorkRequest { RuleSetId = "dm-2021", Work = new V1.Work { Kind = V1.WorkKind.Cinema, ItalianSharePercent = "50", AverageHourlyCost = text.TrimStart('-') } };
        request.Roles.Add(new V1.RoleInput { Role = V1.Role.Producer });
        var mapped = RequestMapper.Map(request, Repo.Catalog);
        Assert.Equal(Math.Abs((decimal)expected), mapped.Work.AverageHourlyCostGiven);
    }

    private static decimal D(string s) => decimal.Parse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
}

/// <summary>A request is checked whole: every offending field in one answer, the rule-set selection included.</summary>
public class WholeRequestTests
{
    [Fact]
    public void A_request_without_rule_set_or_year_reports_that_and_every_other_wrong_field()
    {
        var request = new V1.ScoreWorkRequest
        {
            Work = new V1.Work { ItalianSharePercent = "150", ProductionCost = "-5", BoxOffice = { new V1.DatedAmount { Amount = "100" } } },
            Roles = { new V1.RoleInput() },
        };
        var ex = Assert.Throws<InvalidRequestException>(() => RequestMapper.Map(request, Repo.Catalog));
        Assert.Equal(
            ["rule_set_id", "work.kind", "work.italian_share_percent", "work.production_cost", "work.box_office[0].date", "roles[0].role"],
            ex.Errors.Select(e => e.Field).ToList());
    }
}
