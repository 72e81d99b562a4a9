using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;

namespace ContributiAutomatici.Cli;

/// <summary>A request file that is not the message it should be, as <c>file:line:column: reason</c>.</summary>
internal sealed class JsonInputException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Protobuf JSON read from a file, with the place of an error: Google.Protobuf says what is wrong ("Unknown field:
/// boxOfice", "Invalid enum value: WORK_KIND_CINEM ...", "Invalid state to read a close square bracket") but not where,
/// so the text is read again to find it: a JSON syntax error at the reader's position, else the token the message names.
/// </summary>
internal static partial class JsonInput
{
    /// <summary>
    /// The message in <paramref name="json"/>, or <see cref="JsonInputException"/> naming <paramref name="file"/>, the line
    /// (the text's first line is <paramref name="firstLine"/>: a line of a JSON-lines file) and the column.
    /// </summary>
    public static T Parse<T>(string json, string file, int firstLine = 1) where T : IMessage<T>, new()
    {
        try
        {
            return JsonParser.Default.Parse<T>(json);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException)
        {
            var at = Locate(json, ex.Message) is var (line, column) ? $"{file}:{firstLine + line - 1}:{column}" : firstLine > 1 ? $"{file}:{firstLine}" : file;
            throw new JsonInputException($"{at}: {ex.Message}", ex);
        }
    }

    /// <summary>Where in the text the error is (1-based line and column), or null when it cannot be told.</summary>
    internal static (int Line, int Column)? Locate(string json, string message)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        // The token the message names ("Unknown field: boxOfice": the property boxOfice; "Invalid enum value: X": the value X).
        var named = Named().Match(message) is { Success: true } m ? m.Groups[1].Value : null;
        long? namedAt = null;
        try
        {
            while (reader.Read())
                if (named is not null && namedAt is null && reader.TokenType is JsonTokenType.PropertyName or JsonTokenType.String or JsonTokenType.Number &&
                    (reader.TokenType == JsonTokenType.Number ? Encoding.UTF8.GetString(reader.ValueSpan) : reader.GetString()) == named)
                    namedAt = reader.TokenStartIndex;
        }
        catch (JsonException syntax) when (syntax.LineNumber is { } line && syntax.BytePositionInLine is { } inLine)
        {
            // The reader counts lines from 0 and bytes within the line: the column is in characters.
            var lineStart = LineStart(bytes, (int)line);
            var length = (int)Math.Min(inLine, bytes.Length - lineStart);
            return ((int)line + 1, Encoding.UTF8.GetCharCount(bytes, lineStart, Math.Max(0, length)) + 1);
        }
        if (namedAt is not { } offset) return null;
        var lineNumber = 1;
        var start = 0;
        for (var i = 0; i < offset; i++)
            if (bytes[i] == '\n') { lineNumber++; start = i + 1; }
        return (lineNumber, Encoding.UTF8.GetCharCount(bytes, start, (int)offset - start) + 1);
    }

    private static int LineStart(byte[] bytes, int line)
    {
        var start = 0;
        for (var i = 0; i < bytes.Length && line > 0; i++)
            if (bytes[i] == '\n') { line--; start = i + 1; }
        return start;
    }

    [GeneratedRegex(@"^[^:]*:\s*""?([^\s""]+)")]
    private static partial Regex Named();
}
