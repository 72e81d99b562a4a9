using System.Globalization;
using System.Text.Json;
using ContributiAutomatici.Engine.Rules;
using ContributiAutomatici.Protocol;
using Google.Protobuf.Reflection;

namespace ContributiAutomatici.Server;

/// <summary>
/// Checks a JSON request body against its protobuf message (the proto3 JSON mapping) before JSON transcoding reads it, the
/// way the CLI's parser does: an unknown field, a value of the wrong JSON type or an enum name the message does not have
/// is a <see cref="FieldError"/> naming the field's path in proto names (<c>work.box_offices</c>,
/// <c>roles[0].role</c>), and JSON that does not parse is one error with its line and column. Nothing here names a .NET
/// type: the descriptions speak of the protobuf field, its JSON type and the values it takes.
/// </summary>
public static class StrictJson
{
    /// <summary>Most errors collected from one body (the status lists at most <see cref="GrpcErrors.MaxViolations"/>).</summary>
    private const int MaxErrors = 1000;

    /// <summary>Deepest nesting accepted (a work is 4 levels deep), as gRPC's parser bounds recursion.</summary>
    public const int MaxDepth = 64;

    /// <summary>The errors of <paramref name="body"/> as a <paramref name="message"/>; empty when it is one.</summary>
    public static List<FieldError> Check(ReadOnlyMemory<byte> body, MessageDescriptor message)
    {
        var errors = new List<FieldError>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException ex)
        {
            errors.Add(new FieldError("", Malformed(ex)));
            return errors;
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                errors.Add(new FieldError("", $"the request must be a JSON object ({message.Name}), got {Kind(document.RootElement)}"));
            else
                Message(document.RootElement, message, "", errors);
        }
        return errors;
    }

    /// <summary>"malformed JSON at line 3, column 17: ..." (both counted from 1), in words about the JSON, not the parser.</summary>
    internal static string Malformed(JsonException ex)
    {
        var line = (ex.LineNumber ?? 0) + 1;
        var column = (ex.BytePositionInLine ?? 0) + 1;
        // The reader's message is "<what> LineNumber: 0 | BytePositionInLine: 14."; the position is said our way.
        var what = ex.Message;
        var at = what.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (at >= 0) what = what[..at];
        what = what.TrimEnd('.', ' ');
        if (what.Length == 0 || what.Contains("System.", StringComparison.Ordinal)) what = "not valid JSON";
        return $"malformed JSON at line {line.ToString(CultureInfo.InvariantCulture)}, column {column.ToString(CultureInfo.InvariantCulture)}: {GrpcErrors.Cut(what)}";
    }

    private static void Message(JsonElement json, MessageDescriptor message, string path, List<FieldError> errors)
    {
        var seen = new HashSet<int>();
        foreach (var property in json.EnumerateObject())
        {
            if (errors.Count >= MaxErrors) return;
            var field = Find(message, property.Name);
            if (field is null)
            {
                var known = message.Fields.InDeclarationOrder().Select(f => f.Name);
                errors.Add(new FieldError(Join(path, property.Name),
                    $"unknown field of {message.Name}{YamlKeys.Suggestion(property.Name, known)}"));
                continue;
            }
            var fieldPath = Join(path, field.Name);
            if (!seen.Add(field.FieldNumber))
            {
                errors.Add(new FieldError(fieldPath, "given twice (as its proto name and its JSON name, or twice the same)"));
                continue;
            }
            var value = property.Value;
            if (value.ValueKind == JsonValueKind.Null) continue; // proto3 JSON: null is the field's default
            if (field.IsMap) Map(value, field, fieldPath, errors);
            else if (field.IsRepeated)
            {
                if (value.ValueKind != JsonValueKind.Array)
                {
                    errors.Add(new FieldError(fieldPath, $"must be a JSON array (a repeated field), got {Kind(value)}"));
                    continue;
                }
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (errors.Count >= MaxErrors) return;
                    var itemPath = $"{fieldPath}[{i.ToString(CultureInfo.InvariantCulture)}]";
                    if (item.ValueKind == JsonValueKind.Null) errors.Add(new FieldError(itemPath, "an item of a list cannot be null"));
                    else Single(item, field, itemPath, errors);
                    i++;
                }
            }
            else Single(value, field, fieldPath, errors);
        }
    }

    private static void Map(JsonElement value, FieldDescriptor field, string path, List<FieldError> errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new FieldError(path, $"must be a JSON object (a map), got {Kind(value)}"));
            return;
        }
        var valueField = field.MessageType.FindFieldByNumber(2);
        foreach (var entry in value.EnumerateObject())
            Single(entry.Value, valueField, $"{path}[\"{GrpcErrors.Cut(entry.Name, 50)}\"]", errors);
    }

    /// <summary>One value of a field (an item of a list, or the field itself).</summary>
    private static void Single(JsonElement value, FieldDescriptor field, string path, List<FieldError> errors)
    {
        switch (field.FieldType)
        {
            case FieldType.Message or FieldType.Group:
                // The well-known types have JSON forms of their own (a Timestamp is a string): left to the transcoder.
                if (field.MessageType.FullName.StartsWith("google.protobuf.", StringComparison.Ordinal)) return;
                if (value.ValueKind != JsonValueKind.Object)
                    errors.Add(new FieldError(path, $"must be a JSON object ({field.MessageType.Name}), got {Kind(value)}"));
                else Message(value, field.MessageType, path, errors);
                return;
            case FieldType.String:
                if (value.ValueKind != JsonValueKind.String) errors.Add(new FieldError(path, $"must be a JSON string, got {Kind(value)}"));
                return;
            case FieldType.Bytes:
                if (value.ValueKind != JsonValueKind.String || !value.TryGetBytesFromBase64(out _))
                    errors.Add(new FieldError(path, $"must be a base64 JSON string, got {Kind(value)}"));
                return;
            case FieldType.Bool:
                if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    errors.Add(new FieldError(path, $"must be true or false, got {Kind(value)}"));
                return;
            case FieldType.Enum:
                Enum(value, field.EnumType, path, errors);
                return;
            case FieldType.Double or FieldType.Float:
                if (value.ValueKind != JsonValueKind.Number && !(value.ValueKind == JsonValueKind.String &&
                        (value.GetString() is "NaN" or "Infinity" or "-Infinity" || double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out _))))
                    errors.Add(new FieldError(path, $"must be a JSON number, got {Kind(value)}"));
                return;
            default:
                Integer(value, field.FieldType, path, errors);
                return;
        }
    }

    /// <summary>
    /// A whole number: a JSON number without a fraction or exponent part in the field's range; a 64-bit one may also be a
    /// quoted string, as proto3 JSON writes it (the transcoder reads 32-bit numbers unquoted only).
    /// </summary>
    private static void Integer(JsonElement value, FieldType type, string path, List<FieldError> errors)
    {
        var (ok, what) = type switch
        {
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _), "a whole number of 32 bits"),
            FieldType.UInt32 or FieldType.Fixed32 => (value.ValueKind == JsonValueKind.Number && value.TryGetUInt32(out _), "a whole number >= 0 of 32 bits"),
            FieldType.UInt64 or FieldType.Fixed64 => (value.ValueKind == JsonValueKind.Number ? value.TryGetUInt64(out _)
                : value.ValueKind == JsonValueKind.String && ulong.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out _), "a whole number >= 0 of 64 bits"),
            _ => (value.ValueKind == JsonValueKind.Number ? value.TryGetInt64(out _)
                : value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _), "a whole number of 64 bits"),
        };
        if (!ok) errors.Add(new FieldError(path, $"must be {what} (a JSON number), got {Kind(value)}"));
    }

    private static void Enum(JsonElement value, EnumDescriptor type, string path, List<FieldError> errors)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _)) return; // proto3 JSON: the number is accepted
        var names = type.Values.Select(v => v.Name).ToList();
        if (value.ValueKind == JsonValueKind.String && value.GetString() is { } name)
        {
            if (names.Contains(name, StringComparer.Ordinal)) return;
            errors.Add(new FieldError(path, $"'{GrpcErrors.Cut(name, 60)}' is not a value of {type.Name}{YamlKeys.Suggestion(name, names)} " +
                                            $"(one of {string.Join(", ", names.Take(12))}{(names.Count > 12 ? ", ..." : "")})"));
            return;
        }
        errors.Add(new FieldError(path, $"must be a {type.Name} name as a JSON string, got {Kind(value)}"));
    }

    /// <summary>A field by its JSON name (lowerCamelCase) or its proto name, as proto3 JSON parsers accept both.</summary>
    private static FieldDescriptor? Find(MessageDescriptor message, string name)
    {
        foreach (var f in message.Fields.InDeclarationOrder())
            if (f.JsonName == name || f.Name == name) return f;
        return null;
    }

    /// <summary>The field of <paramref name="message"/> a dotted query parameter names (<c>work.id</c>), or null.</summary>
    public static FieldDescriptor? FindPath(MessageDescriptor message, string dotted)
    {
        FieldDescriptor? field = null;
        foreach (var part in dotted.Split('.'))
        {
            if (field is not null && field.FieldType != FieldType.Message) return null;
            field = Find(field?.MessageType ?? message, part);
            if (field is null) return null;
        }
        return field;
    }

    private static string Join(string path, string name) => path.Length == 0 ? GrpcErrors.Cut(name, 100) : $"{path}.{GrpcErrors.Cut(name, 100)}";

    /// <summary>What a value is, in JSON's words, with a short echo: <c>a number (5)</c>, <c>a string ("x")</c>.</summary>
    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"a string (\"{GrpcErrors.Cut(value.GetString() ?? "", 60)}\")",
        JsonValueKind.Number => $"a number ({GrpcErrors.Cut(value.GetRawText(), 60)})",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => "null",
    };
}
