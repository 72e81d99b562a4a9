using ContributiAutomatici.Engine.Loading;
using ContributiAutomatici.Engine.Scoring;
using ContributiAutomatici.Protocol;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace ContributiAutomatici.Server;

/// <summary>How the service's exceptions become gRPC statuses (google.rpc.Status with details).</summary>
public static class GrpcErrors
{
    /// <summary>Most field violations in one status; the rest are counted in its message ("and N more").</summary>
    public const int MaxViolations = 20;

    /// <summary>
    /// INVALID_ARGUMENT with a google.rpc.BadRequest naming the offending fields: at most <see cref="MaxViolations"/>,
    /// each field and description cut to <see cref="MaxEcho"/> characters, so the whole status stays a few KiB
    /// (far below the 64 KiB a client accepts in headers) whatever the request.
    /// </summary>
    public static Google.Rpc.Status InvalidArgument(InvalidRequestException ex)
    {
        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(ex.Errors.Take(MaxViolations).Select(e => new BadRequest.Types.FieldViolation
        {
            Field = Cut(e.Field),
            Description = Cut(e.Description),
        }));
        var more = ex.Errors.Count - MaxViolations;
        return new Google.Rpc.Status
        {
            Code = (int)Code.InvalidArgument,
            Message = ex.Errors.Count == 1
                ? $"invalid request: {Cut(ex.Errors[0].Field)}: {Cut(ex.Errors[0].Description)}"
                : more > 0
                    ? $"invalid request: {ex.Errors.Count} fields are wrong; the first {MaxViolations} are in the BadRequest details, and {more} more"
                    : $"invalid request: {ex.Errors.Count} fields are wrong (see the BadRequest details)",
            Details = { Any.Pack(badRequest) },
        };
    }

    /// <summary>NOT_FOUND for a rule set id or application year that no loaded rule set covers.</summary>
    public static Google.Rpc.Status NotFound(string message) =>
        new() { Code = (int)Code.NotFound, Message = Cut(message, 1000) };

    /// <summary>INTERNAL with only the correlation id: the exception itself goes to the log, never to the caller.</summary>
    public static Google.Rpc.Status Internal(string correlationId) =>
        new() { Code = (int)Code.Internal, Message = $"internal error, correlation id {correlationId}" };

    /// <summary>
    /// INTERNAL for a rule that failed on this work (divided by zero, overflowed): the rules are wrong, not the
    /// request. Names the rule set, row, role and its rule file:line, and the correlation id of the log line.
    /// </summary>
    public static Google.Rpc.Status RuleFailed(RuleEvaluationException ex, string correlationId) =>
        new() { Code = (int)Code.Internal, Message = $"rule evaluation failed: {ex.Message}; correlation id {correlationId}" };

    /// <summary>Longest echo of a caller's value in a status or a log line.</summary>
    public const int MaxEcho = 200;

    /// <summary>The text cut to <paramref name="max"/> characters, saying how long it was ("…(70000 characters)").</summary>
    public static string Cut(string s, int max = MaxEcho)
    {
        if (s.Length <= max) return s;
        var n = char.IsHighSurrogate(s[max - 1]) ? max - 1 : max;
        return string.Concat(s.AsSpan(0, n), $"…({s.Length} characters)");
    }

    /// <summary>A short id that ties an INTERNAL answer to its log line.</summary>
    public static string NewCorrelationId() => Guid.NewGuid().ToString("N")[..16];

    /// <summary>The status for a request-level exception the caller can act on, or null for an unexpected one.</summary>
    public static Google.Rpc.Status? ForKnown(Exception ex) => ex switch
    {
        InvalidRequestException invalid => InvalidArgument(invalid),
        RuleSetNotFoundException notFound => NotFound(notFound.Message),
        // The worker compiling a reform crashed, timed out or is busy: this request only; the same request may succeed later.
        ReformCompilerException compiler => new Google.Rpc.Status { Code = (int)Code.Unavailable, Message = Cut(compiler.Message, 1000) },
        _ => null,
    };
}
