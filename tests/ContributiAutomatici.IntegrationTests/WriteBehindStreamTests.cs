using System.Net;
using System.Net.Sockets;
using ContributiAutomatici.Client;
using Xunit;

namespace ContributiAutomatici.IntegrationTests;

/// <summary>
/// The client's write-behind connection (<see cref="WriteBehindStream"/>) over a real loopback socket pair: the bytes
/// arrive whole and in order, writes return before their send, what is written during a send leaves in the next one,
/// back-pressure, a failed send, and a close with bytes still pending. The gRPC calls over it are the rest of this
/// project's tests (the typed client's default handler uses it).
/// </summary>
public sealed class WriteBehindStreamTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Every_byte_arrives_in_order()
    {
        await using var pair = await SocketPair.OpenAsync();
        await using var stream = new WriteBehindStream(pair.ClientStream);
        var random = new Random(20261202);
        var sent = new MemoryStream();
        var received = ReadToEndAsync(pair.ServerStream);
        for (var i = 0; i < 5_000; i++)
        {
            var chunk = new byte[random.Next(1, 3_000)];
            random.NextBytes(chunk);
            sent.Write(chunk);
            if (i % 2 == 0) await stream.WriteAsync(chunk);
            else stream.Write(chunk, 0, chunk.Length);
        }
        await stream.FlushAsync();
        await stream.DisposeAsync(); // sends what is pending, then closes: the reader sees the end

        Assert.Equal(sent.ToArray(), await received.WaitAsync(Patience));
    }

    [Fact]
    public async Task Writes_return_before_their_send_and_what_is_written_during_a_send_leaves_in_the_next()
    {
        await using var pair = await SocketPair.OpenAsync();
        var gated = new GatedStream(pair.ClientStream);
        await using var stream = new WriteBehindStream(gated);
        var received = ReadToEndAsync(pair.ServerStream);

        await stream.WriteAsync("a"u8.ToArray()); // taken by the send loop, whose send waits at the gate
        await gated.FirstSendStarted.WaitAsync(Patience);
        for (var i = 0; i < 100; i++)
        {
            var write = stream.WriteAsync(new[] { (byte)'b' });
            Assert.True(write.IsCompletedSuccessfully, "a write returns once copied, while the send is under way");
            await write;
        }
        gated.Open();
        await stream.DisposeAsync();

        Assert.Equal("a" + new string('b', 100), System.Text.Encoding.ASCII.GetString(await received.WaitAsync(Patience)));
        Assert.Equal(2, gated.Sends); // the first write alone, then the hundred written during it in one send
    }

    [Fact]
    public async Task A_writer_waits_while_too_much_is_pending_and_can_give_up()
    {
        await using var pair = await SocketPair.OpenAsync();
        var gated = new GatedStream(pair.ClientStream);
        await using var stream = new WriteBehindStream(gated);
        var received = ReadToEndAsync(pair.ServerStream);

        await stream.WriteAsync(new byte[10]); // in the send held at the gate
        await gated.FirstSendStarted.WaitAsync(Patience);
        await stream.WriteAsync(new byte[WriteBehindStream.PendingLimit - 10]); // pending: just under the limit
        await stream.WriteAsync(new byte[10]); // exactly at the limit: still taken

        using var cancel = new CancellationTokenSource();
        var over = stream.WriteAsync(new byte[1], cancel.Token).AsTask();
        await Task.Delay(50);
        Assert.False(over.IsCompleted, "a write beyond the pending limit waits for the send loop");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => over.WaitAsync(Patience));

        var waiting = stream.WriteAsync(new byte[] { 7 }).AsTask();
        Assert.False(waiting.IsCompleted);
        gated.Open(); // the pending megabyte leaves; the waiting write is taken after it
        await waiting.WaitAsync(Patience);
        await stream.DisposeAsync();

        var bytes = await received.WaitAsync(Patience);
        Assert.Equal(WriteBehindStream.PendingLimit + 10 + 1, bytes.Length); // the cancelled byte was never written
        Assert.Equal(7, bytes[^1]);
    }

    [Fact]
    public async Task A_failed_send_fails_the_next_write_and_ends_the_reads()
    {
        await using var pair = await SocketPair.OpenAsync();
        var gated = new GatedStream(pair.ClientStream) { Failure = new IOException("connection reset by peer") };
        await using var stream = new WriteBehindStream(gated);

        await stream.WriteAsync(new byte[] { 1 }); // taken; its send fails at the gate
        var reading = stream.ReadAsync(new byte[16]).AsTask(); // a read waiting on the connection, as HTTP/2's loop does
        gated.Open();

        var failure = await Assert.ThrowsAsync<IOException>(async () =>
        {
            for (var i = 0; i < 1_000; i++)
            {
                await stream.WriteAsync(new byte[] { 2 });
                await Task.Delay(5);
            }
        });
        Assert.Contains("connection reset by peer", failure.Message);
        Assert.Same(gated.Failure, failure.InnerException);
        // The socket was closed under the waiting read, so the connection's reader learns of the failure too: the read
        // ends, aborted or at end of stream (the runtime shuts a socket down before closing it under a pending read).
        try
        {
            Assert.Equal(0, await reading.WaitAsync(Patience));
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException)
        {
        }
    }

    [Fact]
    public async Task Dispose_sends_what_is_pending_then_closes()
    {
        await using var pair = await SocketPair.OpenAsync();
        var gated = new GatedStream(pair.ClientStream);
        var stream = new WriteBehindStream(gated);
        var received = ReadToEndAsync(pair.ServerStream);

        await stream.WriteAsync("GOAWAY"u8.ToArray()); // the send held at the gate
        await gated.FirstSendStarted.WaitAsync(Patience);
        await stream.WriteAsync("-then-close"u8.ToArray()); // pending
        stream.Dispose();
        Assert.Throws<ObjectDisposedException>(() => stream.Write([1]));
        Assert.False(received.IsCompleted, "the socket stays open while bytes are pending");

        gated.Open();
        Assert.Equal("GOAWAY-then-close", System.Text.Encoding.ASCII.GetString(await received.WaitAsync(Patience)));
    }

    [Fact]
    public async Task Dispose_closes_the_socket_after_its_timeout_when_the_pending_bytes_cannot_leave()
    {
        await using var pair = await SocketPair.OpenAsync();
        var gated = new GatedStream(pair.ClientStream); // never opened: the send hangs, as to a peer that stopped reading
        var stream = new WriteBehindStream(gated, closeTimeout: TimeSpan.FromMilliseconds(200));
        var received = ReadToEndAsync(pair.ServerStream);

        await stream.WriteAsync(new byte[] { 1 });
        await gated.FirstSendStarted.WaitAsync(Patience);
        stream.Dispose();

        Assert.Empty(await received.WaitAsync(Patience)); // closed after 200 ms, the held byte never sent
        Assert.True(gated.Disposed);
    }

    private static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        var all = new MemoryStream();
        await stream.CopyToAsync(all);
        return all.ToArray();
    }

    /// <summary>A connected pair of loopback TCP sockets.</summary>
    private sealed class SocketPair : IAsyncDisposable
    {
        public required NetworkStream ClientStream { get; init; }
        public required NetworkStream ServerStream { get; init; }

        public static async Task<SocketPair> OpenAsync()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await client.ConnectAsync(listener.LocalEndPoint!);
            var server = await listener.AcceptAsync();
            return new SocketPair { ClientStream = new NetworkStream(client, ownsSocket: true), ServerStream = new NetworkStream(server, ownsSocket: true) };
        }

        public async ValueTask DisposeAsync()
        {
            await ClientStream.DisposeAsync();
            await ServerStream.DisposeAsync();
        }
    }

    /// <summary>
    /// The real socket's stream with a gate before its sends: the first send waits until <see cref="Open"/> (then
    /// fails with <see cref="Failure"/> if set); counts the sends.
    /// </summary>
    private sealed class GatedStream(Stream inner) : Stream
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _firstSend = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _sends;

        public Exception? Failure { get; init; }
        public int Sends => Volatile.Read(ref _sends);
        public bool Disposed { get; private set; }
        public Task FirstSendStarted => _firstSend.Task;
        public void Open() => _gate.TrySetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _sends);
            _firstSend.TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
            if (Failure is not null) throw Failure;
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Disposed = true;
                inner.Dispose();
            }
            base.Dispose(disposing);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    }
}
