using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ContributiAutomatici.Protocol;

/// <summary>
/// The fields of a message written in field-number order, as protobuf's binary (<see cref="ProtoEncoder"/>) or as the indented
/// JSON of <see cref="JsonFormatter"/> (<see cref="JsonEncoder"/>), the same bytes or text the generated message would give with
/// the same values, without the message: a decimal is formatted into a span, not a string. What a field of a generated message
/// leaves out (an empty string, false, 0, an empty list) is left out here too. <see cref="AllocationMapper"/> describes its
/// statements once, through this class, for both.
/// </summary>
internal abstract class Encoder
{
    /// <summary>A singular string field (left out when empty).</summary>
    public abstract void String(int field, string name, string value);

    /// <summary>A repeated string field (each element written, empty ones too).</summary>
    public abstract void Strings(int field, string name, IReadOnlyList<string> values);

    /// <summary>A decimal string field: <paramref name="value"/> rounded half away from zero to <paramref name="scale"/>, canonical.</summary>
    public abstract void Decimal(int field, string name, decimal value, int scale);

    public abstract void Bool(int field, string name, bool value);

    public abstract void Int(int field, string name, int value);

    /// <summary>An enum field of <paramref name="type"/> (left out when 0).</summary>
    public abstract void Enum(int field, string name, int value, EnumDescriptor type);

    /// <summary>A message field (<paramref name="repeated"/>: the next element of a repeated one), its fields until <see cref="End"/>.</summary>
    public abstract void Begin(int field, string name, bool repeated);

    public abstract void End();

    /// <summary>A message field given as a generated message.</summary>
    public abstract void Message(int field, string name, IMessage message);

    /// <summary>The canonical text of <paramref name="value"/> at <paramref name="scale"/> (<see cref="AllocationMapper.Dec"/>'s) in <paramref name="buffer"/> (64 chars): its length.</summary>
    internal static int Format(decimal value, int scale, Span<char> buffer)
    {
        var d = Math.Round(value, scale, MidpointRounding.AwayFromZero);
        // A coefficient of up to 64 bits (a year's figures at 10 decimals up to some 1.8 billion): its digits from a ulong, the point
        // put in, the fraction's trailing zeros cut, as Canonical writes them; larger ones through Canonical.
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(d, bits);
        if (bits[2] != 0) return ResponseMapper.Canonical(d, buffer);
        var coefficient = (uint)bits[0] | (ulong)(uint)bits[1] << 32;
        if (coefficient == 0)
        {
            buffer[0] = '0';
            return 1;
        }
        var fraction = (bits[3] >> 16) & 0xFF;
        for (; fraction > 0 && coefficient % 10 == 0; fraction--) coefficient /= 10;
        Span<char> digits = stackalloc char[20];
        coefficient.TryFormat(digits, out var n, default, CultureInfo.InvariantCulture);
        var at = 0;
        if (bits[3] < 0) buffer[at++] = '-';
        if (n <= fraction)
        {
            buffer[at++] = '0';
            buffer[at++] = '.';
            for (var k = n; k < fraction; k++) buffer[at++] = '0';
            digits[..n].CopyTo(buffer[at..]);
            return at + n;
        }
        digits[..(n - fraction)].CopyTo(buffer[at..]);
        at += n - fraction;
        if (fraction == 0) return at;
        buffer[at++] = '.';
        digits[(n - fraction)..n].CopyTo(buffer[at..]);
        return at + fraction;
    }
}

/// <summary>Protobuf's binary encoding into one buffer, reused: <see cref="Reset"/>, the fields, then <see cref="Written"/>.</summary>
internal sealed class ProtoEncoder(int capacity = 1 << 16) : Encoder
{
    private byte[] _buffer = new byte[capacity];
    private int _at;
    // Where each open message's content starts (after the room left for its length).
    private int[] _open = new int[8];
    private int _depth;

    /// <summary>Room kept before a message's content for its length: a varint of up to 5 bytes, moved back once the length is known.</summary>
    private const int LengthRoom = 5;

    /// <summary>The bytes written since <see cref="Reset"/> (valid until the next write).</summary>
    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _at);

    public void Reset() => (_at, _depth) = (0, 0);

    /// <summary>The buffer's size (it grows as writes need it, and stays grown).</summary>
    public int Capacity => _buffer.Length;

    /// <summary>The bytes written since <see cref="Reset"/>.</summary>
    public int Length => _at;

    /// <summary>The bytes written from <paramref name="from"/> to <paramref name="to"/> (valid until the next write).</summary>
    public ReadOnlyMemory<byte> Slice(int from, int to) => _buffer.AsMemory(from, to - from);

    private Span<byte> Room(int bytes)
    {
        if (_at + bytes > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _at + bytes));
        return _buffer.AsSpan(_at);
    }

    private void Varint(ulong value)
    {
        var span = Room(10);
        var n = 0;
        for (; value >= 0x80; value >>= 7) span[n++] = (byte)(value | 0x80);
        span[n++] = (byte)value;
        _at += n;
    }

    private static int VarintSize(uint value)
    {
        var n = 1;
        for (; value >= 0x80; value >>= 7) n++;
        return n;
    }

    private void Tag(int field, int wireType) => Varint((uint)(field << 3 | wireType));

    private void Utf8(int field, string value)
    {
        var n = Encoding.UTF8.GetByteCount(value);
        Tag(field, 2);
        Varint((uint)n);
        Encoding.UTF8.GetBytes(value, Room(n));
        _at += n;
    }

    public override void String(int field, string name, string value)
    {
        if (value.Length > 0) Utf8(field, value);
    }

    public override void Strings(int field, string name, IReadOnlyList<string> values)
    {
        for (var i = 0; i < values.Count; i++) Utf8(field, values[i]);
    }

    /// <summary>One element of a repeated string field (written even when empty).</summary>
    public void Element(int field, string value) => Utf8(field, value);

    public override void Decimal(int field, string name, decimal value, int scale)
    {
        Span<char> text = stackalloc char[64];
        var n = Format(value, scale, text);
        Tag(field, 2);
        Varint((uint)n);
        var bytes = Room(n);
        for (var i = 0; i < n; i++) bytes[i] = (byte)text[i]; // digits, '-' and '.': ASCII
        _at += n;
    }

    public override void Bool(int field, string name, bool value)
    {
        if (!value) return;
        Tag(field, 0);
        Varint(1);
    }

    public override void Int(int field, string name, int value)
    {
        if (value == 0) return;
        Tag(field, 0);
        Varint((ulong)(long)value); // a negative int32 as ten bytes, as protobuf writes it
    }

    public override void Enum(int field, string name, int value, EnumDescriptor type) => Int(field, name, value);

    public override void Begin(int field, string name, bool repeated)
    {
        Tag(field, 2);
        Room(LengthRoom);
        if (_depth == _open.Length) Array.Resize(ref _open, _depth * 2);
        _open[_depth++] = _at += LengthRoom;
    }

    public override void End()
    {
        var start = _open[--_depth];
        var length = _at - start;
        var size = VarintSize((uint)length);
        // The content moved back next to its length's actual size.
        _buffer.AsSpan(start, length).CopyTo(_buffer.AsSpan(start - LengthRoom + size));
        _at = start - LengthRoom;
        Varint((uint)length);
        _at += length;
    }

    public override void Message(int field, string name, IMessage message)
    {
        var size = message.CalculateSize();
        Tag(field, 2);
        Varint((uint)size);
        message.WriteTo(Room(size)[..size]);
        _at += size;
    }
}

/// <summary>
/// The text <see cref="Formatter"/> (indented by two spaces) writes for a message, field by field, into <paramref name="output"/>:
/// a statement begins with <see cref="BeginObject"/> at the indentation level the formatter would be given for it.
/// </summary>
internal sealed class JsonEncoder(TextWriter output) : Encoder
{
    /// <summary>The formatter whose text this is (the summary and a work's co-production status are formatted by it).</summary>
    public static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithIndentation());

    private const string Indentation = "  ";

    // Each open object: its fields' indentation level, whether a field is written yet, the repeated field whose array is open.
    private (int Level, bool First, int Array)[] _open = new (int, bool, int)[8];
    private int _depth;

    /// <summary>The characters below 128 the formatter writes as they are in a string (no escape).</summary>
    private static readonly bool[] Plain = PlainAscii();

    private static bool[] PlainAscii()
    {
        var plain = new bool[128];
        for (var c = 0; c < plain.Length; c++)
        {
            var w = new StringWriter(CultureInfo.InvariantCulture);
            Formatter.WriteValue(w, ((char)c).ToString());
            plain[c] = w.ToString() == $"\"{(char)c}\"";
        }
        return plain;
    }

    /// <summary>An object whose text starts here, formatted at <paramref name="level"/> (its fields one level deeper).</summary>
    public void BeginObject(int level) => Push(level + 1, '{');

    private void Push(int level, char bracket)
    {
        output.Write(bracket);
        if (_depth == _open.Length) Array.Resize(ref _open, _depth * 2);
        _open[_depth++] = (level, true, 0);
    }

    private void NewLine(int level)
    {
        output.WriteLine();
        for (var i = 0; i < level; i++) output.Write(Indentation);
    }

    private void CloseArray(ref (int Level, bool First, int Array) o)
    {
        if (o.Array == 0) return;
        NewLine(o.Level);
        output.Write(']');
        o.Array = 0;
    }

    /// <summary>The next field's name in the open object.</summary>
    private void Field(string name)
    {
        ref var o = ref _open[_depth - 1];
        CloseArray(ref o);
        if (!o.First) output.Write(',');
        o.First = false;
        NewLine(o.Level);
        output.Write('"');
        output.Write(name);
        output.Write("\": ");
    }

    private void Quoted(string value)
    {
        foreach (var c in value)
            if (c >= Plain.Length || !Plain[c])
            {
                Formatter.WriteValue(output, value); // escapes as the formatter does
                return;
            }
        output.Write('"');
        output.Write(value);
        output.Write('"');
    }

    public override void String(int field, string name, string value)
    {
        if (value.Length == 0) return;
        Field(name);
        Quoted(value);
    }

    public override void Strings(int field, string name, IReadOnlyList<string> values)
    {
        if (values.Count == 0) return;
        Field(name);
        var level = _open[_depth - 1].Level;
        output.Write('[');
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0) output.Write(',');
            NewLine(level + 1);
            Quoted(values[i]);
        }
        NewLine(level);
        output.Write(']');
    }

    public override void Decimal(int field, string name, decimal value, int scale)
    {
        Span<char> text = stackalloc char[64];
        var n = Format(value, scale, text);
        Field(name);
        output.Write('"');
        output.Write(text[..n]);
        output.Write('"');
    }

    public override void Bool(int field, string name, bool value)
    {
        if (!value) return;
        Field(name);
        output.Write("true");
    }

    public override void Int(int field, string name, int value)
    {
        if (value == 0) return;
        Field(name);
        Number(value);
    }

    private void Number(int value)
    {
        Span<char> text = stackalloc char[12];
        value.TryFormat(text, out var n, default, CultureInfo.InvariantCulture);
        output.Write(text[..n]);
    }

    public override void Enum(int field, string name, int value, EnumDescriptor type)
    {
        if (value == 0) return;
        Field(name);
        if (type.FindValueByNumber(value) is { } v) Quoted(v.Name);
        else Number(value);
    }

    public override void Begin(int field, string name, bool repeated)
    {
        ref var o = ref _open[_depth - 1];
        if (!repeated)
        {
            Field(name);
            Push(o.Level + 1, '{');
            return;
        }
        // An element of a list: the list opened by its first element, closed by the next field or the object's end.
        if (o.Array == field)
        {
            output.Write(',');
            NewLine(o.Level + 1);
        }
        else
        {
            Field(name);
            output.Write('[');
            NewLine(o.Level + 1);
            o.Array = field;
        }
        Push(o.Level + 2, '{');
    }

    public override void End()
    {
        ref var o = ref _open[--_depth];
        CloseArray(ref o);
        if (!o.First) NewLine(o.Level - 1);
        output.Write('}');
    }

    public override void Message(int field, string name, IMessage message)
    {
        Field(name);
        Formatter.Format(message, output, _open[_depth - 1].Level);
    }
}
