using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace ContributiAutomatici.Server;

/// <summary>
/// <c>--health-check</c>: a container HEALTHCHECK without grpcurl. Reads the same configuration as the server
/// (appsettings.json beside the program, Contributi__* environment variables, --Contributi:* arguments),
/// calls grpc.health.v1.Health/Check on the local port and exits 0 when SERVING, 1 otherwise.
/// </summary>
public static class HealthProbe
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var config = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args)
            .Build();
        var options = config.GetSection(ContributiServerOptions.Section).Get<ContributiServerOptions>() ?? new();
        // A server bound to every interface is reached on loopback; a specific address is asked as it is.
        var host = options.Address.Trim() switch
        {
            "" or "*" or "0.0.0.0" or "localhost" => "127.0.0.1",
            "::" => "[::1]",
            var a when a.Contains(':') => $"[{a}]",
            var a => a,
        };
        var address = $"{(options.Tls.Enabled ? "https" : "http")}://{host}:{options.Port}";
        using var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(3) };
        // The probe talks to this very server on this machine: its own (possibly self-signed) certificate is fine.
        if (options.Tls.Enabled) handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = false });
        try
        {
            var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(),
                deadline: DateTime.UtcNow.AddSeconds(5));
            stdout.WriteLine($"{address}: {reply.Status}");
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        }
        catch (RpcException ex)
        {
            stderr.WriteLine($"{address}: {ex.StatusCode} {ex.Status.Detail}");
            return 1;
        }
    }
}
