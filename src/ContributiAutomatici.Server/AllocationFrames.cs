using System.Runtime.CompilerServices;
using ContributiAutomatici.Contracts.V1;
using Grpc.Core;

namespace ContributiAutomatici.Server;

/// <summary>
/// The allocation stream's responses written as bytes already encoded (<see cref="Protocol.AllocationMapper.Frames"/>: each
/// statement straight from the outcome, no message built), through the method's own response type: the call writes one
/// carrier <see cref="AllocateResponse"/> per item, and the response marshaller, wrapped here, writes the bytes the carrier
/// holds at that moment instead of serializing it. Any other response is serialized as ever. The contract does not change:
/// the bytes are those of the item's message (<c>AllocationJsonTests</c>; the benchmark checks them over gRPC).
/// </summary>
public static class AllocationFrames
{
    /// <summary>What a carrier holds: the bytes of the item being written.</summary>
    public sealed class Frame
    {
        public ReadOnlyMemory<byte> Bytes { get; set; }
    }

    private static readonly ConditionalWeakTable<AllocateResponse, Frame> Carried = new();

    /// <summary>A carrier for one call: write it once per item after setting the frame's bytes (the write copies them).</summary>
    public static (AllocateResponse Carrier, Frame Frame) Carrier()
    {
        var carrier = new AllocateResponse();
        var frame = new Frame();
        Carried.Add(carrier, frame);
        return (carrier, frame);
    }

    /// <summary>
    /// <paramref name="method"/> with its response marshaller wrapped if its responses are <see cref="AllocateResponse"/>s
    /// (a carrier's bytes written as they are), as it is otherwise. The service binders call it for every method.
    /// </summary>
    internal static Method<TRequest, TResponse> Framed<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class where TResponse : class
    {
        if (method.ResponseMarshaller is not Marshaller<AllocateResponse> responses) return method;
        var serialize = responses.ContextualSerializer;
        var framed = Marshallers.Create<AllocateResponse>((message, context) =>
        {
            if (!Carried.TryGetValue(message, out var frame))
            {
                serialize(message, context);
                return;
            }
            var bytes = frame.Bytes.Span;
            context.SetPayloadLength(bytes.Length);
            var writer = context.GetBufferWriter();
            while (bytes.Length > 0)
            {
                var span = writer.GetSpan();
                var n = Math.Min(span.Length, bytes.Length);
                bytes[..n].CopyTo(span);
                writer.Advance(n);
                bytes = bytes[n..];
            }
            context.Complete();
        }, responses.ContextualDeserializer);
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, method.RequestMarshaller, (Marshaller<TResponse>)(object)framed);
    }
}
