using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Server;

/// <summary>
/// ContributiAutomatici.Server [--Contributi:Port=N] [--Contributi:Address=IP] [--Contributi:Rules=DIR] ...
/// ContributiAutomatici.Server --health-check   (asks grpc.health.v1 on the configured port: exit 0 SERVING, 1 otherwise)
/// Exit codes: 0 stopped normally, 1 the rules were refused (each error printed as file:line: reason) or unhealthy.
/// </summary>
public static class Program
{
    public const string HealthCheckSwitch = "--health-check";

    public static async Task<int> Main(string[] args)
    {
        if (args.Contains(HealthCheckSwitch))
            return await HealthProbe.RunAsync(args.Where(a => a != HealthCheckSwitch).ToArray(), Console.Out, Console.Error);
        return await RunAsync(args, Console.Error);
    }

    /// <summary>Loads the rules, then serves until the host is stopped (Ctrl+C, SIGTERM).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stderr, Action<WebApplicationBuilder>? configure = null)
    {
        WebApplication app;
        try
        {
            app = ContributiServer.Build(args, configure);
        }
        catch (RuleLoadException ex)
        {
            foreach (var error in ex.Errors) stderr.WriteLine(error);
            stderr.WriteLine($"refused: {ex.Errors.Count} error(s) in the rules; the server does not start");
            return 1;
        }
        await using (app)
        {
            await app.RunAsync();
        }
        return 0;
    }
}
