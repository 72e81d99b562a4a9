using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

[Collection("server")]
public sealed class HealthAndReflectionTests(ServerFixture fixture)
{
    [Fact]
    public async Task Health_says_SERVING_for_the_server_and_the_scoring_service()
    {
        var health = new Health.HealthClient(fixture.Channel);

        var server = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
        var scoring = await health.CheckAsync(new HealthCheckRequest { Service = "contributi.v1.ScoringService" },
            deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, server.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, scoring.Status);
        var unknown = await Assert.ThrowsAsync<RpcException>(() =>
            health.CheckAsync(new HealthCheckRequest { Service = "no.such.Service" }, deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Reflection_lists_the_scoring_and_health_services_and_describes_them()
    {
        var reflection = new ServerReflection.ServerReflectionClient(fixture.Channel);
        using var call = reflection.ServerReflectionInfo(deadline: DateTime.UtcNow.AddSeconds(30));

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "contributi.v1.ScoringService" });
        await call.RequestStream.CompleteAsync();
        var answers = new List<ServerReflectionResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) answers.Add(call.ResponseStream.Current);

        var services = answers[0].ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("contributi.v1.ScoringService", services);
        Assert.Contains("grpc.health.v1.Health", services);
        Assert.NotEmpty(answers[1].FileDescriptorResponse.FileDescriptorProto);
        var file = Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(answers[1].FileDescriptorResponse.FileDescriptorProto[0]);
        Assert.Equal("contributi.v1", file.Package);
        Assert.Contains(file.Service, s => s.Name == "ScoringService" && s.Method.Any(m => m.Name == "ScoreWorks" && m.ClientStreaming && m.ServerStreaming));
    }

    [Fact]
    public async Task Reflection_resolves_every_file_from_the_services_down_including_google_rpc_BadRequest()
    {
        var reflection = new ServerReflection.ServerReflectionClient(fixture.Channel);
        using var call = reflection.ServerReflectionInfo(deadline: DateTime.UtcNow.AddSeconds(30));
        async Task<ServerReflectionResponse> Ask(ServerReflectionRequest r)
        {
            await call.RequestStream.WriteAsync(r);
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            return call.ResponseStream.Current;
        }

        var services = (await Ask(new ServerReflectionRequest { ListServices = "" })).ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("contributi.v1.AllocationService", services);
        Assert.Contains("contributi.v1.ComparisonService", services);
        var files = new Dictionary<string, Google.Protobuf.Reflection.FileDescriptorProto>();
        var pending = new Queue<string>();
        foreach (var service in services)
        {
            var answer = await Ask(new ServerReflectionRequest { FileContainingSymbol = service });
            Assert.Equal(ServerReflectionResponse.MessageResponseOneofCase.FileDescriptorResponse, answer.MessageResponseCase);
            foreach (var bytes in answer.FileDescriptorResponse.FileDescriptorProto)
            {
                var f = Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(bytes);
                if (files.TryAdd(f.Name, f)) foreach (var d in f.Dependency) pending.Enqueue(d);
            }
        }
        while (pending.TryDequeue(out var name))
        {
            if (files.ContainsKey(name)) continue;
            var answer = await Ask(new ServerReflectionRequest { FileByFilename = name });
            Assert.True(answer.MessageResponseCase == ServerReflectionResponse.MessageResponseOneofCase.FileDescriptorResponse,
                $"reflection does not serve {name}: {answer.ErrorResponse?.ErrorMessage}");
            foreach (var bytes in answer.FileDescriptorResponse.FileDescriptorProto)
            {
                var f = Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(bytes);
                if (files.TryAdd(f.Name, f)) foreach (var d in f.Dependency) pending.Enqueue(d);
            }
        }
        await call.RequestStream.CompleteAsync();

        var errorDetails = Assert.Contains("google/rpc/error_details.proto", files);
        Assert.Contains(errorDetails.MessageType, m => m.Name == "BadRequest");
        Assert.Contains("google/type/date.proto", files.Keys);
    }
}
