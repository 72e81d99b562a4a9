using System.Globalization;
using Google.Protobuf.Collections;

namespace ContributiAutomatici.Protocol;

/// <summary>
/// The bounds of a request, where the decree's quantities are bounded: no amount, list or text beyond them is a
/// real work's, and within them no rule of the decree can overflow (the largest total, 10,000 entries of
/// EUR 1,000 billion, divided by the smallest amount, 0.0001, is 1e20, far below decimal's 7.9e28). Beyond them a
/// request is INVALID_ARGUMENT naming the field (README, "Request limits").
/// </summary>
public static class RequestLimits
{
    /// <summary>Largest amount (euro, minutes, percent): EUR 1,000 billion.</summary>
    public const decimal MaxAmount = 1_000_000_000_000m;

    /// <summary>Most decimal places of an amount (cents and below).</summary>
    public const int MaxDecimals = 4;

    /// <summary>Most entries of each list of a work (box office, sales, festivals, prizes, markets).</summary>
    public const int MaxEntries = 10_000;

    /// <summary>Most roles in one request (there are four).</summary>
    public const int MaxRoles = 8;

    /// <summary>Longest work id, list entry id or request id.</summary>
    public const int MaxIdLength = 200;

    /// <summary>Longest title.</summary>
    public const int MaxTitleLength = 1_000;

    /// <summary>Most "other prizes" of one festival entry.</summary>
    public const int MaxOtherPrizes = 1_000;

    /// <summary>Most items in one message of the ScoreWorkBatches stream (its field "items").</summary>
    public const int MaxBatchItems = 1_000;

    /// <summary>
    /// Most items asking for the explanation (totals_only false) in one message of the ScoreWorkBatches stream: a batch's
    /// answers travel in one message, an explained answer is a few KiB (up to about 26 KiB with include_not_applied), so a
    /// batch's answer stays near a MiB (not the 16 MiB a response may have), and a server answering many such batches at
    /// once does not keep tens of MiB of answers and send buffers (the fuzz: 217 MiB after it with batches of up to 300
    /// explained works, above the 200 MB a replica is sized for).
    /// </summary>
    public const int MaxBatchExplained = 32;

    /// <summary>
    /// Most items in one message of the AllocateBatches stream (its field "items"): a year's items are a few hundred bytes
    /// each (a work with its results a few KiB), so a full batch stays well inside the 4 MiB a request message may have.
    /// </summary>
    public const int MaxAllocateBatchItems = 4_096;

    /// <summary>Throws INVALID_ARGUMENT naming "items" when a batch of a batch stream holds more than <paramref name="max"/> items.</summary>
    public static void CheckBatch(int count, int max)
    {
        if (count > max)
            throw new InvalidRequestException([new FieldError("items", $"at most {max} items in one batch, got {count} (request limit)")]);
    }

    /// <summary>Adds an error when a number is beyond <see cref="MaxAmount"/> or has more than <see cref="MaxDecimals"/> decimals.</summary>
    public static void CheckNumber(decimal d, string path, List<FieldError> errors) => CheckNumber(d, new FieldPath(path), null, errors);

    /// <summary><see cref="CheckNumber(decimal, string, List{FieldError})"/> at path.leaf, the path written only for an error.</summary>
    public static void CheckNumber(decimal d, FieldPath path, string? leaf, List<FieldError> errors)
    {
        if (Math.Abs(d) > MaxAmount)
            errors.Add(new FieldError(path.Text(leaf), $"at most {MaxAmount.ToString("#,0", CultureInfo.InvariantCulture)} in absolute value (request limit)"));
        else if (d.Scale > MaxDecimals && d != Math.Round(d, MaxDecimals))
            errors.Add(new FieldError(path.Text(leaf), $"at most {MaxDecimals} decimal places (request limit)"));
    }

    /// <summary>False, with an error, when a list is longer than <paramref name="max"/> (its items are then not read).</summary>
    public static bool CheckCount<T>(RepeatedField<T> items, string path, List<FieldError> errors, int max = MaxEntries) =>
        CheckCount(items, new FieldPath(path), null, errors, max);

    /// <summary><see cref="CheckCount{T}(RepeatedField{T}, string, List{FieldError}, int)"/> of the list path.leaf, the path written only for an error.</summary>
    public static bool CheckCount<T>(RepeatedField<T> items, FieldPath path, string? leaf, List<FieldError> errors, int max = MaxEntries)
    {
        if (items.Count <= max) return true;
        errors.Add(new FieldError(path.Text(leaf), $"at most {max} entries, got {items.Count} (request limit)"));
        return false;
    }

    /// <summary>Adds an error when a text is longer than <paramref name="max"/> characters.</summary>
    public static void CheckLength(string s, string path, List<FieldError> errors, int max = MaxIdLength) =>
        CheckLength(s, new FieldPath(path), null, errors, max);

    /// <summary><see cref="CheckLength(string, string, List{FieldError}, int)"/> of the text at path.leaf, the path written only for an error.</summary>
    public static void CheckLength(string s, FieldPath path, string? leaf, List<FieldError> errors, int max = MaxIdLength)
    {
        if (s.Length > max) errors.Add(new FieldError(path.Text(leaf), $"at most {max} characters, got {s.Length} (request limit)"));
    }
}
