using System.Diagnostics;
using System.Diagnostics.Metrics;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Api;
using Google.Rpc;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;

namespace ContributiAutomatici.Server;

/// <summary>
/// The JSON paths (gRPC JSON transcoding), held to what gRPC holds a request to: before the transcoder reads a body, it
/// is checked against its message (<see cref="StrictJson"/>: unknown fields, wrong JSON types, enum names the message
/// does not have, malformed JSON with its line and column) and bounded by the same 4 MiB; a query string may name only
/// fields of the request. A refused request is 400 with a <c>google.rpc.Status</c> (INVALID_ARGUMENT and a BadRequest)
/// in the same form as the service's own errors. Every call on a JSON path, refused here or answered by the service, is
/// counted in <c>contributi.rest.calls</c> with its route and HTTP status (the service's gRPC status is in
/// <c>contributi.calls</c> as for any call that reached it).
/// </summary>
public sealed class RestCalls
{
    private readonly RequestDelegate _next;
    private readonly ContributiMetrics _metrics;
    private readonly ILogger _logger;

    public RestCalls(RequestDelegate next, ContributiMetrics metrics, ILoggerFactory loggers)
    {
        _next = next;
        _metrics = metrics;
        _logger = loggers.CreateLogger(Telemetry.CallsCategory);
    }

    /// <summary>The google.rpc.Status JSON of the service's errors (a BadRequest detail printed with its type).</summary>
    private static readonly JsonFormatter StatusJson = new(JsonFormatter.Settings.Default.WithTypeRegistry(TypeRegistry.FromFiles(ErrorDetailsReflection.Descriptor)));

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is not { } rest)
        {
            await _next(context);
            return;
        }
        var started = Stopwatch.GetTimestamp();
        var route = rest.HttpRule.PatternCase switch
        {
            HttpRule.PatternOneofCase.Get => rest.HttpRule.Get,
            HttpRule.PatternOneofCase.Post => rest.HttpRule.Post,
            HttpRule.PatternOneofCase.Put => rest.HttpRule.Put,
            HttpRule.PatternOneofCase.Delete => rest.HttpRule.Delete,
            HttpRule.PatternOneofCase.Patch => rest.HttpRule.Patch,
            _ => rest.HttpRule.Custom?.Path ?? "",
        };
        try
        {
            if (await Refusal(context, rest) is { } refused)
            {
                context.Response.StatusCode = refused.Code == (int)Code.ResourceExhausted ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest;
                context.Response.ContentType = "application/json";
                // Compact, as the transcoder writes the service's own errors.
                await context.Response.WriteAsync(System.Text.Json.Nodes.JsonNode.Parse(StatusJson.Format(refused))!.ToJsonString(), context.RequestAborted);
                _logger.LogInformation("{Method} {Route} refused before the service: {Message}", context.Request.Method, route, refused.Message);
                return;
            }
            await _next(context);
        }
        finally
        {
            _metrics.RestCallEnded(context.Request.Method, route, rest.MethodDescriptor,
                context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>The status refusing the request, or null when it may go to the transcoder (the body then read again from memory).</summary>
    private static async Task<Google.Rpc.Status?> Refusal(HttpContext context, GrpcJsonTranscodingMetadata rest)
    {
        var input = rest.MethodDescriptor.InputType;
        var errors = new List<FieldError>();
        foreach (var (key, _) in context.Request.Query)
            if (StrictJson.FindPath(input, key) is null)
                errors.Add(new FieldError(GrpcErrors.Cut(key, 100), $"unknown query parameter: not a field of {input.Name}"));

        var bodyField = rest.HttpRule.Body;
        if (!string.IsNullOrEmpty(bodyField))
        {
            var message = bodyField == "*" ? input : input.FindFieldByName(bodyField)?.MessageType;
            var limit = ContributiServerOptions.MaxReceiveMessageSize;
            if (context.Request.ContentLength > limit) return TooLarge(context.Request.ContentLength);
            // Read at most one byte past the limit: a body without a length is not buffered whole to learn it is too large.
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > limit) return TooLarge(context.Request.ContentLength);
            }
            buffer.Position = 0;
            if (message is not null)
            {
                var found = StrictJson.Check(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), message);
                if (found is [{ Field: "" } malformed])
                    return new Google.Rpc.Status
                    {
                        Code = (int)Code.InvalidArgument,
                        Message = "invalid request: " + malformed.Description,
                        Details = { Google.Protobuf.WellKnownTypes.Any.Pack(new BadRequest { FieldViolations = { new BadRequest.Types.FieldViolation { Field = "", Description = malformed.Description } } }) },
                    };
                errors.AddRange(bodyField == "*" ? found : found.Select(e => e with { Field = $"{bodyField}.{e.Field}" }));
            }
            var copy = new MemoryStream(buffer.ToArray(), writable: false);
            context.Request.Body = copy;
            context.Response.RegisterForDispose(copy);
        }
        return errors.Count == 0 ? null : GrpcErrors.InvalidArgument(new InvalidRequestException(errors));
    }

    private static Google.Rpc.Status TooLarge(long? size) => new()
    {
        Code = (int)Code.ResourceExhausted,
        Message = $"request body{(size is { } n ? $" of {n} bytes" : "")} is larger than the {ContributiServerOptions.MaxReceiveMessageSize} bytes a request may have " +
                  "(bulk scoring goes through the ScoreWorkBatches or ScoreWorks stream, a message per batch or per work)",
    };
}
