using System.Globalization;
using ContributiAutomatici.Engine.Model;

namespace ContributiAutomatici.Engine.Scoring;

/// <summary>How an explanation writes the values a row read (Italian: "sì", "(non indicato)", dates and amounts).</summary>
public abstract partial class RuleScope
{
    // ---------------------------------------------------------------- explanations

    private const string NotGiven = "(non indicato)";

    // The model's value types formatted without boxing (Fmt(object) hands them here): an explanation formats every value
    // its rows read.
    protected static string Fmt(decimal? value) => value is { } d ? FormatMemo.Current.Decimal(d) : NotGiven;
    protected static string Fmt(int? value) => value is { } i ? i.ToString(CultureInfo.InvariantCulture) : NotGiven;
    protected static string Fmt(long? value) => value is { } i ? i.ToString(CultureInfo.InvariantCulture) : NotGiven;
    protected static string Fmt(bool? value) => value is { } b ? b ? "sì" : "no" : NotGiven;
    protected static string Fmt(DateOnly? value) => value is { } d ? FormatMemo.Current.Date(d) : NotGiven;
    protected static string Fmt(TimeOnly? value) => value is { } t ? t.ToString("HH:mm", CultureInfo.InvariantCulture) : NotGiven;
    protected static string Fmt(string? value) => value ?? NotGiven;
    protected static string Fmt<T>(T value) where T : struct, Enum => EnumNames<T>.Of(value);
    protected static string Fmt<T>(T? value) where T : struct, Enum => value is { } e ? EnumNames<T>.Of(e) : NotGiven;

    /// <summary>
    /// The texts of the numbers and dates an explanation formats, kept per thread in a small table: a work's lines read
    /// the same values again and again (its box office in three rows, its release date in two), and the rows of the next work
    /// often the same figures. A decimal is matched with its scale (1.0 and 1 print differently).
    /// </summary>
    private sealed class FormatMemo
    {
        [ThreadStatic] private static FormatMemo? _current;
        public static FormatMemo Current => _current ??= new FormatMemo();

        private const int Slots = 32;
        private readonly decimal[] _decimals = new decimal[Slots];
        private readonly string?[] _decimalTexts = new string?[Slots];
        private readonly int[] _days = new int[Slots];
        private readonly string?[] _dayTexts = new string?[Slots];

        public string Decimal(decimal d)
        {
            var slot = (d.GetHashCode() ^ d.Scale) & (Slots - 1);
            if (_decimalTexts[slot] is { } text && _decimals[slot] == d && _decimals[slot].Scale == d.Scale) return text;
            text = d.ToString(CultureInfo.InvariantCulture);
            (_decimals[slot], _decimalTexts[slot]) = (d, text);
            return text;
        }

        public string Date(DateOnly d)
        {
            var slot = d.DayNumber & (Slots - 1);
            if (_dayTexts[slot] is { } text && _days[slot] == d.DayNumber) return text;
            text = d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            (_days[slot], _dayTexts[slot]) = (d.DayNumber, text);
            return text;
        }
    }

    /// <summary>
    /// An enum's member names, made once per enum type (Enum.ToString allocates at each call): by value for the model's small
    /// enums, in a dictionary for any other value.
    /// </summary>
    private static class EnumNames<T> where T : struct, Enum
    {
        private static readonly string[] ByValue = Small();
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<T, string> Others = new();

        private static string[] Small()
        {
            if (Enum.GetUnderlyingType(typeof(T)) != typeof(int)) return [];
            var values = Enum.GetValues<T>();
            var max = values.Length == 0 ? -1 : values.Max(v => System.Runtime.CompilerServices.Unsafe.As<T, int>(ref v));
            if (max is < 0 or > 63 || values.Any(v => System.Runtime.CompilerServices.Unsafe.As<T, int>(ref v) < 0)) return [];
            var names = new string[max + 1];
            for (var i = 0; i <= max; i++) names[i] = System.Runtime.CompilerServices.Unsafe.As<int, T>(ref i).ToString();
            return names;
        }

        public static string Of(T value)
        {
            if (System.Runtime.CompilerServices.Unsafe.SizeOf<T>() == 4 && System.Runtime.CompilerServices.Unsafe.As<T, int>(ref value) is var i &&
                (uint)i < (uint)ByValue.Length) return ByValue[i];
            return Others.GetOrAdd(value, static v => v.ToString());
        }
    }

    /// <summary>Formats a value read by a rule for the explanation.</summary>
    protected static string Fmt(object? value) => value switch
    {
        null => NotGiven,
        decimal d => Fmt(d),
        bool b => Fmt(b),
        DateOnly d => Fmt(d),
        TimeOnly t => Fmt(t),
        string s => s,
        System.Collections.IEnumerable e => "[" + string.Join("; ", e.Cast<object?>().Select(Fmt)) + "]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
