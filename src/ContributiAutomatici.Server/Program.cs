using ContributiAutomatici.Engine.Compiling;
using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Engine.Scoring;

namespace ContributiAutomatici.Server;

/// <summary>
/// ContributiAutomatici.Server [--Contributi:Port=N] [--Contributi:Address=IP] [--Contributi:Rules=DIR] ...
/// ContributiAutomatici.Server --health-check   (asks grpc.health.v1 on the configured port: exit 0 SERVING, 1 otherwise)
/// ContributiAutomatici.Server --precompile-rules RULES   (compiles RULES into the compiled-rules cache, $CONTRIBUTI_RULES_CACHE
///     or the user's, and exits: run at publish, it makes the shipped rules-cache, see src/ShipCompiledRules.targets)
/// ContributiAutomatici.Server --reform-worker   (the server's reform compiler: started by the server itself, it compiles the
///     structural reforms it is sent on its standard input and answers on its standard output; see ReformWorkers)
/// Exit codes: 0 stopped normally, 1 the rules were refused (each error printed as file:line: reason) or unhealthy, 2 a configured
/// address could not be listened on (a port in use, a port not allowed), said on stderr with the address.
/// </summary>
public static class Program
{
    public const string HealthCheckSwitch = "--health-check";
    public const string PrecompileSwitch = "--precompile-rules";
    public const string ReformWorkerSwitch = "--reform-worker";

    public static async Task<int> Main(string[] args)
    {
        if (args is [ReformWorkerSwitch])
            return ReformWorkers.Serve(Console.OpenStandardInput(), Console.OpenStandardOutput());
        if (args.Contains(HealthCheckSwitch))
            return await HealthProbe.RunAsync(args.Where(a => a != HealthCheckSwitch).ToArray(), Console.Out, Console.Error);
        if (args is [PrecompileSwitch, var rules])
            return Precompile(rules, RuleCompileOptions.DefaultCacheDirectory ?? "rules-cache", Console.Out, Console.Error);
        return await RunAsync(args, Console.Error);
    }

    /// <summary>Compiles every rule set under <paramref name="rules"/> into the cache folder <paramref name="into"/>.</summary>
    public static int Precompile(string rules, string into, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            var catalog = RuleCatalog.Load(rules, new RuleCompileOptions { CacheDirectory = into, ShippedDirectory = null, Warn = w => stderr.WriteLine("warning: " + w) });
            foreach (var rs in catalog.RuleSets) stdout.WriteLine($"{rs.Id} sha256 {rs.ContentHash[..16]}: {rs.Source.ToString().ToLowerInvariant()} into {into}");
            // A folder the cache refuses (others can write it or a folder above it) gets no image: the program still works,
            // compiling its rules at first start, so this is said, not failed.
            var written = Directory.Exists(into) ? Directory.GetFiles(into, "*.dll").Length : 0;
            if (written < catalog.RuleSets.Count)
                stderr.WriteLine($"warning: {written} of {catalog.RuleSets.Count} rule sets precompiled into {into} (see the warnings above): " +
                                 "the others are compiled at first start");
            return 0;
        }
        catch (RuleLoadException ex)
        {
            foreach (var error in ex.Errors) stderr.WriteLine(error);
            stderr.WriteLine($"refused: {ex.Errors.Count} error(s) in the rules; not fit to ship (exit 1 fails the publish)");
            return 1;
        }
    }

    /// <summary>Exit code of a server that could not listen on a configured address (<see cref="RunAsync"/>).</summary>
    public const int CannotListen = 2;

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
            try
            {
                await app.StartAsync();
            }
            catch (IOException ex)
            {
                // Kestrel could not bind (its message names the address: "Failed to bind to address http://127.0.0.1:5000:
                // address already in use."): said in one line, not as an unhandled exception (exit 134).
                stderr.WriteLine($"cannot listen: {ex.Message.TrimEnd('.')}; the server does not start (Contributi:Address, Contributi:Port, Contributi:HttpPort)");
                return CannotListen;
            }
            await app.WaitForShutdownAsync();
        }
        return 0;
    }
}
