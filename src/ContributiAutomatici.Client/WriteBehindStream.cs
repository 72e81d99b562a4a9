using System.Net.Sockets;

namespace ContributiAutomatici.Client;

/// <summary>
/// The client's connection to the server, under HTTP/2 (and TLS, when there is one): a write is copied into a buffer
/// and returns; one background loop sends what the buffer holds, a send at a time, and whatever is written while a
/// send is under way leaves in the next one. Reads go straight to the socket.
/// <para>Why: SocketsHttpHandler's HTTP/2 connection sends inline, from its single writer loop, every time its queue of
/// frames runs dry: on a ScoreWorks stream that is one send per request, and the next request waits for the send (on
/// loopback the send also runs the receiver's TCP path and wakes it). Kestrel already sends from a loop of its own on
/// the server's side; this gives the client the same. The ScoreWorks stream, totals only, went from about 37 k to about
/// 55 k works/s on the load benchmark, medians (tests/ContributiAutomatici.LoadBenchmark/RESULTS.md).</para>
/// <para>Kept: the order of the bytes; back-pressure (a write waits while more than <see cref="PendingLimit"/> bytes are
/// still to send; HTTP/2 flow control bounds it anyway). A send that fails closes the socket, so the connection's reads
/// end too, and every later write throws that failure as an <see cref="IOException"/>. Dispose sends what is pending
/// first, for at most <see cref="CloseTimeout"/> (a GOAWAY or RST_STREAM written just before the close still leaves),
/// then closes the socket.</para>
/// </summary>
internal sealed class WriteBehindStream : Stream
{
    /// <summary>Bytes written and not yet sent beyond which a write waits for the send loop.</summary>
    internal const int PendingLimit = 1024 * 1024;

    /// <summary>How long Dispose lets the pending bytes go out before the socket is closed under them (by default).</summary>
    internal static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);

    private const int InitialBuffer = 16 * 1024;
    private const int KeepBufferUpTo = 256 * 1024;

    private readonly Stream _inner;
    private readonly TimeSpan _closeTimeoutAfter;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _closeTimeout = new();
    private byte[] _pending = new byte[InitialBuffer]; // written, not yet taken by the send loop (guarded by _gate)
    private byte[] _sending = new byte[InitialBuffer]; // the send loop's own
    private int _pendingLength;
    private bool _draining; // the send loop runs (or is queued)
    private bool _disposed;
    private int _innerClosed;
    private Exception? _failure;
    private TaskCompletionSource? _space; // writers waiting for the pending bytes to fall under the limit

    internal WriteBehindStream(Stream inner, TimeSpan? closeTimeout = null)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _closeTimeoutAfter = closeTimeout ?? CloseTimeout;
    }

    /// <summary>
    /// A <see cref="SocketsHttpHandler.ConnectCallback"/> that connects as SocketsHttpHandler does (TCP, no Nagle
    /// delay) and sends through a <see cref="WriteBehindStream"/>.
    /// </summary>
    internal static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            return new WriteBehindStream(new NetworkStream(socket, ownsSocket: true));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public override bool CanRead => !_disposed;
    public override bool CanWrite => !_disposed;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
    public override int Read(Span<byte> buffer) => _inner.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _inner.ReadAsync(buffer, cancellationToken);

    /// <summary>Nothing to do: what was written is already on its way (the send loop does not wait for a flush).</summary>
    public override void Flush()
    {
    }

    /// <inheritdoc cref="Flush"/>
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (TryAppend(buffer) is { } wait) wait.GetAwaiter().GetResult();
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return TryAppend(buffer.Span) is { } wait ? WaitAndWriteAsync(wait, buffer, cancellationToken) : ValueTask.CompletedTask;
    }

    private async ValueTask WaitAndWriteAsync(Task wait, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        for (Task? next = wait; next is not null; next = TryAppend(buffer.Span))
            await next.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Appends the bytes and starts the send loop if it is idle (null), or returns what to wait for first.</summary>
    private Task? TryAppend(ReadOnlySpan<byte> bytes)
    {
        bool start;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_failure is not null) throw new IOException("the connection to the server failed: " + _failure.Message, _failure);
            if (bytes.IsEmpty) return null;
            if (_pendingLength > 0 && _pendingLength + bytes.Length > PendingLimit)
                return (_space ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            if (_pendingLength + bytes.Length > _pending.Length)
                Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingLength + bytes.Length));
            bytes.CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength += bytes.Length;
            start = !_draining;
            _draining = true;
        }
        if (start) ThreadPool.UnsafeQueueUserWorkItem(static stream => _ = stream.SendLoopAsync(), this, preferLocal: false);
        return null;
    }

    /// <summary>Sends the pending bytes until there are none; the only code that touches <see cref="_sending"/>.</summary>
    private async Task SendLoopAsync()
    {
        while (true)
        {
            int length;
            TaskCompletionSource? space = null;
            bool close = false;
            lock (_gate)
            {
                length = _pendingLength;
                if (length == 0)
                {
                    _draining = false;
                    close = _disposed;
                }
                else
                {
                    (_pending, _sending) = (_sending, _pending);
                    _pendingLength = 0;
                    space = _space;
                    _space = null;
                }
            }
            if (length == 0)
            {
                if (close) CloseInner(); // disposed while sending: everything pending has left
                return;
            }

            space?.TrySetResult();
            try
            {
                await _inner.WriteAsync(_sending.AsMemory(0, length), _closeTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                lock (_gate)
                {
                    _failure = ex;
                    _pendingLength = 0;
                    _draining = false;
                    space = _space;
                    _space = null;
                }
                space?.TrySetResult(); // the waiting writers see the failure
                CloseInner(); // and the reads end
                return;
            }
            if (_sending.Length > KeepBufferUpTo) _sending = new byte[InitialBuffer];
        }
    }

    private void CloseInner()
    {
        if (Interlocked.Exchange(ref _innerClosed, 1) != 0) return;
        _inner.Dispose();
        _closeTimeout.Dispose();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            bool closeNow;
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                closeNow = !_draining;
                if (!closeNow) _closeTimeout.CancelAfter(_closeTimeoutAfter); // the send loop closes the socket when done
            }
            if (closeNow) CloseInner();
        }
        base.Dispose(disposing);
    }
}
