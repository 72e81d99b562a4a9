using System.Buffers;
using System.Runtime.CompilerServices;
using ContributiAutomatici.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;

namespace ContributiAutomatici.Server;

/// <summary>
/// The allocation streams' responses written as bytes already encoded (<see cref="Protocol.AllocationMapper.Frames"/>: each
/// statement straight from the outcome, no message built), through the method's own response type: the call writes one
/// carrier message per response (an <see cref="AllocateResponse"/> per item for Allocate, an <see cref="AllocateBatchesResponse"/>
/// per batch of items for AllocateBatches, its bytes made by <see cref="Batches"/>), and the response marshaller, wrapped here,
/// writes the bytes the carrier holds at that moment instead of serializing it. Any other response is serialized as ever.
/// The contract does not change: the bytes are those of the message (<c>AllocationJsonTests</c>,
/// <c>AllocationBatchesTests</c>; the benchmark checks them over gRPC). ScoreWork's totals answers go the same way
/// (<see cref="ScoringGrpcService.ScoreWork"/>: pooled carriers, given back by <see cref="Frame.Written"/>).
/// </summary>
public static class AllocationFrames
{
    /// <summary>Most items in one AllocateBatches response message.</summary>
    public const int BatchItems = 1_024;

    /// <summary>Most bytes of one AllocateBatches response message, unless its one item is larger: 1 MiB (a response may have 16).</summary>
    public const int BatchBytes = 1 << 20;

    /// <summary>The batch buffer's first size, doubled up to <see cref="BatchBytes"/> as a batch needs it.</summary>
    private const int InitialBatchBuffer = 64 * 1024;

    /// <summary>The tag of <c>items</c> (field 1, length-delimited) in <see cref="AllocateBatchesResponse"/>.</summary>
    private const byte ItemsTag = (1 << 3) | 2;

    /// <summary>What a carrier holds: the bytes of the message being written.</summary>
    public class Frame
    {
        public ReadOnlyMemory<byte> Bytes { get; set; }

        /// <summary>Called once the marshaller has copied <see cref="Bytes"/> to the call's output (e.g. to pool the carrier again).</summary>
        protected internal virtual void Written()
        {
        }
    }

    private static readonly ConditionalWeakTable<object, Frame> Carried = new();

    /// <summary>A carrier for one Allocate call: write it once per item after setting the frame's bytes (the write copies them).</summary>
    public static (AllocateResponse Carrier, Frame Frame) Carrier() => Carrier<AllocateResponse>();

    /// <summary>A carrier of a response type the service binders wrap (<see cref="Carries"/>), for one call.</summary>
    public static (TResponse Carrier, Frame Frame) Carrier<TResponse>() where TResponse : class, IMessage<TResponse>, new()
    {
        if (!Carries(typeof(TResponse))) throw new ArgumentException($"{typeof(TResponse).Name} is not written as bytes by its marshaller", nameof(TResponse));
        var carrier = new TResponse();
        var frame = new Frame();
        Carry(carrier, frame);
        return (carrier, frame);
    }

    /// <summary><paramref name="carrier"/>, of a response type the service binders wrap, written as <paramref name="frame"/>'s bytes from now on.</summary>
    internal static void Carry<TResponse>(TResponse carrier, Frame frame) where TResponse : class, IMessage<TResponse>
    {
        if (!Carries(typeof(TResponse))) throw new ArgumentException($"{typeof(TResponse).Name} is not written as bytes by its marshaller", nameof(TResponse));
        Carried.Add(carrier, frame);
    }

    /// <summary>
    /// The response types whose marshaller writes a carrier's bytes: the allocation streams', ScoreWork's (its totals answers,
    /// <see cref="ScoringGrpcService.ScoreWork"/>) and the scoring streams' (every answer).
    /// </summary>
    private static bool Carries(Type response) =>
        response == typeof(AllocateResponse) || response == typeof(AllocateBatchesResponse) || response == typeof(ScoreWorkResponse) ||
        response == typeof(ScoreWorksResponse) || response == typeof(ScoreWorkBatchesResponse);

    /// <summary>
    /// <paramref name="method"/> with its response marshaller wrapped if its responses are the allocation streams' (a carrier's
    /// bytes written as they are), as it is otherwise. The service binders call it for every method.
    /// </summary>
    internal static Method<TRequest, TResponse> Framed<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class where TResponse : class
    {
        if (!Carries(typeof(TResponse))) return method;
        var responses = method.ResponseMarshaller;
        var serialize = responses.ContextualSerializer;
        var framed = Marshallers.Create<TResponse>((message, context) =>
        {
            if (!Carried.TryGetValue(message, out var frame))
            {
                serialize(message, context);
                return;
            }
            context.SetPayloadLength(frame.Bytes.Length);
            Copy(frame, context.GetBufferWriter());
            context.Complete();
            frame.Written();
        }, responses.ContextualDeserializer);
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, method.RequestMarshaller, framed);
    }

    /// <summary>
    /// What the wrapped marshaller does with a carrier, for the benchmark's product path: its bytes copied to
    /// <paramref name="writer"/>, then its frame told (<see cref="Frame.Written"/>: a pooled one goes back to its pool). False,
    /// and nothing written, when <paramref name="message"/> is not a carrier.
    /// </summary>
    public static bool Write(object message, IBufferWriter<byte> writer)
    {
        if (!Carried.TryGetValue(message, out var frame)) return false;
        Copy(frame, writer);
        frame.Written();
        return true;
    }

    private static void Copy(Frame frame, IBufferWriter<byte> writer)
    {
        var bytes = frame.Bytes.Span;
        while (bytes.Length > 0)
        {
            var span = writer.GetSpan();
            var n = Math.Min(span.Length, bytes.Length);
            bytes[..n].CopyTo(span);
            writer.Advance(n);
            bytes = bytes[n..];
        }
    }

    /// <summary>
    /// The bytes of <see cref="AllocateBatchesResponse"/> messages holding <paramref name="items"/> (each the bytes of an
    /// <see cref="AllocateResponse"/>, valid until the next is asked for), in order: for each item the tag of field 1, its
    /// length as a varint and its bytes, as protobuf writes a repeated message field. A batch ends before the item that would
    /// make it more than <paramref name="maxItems"/> items or <paramref name="maxBytes"/> bytes (an item larger than that
    /// goes alone). One buffer, reused: a batch's bytes are valid until the next batch is asked for.
    /// </summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Batches(IEnumerable<ReadOnlyMemory<byte>> items, int maxItems = BatchItems, int maxBytes = BatchBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxItems, 1);
        // Small to begin with, doubled as a batch needs it: a small year's batches hold on to no more of the shared pool (whose
        // arrays outlive the call) than they use, and a full batch fits the pool's 1 MiB bucket exactly (BatchBytes).
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes, InitialBatchBuffer));
        try
        {
            var length = 0;
            var count = 0;
            foreach (var item in items)
            {
                var size = 1 + CodedOutputStream.ComputeLengthSize(item.Length) + item.Length;
                if (count > 0 && (count == maxItems || length + size > maxBytes))
                {
                    yield return buffer.AsMemory(0, length);
                    (length, count) = (0, 0);
                }
                if (length + size > buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Max(length + size, Math.Min(2 * buffer.Length, maxBytes)));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                buffer[length++] = ItemsTag;
                length += Varint(buffer.AsSpan(length), (uint)item.Length);
                item.Span.CopyTo(buffer.AsSpan(length));
                length += item.Length;
                count++;
            }
            if (count > 0) yield return buffer.AsMemory(0, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes <paramref name="value"/> as a base-128 varint; the bytes written.</summary>
    private static int Varint(Span<byte> to, uint value)
    {
        var n = 0;
        while (value >= 0x80)
        {
            to[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        to[n++] = (byte)value;
        return n;
    }
}
