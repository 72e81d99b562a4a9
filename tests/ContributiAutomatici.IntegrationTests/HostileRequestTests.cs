using ContributiAutomatici.Client;
using ContributiAutomatici.Contracts.V1;
using Google.Rpc;
using Grpc.Core;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>Requests built to break the server: values beyond the decree's bounds, huge error lists, malformed bytes.</summary>
[Collection("server")]
public sealed class HostileRequestTests(ServerFixture fixture)
{
    private ScoringService.ScoringServiceClient Raw => new(fixture.Channel);

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(30);

    [Fact]
    public async Task Amounts_that_would_overflow_a_rule_are_INVALID_ARGUMENT_naming_each_field_never_INTERNAL()
    {
        var request = Examples.FirstFeature();
        request.Work.BoxOffice[0].Amount = "79228162514264337593543950335";
        request.Work.BoxOffice[1].Amount = "79228162514264337593543950335";
        request.Roles[1].DistributionCost = "0.00000000000000000000000001";

        var ex = await Assert.ThrowsAsync<RpcException>(() => Raw.ScoreWorkAsync(request, deadline: Deadline).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal(
            ["roles[1].distribution_cost", "work.box_office[0].amount", "work.box_office[1].amount"],
            ContributiClient.FieldViolations(ex).Select(v => v.Field).Order(StringComparer.Ordinal).ToArray());
    }
}
