namespace ContributiAutomatici.Engine.Rules;

// What the rule language's helpers (RuleScope's) ask of their constant arguments: the parser reads a month-day figure as
// they do, and the sandbox checks every such argument at load time.

/// <summary>
/// Marks a helper parameter whose constant argument names entries of a list; the loader checks every
/// name exists, so a typo in a rule is refused at load time with its file and line.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class ListReferenceAttribute(string kind, ListField field) : Attribute
{
    public string Kind { get; } = kind;
    public ListField Field { get; } = field;
}

public enum ListField { Id, Band, Category }

/// <summary>Marks a helper parameter of ("HH:mm", value) pairs whose times must be constants; checked at load time.</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class TimeOfDayAttribute : Attribute;

/// <summary>Marks a helper parameter whose constant argument is a day of the year "MM-dd"; checked at load time.</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class MonthDayAttribute : Attribute
{
    /// <summary>"06-01" as 601; -1 when not a valid "MM-dd".</summary>
    public static int Parse(string s) =>
        s.Length == 5 && s[2] == '-' && char.IsAsciiDigit(s[0]) && char.IsAsciiDigit(s[1]) && char.IsAsciiDigit(s[3]) && char.IsAsciiDigit(s[4]) &&
        (s[0] - '0') * 10 + (s[1] - '0') is var m and >= 1 and <= 12 &&
        (s[3] - '0') * 10 + (s[4] - '0') is var d and >= 1 && d <= DateTime.DaysInMonth(2024, m)
            ? m * 100 + d
            : -1;
}
