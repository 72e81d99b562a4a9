using System.Text.Json;
using ContributiAutomatici.Engine.Rules;

namespace ContributiAutomatici.Server;

/// <summary>
/// HTTP probes for people, load balancers and Kubernetes (on every port; the HTTP/1.1 one is for them):
/// <c>/healthz</c> is 200 while the process runs and is not stopping (liveness); <c>/readyz</c> is 200 with the rule sets
/// serving once they are loaded, 503 while shutting down: JSON with each live rule set's id, content hash and source,
/// <c>rulesLoad</c> (ListRuleSets' <c>rules_load</c>: when they were loaded, refused reloads, the last refused one's
/// file:line and reason) and the last reload's outcome. A refused reload leaves it 200: the last good rules serve.
/// </summary>
public static class Probes
{
    public const string Liveness = "/healthz";
    public const string Readiness = "/readyz";

    public static void Map(WebApplication app)
    {
        app.MapGet(Liveness, (IHostApplicationLifetime lifetime) => lifetime.ApplicationStopping.IsCancellationRequested
            ? Results.Json(new { status = "stopping" }, statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Json(new { status = "alive" }));
        app.MapGet(Readiness, (LiveRules rules, IHostApplicationLifetime lifetime) =>
        {
            var stopping = lifetime.ApplicationStopping.IsCancellationRequested;
            var catalog = rules.Current;
            var ready = !stopping && catalog.RuleSets.Count > 0;
            return Results.Text(Readyz(rules, ready ? "ready" : stopping ? "stopping" : "no rule set loaded"), "application/json",
                statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
    }

    /// <summary>Proto3 JSON that writes zeros too ("reloadFailures": "0"), for people reading it.</summary>
    private static readonly Google.Protobuf.JsonFormatter WithDefaults = new(Google.Protobuf.JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    /// <summary>The /readyz document.</summary>
    public static string Readyz(LiveRules rules, string status)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("status", status);
            json.WriteStartArray("ruleSets");
            foreach (var rs in rules.Current.RuleSets)
            {
                json.WriteStartObject();
                json.WriteString("id", rs.Id);
                json.WriteString("contentHash", rs.ContentHash);
                json.WriteString("source", rs.Source switch
                {
                    CompileSource.Cache => "cache",
                    CompileSource.Shipped => "shipped",
                    _ => "compiled",
                });
                json.WriteEndObject();
            }
            json.WriteEndArray();
            // When they were loaded, refused reloads and the last refused one's problems: ListRuleSets' rules_load, as JSON.
            json.WritePropertyName("rulesLoad");
            json.WriteRawValue(WithDefaults.Format(ScoringGrpcService.RulesLoadOf(rules)));
            if (rules.LastReload is { } last)
            {
                json.WriteStartObject("lastReload");
                json.WriteString("outcome", last.Loaded ? "loaded" : "refused");
                json.WriteString("at", last.At);
                json.WriteString("trigger", last.Reason);
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
