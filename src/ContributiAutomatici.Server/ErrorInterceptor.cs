using ContributiAutomatici.Engine.Scoring;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace ContributiAutomatici.Server;

/// <summary>
/// Turns what a service method throws into a status the caller can act on: InvalidRequestException is
/// INVALID_ARGUMENT with a BadRequest detail, RuleSetNotFoundException is NOT_FOUND, a cancelled call stays
/// cancelled, and anything else is INTERNAL "internal error, correlation id X", the exception being logged
/// with the same id. No stack trace or exception message ever reaches the caller. Every call's status, duration and
/// span are recorded here too (<see cref="CallObservation"/>), streams included.
/// </summary>
public sealed class ErrorInterceptor(ILogger<ErrorInterceptor> logger, ContributiMetrics metrics) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request,
        ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) =>
        Guard(context, () => continuation(request, context));

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        Guard(context, () => continuation(requestStream, context));

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        Guard(context, async () =>
        {
            await continuation(request, responseStream, context);
            return true;
        });

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        Guard(context, async () =>
        {
            await continuation(requestStream, responseStream, context);
            return true;
        });

    /// <summary>Runs a call: what it throws is mapped (<see cref="Map"/>), and its status, duration and span recorded.</summary>
    private async Task<T> Guard<T>(ServerCallContext context, Func<Task<T>> call)
    {
        var observed = new CallObservation(context, metrics);
        var status = StatusCode.OK;
        try
        {
            var result = await call();
            status = context.Status.StatusCode;
            return result;
        }
        catch (Exception ex)
        {
            var rpc = Map(ex, context);
            status = (rpc ?? ex) switch
            {
                RpcException r => r.StatusCode,
                // Left to the framework (Map returns null): the deadline passed or the caller cancelled.
                _ when context.Deadline <= DateTime.UtcNow => StatusCode.DeadlineExceeded,
                _ when context.CancellationToken.IsCancellationRequested => StatusCode.Cancelled,
                _ => StatusCode.Unknown,
            };
            if (rpc is null) throw;
            throw rpc;
        }
        finally
        {
            observed.Ended(status);
        }
    }

    /// <summary>The RpcException to throw instead of <paramref name="ex"/>, or null to let it through unchanged.</summary>
    private RpcException? Map(Exception ex, ServerCallContext context)
    {
        switch (ex)
        {
            case RpcException:
                return null; // already a status chosen on purpose
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return null; // client cancelled or deadline passed: the framework reports CANCELLED / DEADLINE_EXCEEDED
        }
        if (GrpcErrors.ForKnown(ex) is { } known) return known.ToRpcException();
        if (context.CancellationToken.IsCancellationRequested || ex is IOException)
        {
            // The call is already gone: the client reset its stream or the connection dropped. The transport's
            // IOException can come before the call's token is cancelled; nothing in the service does I/O of its
            // own, so an IOException here is the caller leaving, not a server fault.
            logger.LogDebug("{Method} aborted by the caller: {Reason}", context.Method, ex.Message);
            return new RpcException(new Status(StatusCode.Cancelled, "call cancelled"));
        }
        var id = GrpcErrors.NewCorrelationId();
        if (ex is RuleEvaluationException rule)
        {
            // The row, role and file:line say it all; no stack trace.
            logger.LogError("rule evaluation failed, correlation id {CorrelationId}, in {Method}: {Failure}", id, context.Method, rule.Message);
            return GrpcErrors.RuleFailed(rule, id).ToRpcException();
        }
        logger.LogError(ex, "internal error, correlation id {CorrelationId}, in {Method}", id, context.Method);
        return GrpcErrors.Internal(id).ToRpcException();
    }
}
