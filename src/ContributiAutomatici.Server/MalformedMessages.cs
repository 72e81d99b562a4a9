using ContributiAutomatici.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;

namespace ContributiAutomatici.Server;

/// <summary>
/// Binds contributi.v1.ScoringService with request marshallers that turn bytes which are not the request message
/// into INVALID_ARGUMENT ("malformed request message"), instead of the framework's UNKNOWN with a logged stack trace.
/// The framework deserializes a unary request before any interceptor runs, so this is where it can be caught.
/// Grpc.AspNetCore finds this method through <see cref="BindServiceMethodAttribute"/> on <see cref="ScoringGrpcService"/>;
/// the service descriptor (reflection) is still the generated one. JSON transcoding reads that descriptor from the
/// <c>Descriptor</c> property of the class holding the bind method, hence one such class per service.
/// </summary>
public static class ScoringServiceBinding
{
    /// <summary>The generated descriptor of contributi.v1.ScoringService.</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => ScoringService.Descriptor;

    /// <summary>Called by Grpc.AspNetCore with its binder; <paramref name="serviceImpl"/> is null there.</summary>
    public static void BindService(ServiceBinderBase serviceBinder, ScoringService.ScoringServiceBase? serviceImpl) =>
        ScoringService.BindService(new TolerantBinder(serviceBinder), serviceImpl!);

    internal sealed class TolerantBinder(ServiceBinderBase inner) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Tolerant(method), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Tolerant(method), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Tolerant(method), handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(Tolerant(method), handler);

        private static Method<TRequest, TResponse> Tolerant<TRequest, TResponse>(Method<TRequest, TResponse> method)
            where TRequest : class where TResponse : class
        {
            var deserialize = method.RequestMarshaller.ContextualDeserializer;
            var name = method.FullName;
            var requests = Marshallers.Create(method.RequestMarshaller.ContextualSerializer, context =>
            {
                try
                {
                    return deserialize(context);
                }
                catch (InvalidProtocolBufferException ex)
                {
                    MalformedMessages.Report(name, ex.Message);
                    throw new RpcException(new Status(StatusCode.InvalidArgument,
                        $"malformed request message: not a {typeof(TRequest).Name} ({GrpcErrors.Cut(ex.Message)})"));
                }
            });
            // The allocation stream's responses written as encoded (AllocationFrames); every other method's as ever.
            return AllocationFrames.Framed(new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, requests, method.ResponseMarshaller));
        }
    }
}

/// <summary>The same as <see cref="ScoringServiceBinding"/> for contributi.v1.AllocationService, its stream's responses written as encoded (<see cref="AllocationFrames"/>).</summary>
public static class AllocationServiceBinding
{
    /// <summary>The generated descriptor of contributi.v1.AllocationService.</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => AllocationService.Descriptor;

    /// <summary>Called by Grpc.AspNetCore with its binder; <paramref name="serviceImpl"/> is null there.</summary>
    public static void BindService(ServiceBinderBase serviceBinder, AllocationService.AllocationServiceBase? serviceImpl) =>
        AllocationService.BindService(new ScoringServiceBinding.TolerantBinder(serviceBinder), serviceImpl!);
}

/// <summary>The same as <see cref="ScoringServiceBinding"/> for contributi.v1.ComparisonService.</summary>
public static class ComparisonServiceBinding
{
    /// <summary>The generated descriptor of contributi.v1.ComparisonService.</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => ComparisonService.Descriptor;

    /// <summary>Called by Grpc.AspNetCore with its binder; <paramref name="serviceImpl"/> is null there.</summary>
    public static void BindService(ServiceBinderBase serviceBinder, ComparisonService.ComparisonServiceBase? serviceImpl) =>
        ComparisonService.BindService(new ScoringServiceBinding.TolerantBinder(serviceBinder), serviceImpl!);
}

/// <summary>
/// Logs malformed request messages as warnings, without a stack trace and at most one line per
/// <see cref="Interval"/> (the next line says how many were not logged), so a bad caller cannot flood the log.
/// A singleton of each server, reached from the marshaller through the current HTTP context.
/// </summary>
public sealed class MalformedMessages(ILogger<MalformedMessages> logger)
{
    /// <summary>At most one warning per interval: 10 seconds.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private long _nextLogAt;
    private long _suppressed;
    private long _total;

    /// <summary>Malformed messages received since start.</summary>
    public long Total => Interlocked.Read(ref _total);

    internal static void Report(string method, string reason)
    {
        var http = new HttpContextAccessor().HttpContext;
        http?.RequestServices.GetService<MalformedMessages>()?.Received(method, http.Connection.RemoteIpAddress?.ToString() ?? "?", reason);
    }

    /// <summary>Counts a malformed message; logs it unless another was logged less than <see cref="Interval"/> ago.</summary>
    public void Received(string method, string peer, string reason)
    {
        Interlocked.Increment(ref _total);
        long suppressed;
        lock (_lock)
        {
            var now = Environment.TickCount64;
            if (now < _nextLogAt)
            {
                _suppressed++;
                return;
            }
            _nextLogAt = now + (long)Interval.TotalMilliseconds;
            suppressed = _suppressed;
            _suppressed = 0;
        }
        logger.LogWarning("malformed request message for {Method} from {Peer}: {Reason} (INVALID_ARGUMENT){Suppressed}", method, peer,
            GrpcErrors.Cut(reason), suppressed > 0 ? $"; {suppressed} more since the last warning, not logged" : "");
    }
}

/// <summary>
/// Broken gRPC framing (a truncated message, data after the message, a compressed message without its encoding)
/// is answered by Grpc.AspNetCore as INTERNAL before any handler runs. It is the caller's mistake: this middleware
/// turns those statuses into INVALID_ARGUMENT "malformed request message: ..." and reports them (rate-limited).
/// </summary>
public static class MalformedFraming
{
    private static readonly string[] FrameworkMessages =
    [
        "Incomplete message.", "Additional data after the message received.",
        "Request did not include grpc-encoding value with compressed message.", "Unsupported grpc-encoding value",
    ];

    public static async Task Middleware(HttpContext context, RequestDelegate next)
    {
        await next(context);
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true) return;
        // Trailers-only (nothing sent yet): the status is in the headers; otherwise in the trailers, not yet sent.
        var status = context.Response.Headers.ContainsKey("grpc-status") ? context.Response.Headers
            : context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseTrailersFeature>()?.Trailers;
        if (status is null || status["grpc-status"] != "13") return;
        var message = Uri.UnescapeDataString(status["grpc-message"].ToString());
        if (!FrameworkMessages.Any(m => message.StartsWith(m, StringComparison.Ordinal))) return;
        status["grpc-status"] = "3";
        status["grpc-message"] = Uri.EscapeDataString("malformed request message: " + message).Replace("%20", " ", StringComparison.Ordinal);
        context.RequestServices.GetService<MalformedMessages>()?.Received(context.Request.Path, context.Connection.RemoteIpAddress?.ToString() ?? "?", message);
    }
}

/// <summary>
/// gzip and deflate for compressed requests, as Grpc.AspNetCore's own, except that data which does not decompress is
/// INVALID_ARGUMENT "malformed request message" (the framework answers UNKNOWN and logs a stack trace per call).
/// </summary>
public sealed class TolerantDecompression(Grpc.Net.Compression.ICompressionProvider inner) : Grpc.Net.Compression.ICompressionProvider
{
    public static IEnumerable<Grpc.Net.Compression.ICompressionProvider> Defaults() =>
    [
        new TolerantDecompression(new Grpc.Net.Compression.GzipCompressionProvider(System.IO.Compression.CompressionLevel.Fastest)),
        new TolerantDecompression(new Grpc.Net.Compression.DeflateCompressionProvider(System.IO.Compression.CompressionLevel.Fastest)),
    ];

    public string EncodingName => inner.EncodingName;

    public Stream CreateCompressionStream(Stream stream, System.IO.Compression.CompressionLevel? compressionLevel) =>
        inner.CreateCompressionStream(stream, compressionLevel);

    public Stream CreateDecompressionStream(Stream stream) => new Guarded(inner.CreateDecompressionStream(stream), inner.EncodingName);

    private sealed class Guarded(Stream inner, string encoding) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            try { return inner.Read(buffer, offset, count); }
            catch (InvalidDataException ex) { throw Malformed(ex); }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try { return await inner.ReadAsync(buffer, cancellationToken); }
            catch (InvalidDataException ex) { throw Malformed(ex); }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private RpcException Malformed(InvalidDataException ex)
        {
            MalformedMessages.Report("(" + encoding + " request)", ex.Message);
            return new RpcException(new Status(StatusCode.InvalidArgument, $"malformed request message: not valid {encoding} data"));
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
