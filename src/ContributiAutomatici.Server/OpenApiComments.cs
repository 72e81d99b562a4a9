using System.Reflection;
using System.Xml.Linq;
using ContributiAutomatici.Protocol;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.OpenApi.Models;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace ContributiAutomatici.Server;

/// <summary>
/// The protos' comments as the OpenAPI document's descriptions: each message's and field's leading comment (carried by
/// the generated C#'s XML documentation, ContributiAutomatici.Contracts.xml), each enum's with its values; every message
/// closed (<c>additionalProperties: false</c>, which <see cref="RestCalls"/> enforces); and the decimal grammar on every
/// string field that holds a decimal (its comment says EUR, decimal or percent) as its <c>pattern</c>.
/// </summary>
public sealed class OpenApiComments : ISchemaFilter
{
    /// <summary>What the document says of decimal strings (protos/contributi/v1/work.proto's header).</summary>
    public static readonly string DecimalNote =
        $"Decimal quantities (money, shares, durations, audiences) are JSON strings of the grammar {RequestMapper.DecimalGrammar} " +
        "(at most 28 significant digits, 4 decimal places in requests; no plus sign, exponent, thousands separator or spaces), never " +
        "JSON numbers. Answers write them canonically: no trailing zeros, points at 10 decimals.";

    private readonly Dictionary<string, string> _docs;

    public OpenApiComments(string xmlPath)
    {
        _docs = File.Exists(xmlPath)
            ? XDocument.Load(xmlPath).Descendants("member")
                .Where(m => m.Attribute("name") is not null && m.Element("summary") is not null)
                .ToDictionary(m => m.Attribute("name")!.Value, m => string.Join(" ", m.Element("summary")!.Value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)))
            : [];
    }

    public void Apply(OpenApiSchema schema, SchemaFilterContext context)
    {
        var type = context.Type;
        var name = type.FullName?.Replace('+', '.');
        if (name is null) return;
        if (_docs.TryGetValue("T:" + name, out var summary)) schema.Description = summary;
        if (type.IsEnum)
        {
            var values = type.GetFields(BindingFlags.Public | BindingFlags.Static)
                .Select(f => (Proto: f.GetCustomAttribute<OriginalNameAttribute>()?.Name ?? f.Name, Doc: _docs.GetValueOrDefault($"F:{name}.{f.Name}")))
                .Where(v => v.Doc is not null).Select(v => $"{v.Proto}: {v.Doc}");
            schema.Description = string.Join("\n", new[] { schema.Description }.Concat(values).Where(s => !string.IsNullOrEmpty(s)));
            return;
        }
        if (!typeof(IMessage).IsAssignableFrom(type) || type.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) is not MessageDescriptor message)
            return;
        if (!message.FullName.StartsWith("google.protobuf.", StringComparison.Ordinal)) schema.AdditionalPropertiesAllowed = false;
        foreach (var field in message.Fields.InDeclarationOrder())
        {
            if (!schema.Properties.TryGetValue(field.JsonName, out var property)) continue;
            if (_docs.TryGetValue($"P:{name}.{field.PropertyName}", out var doc))
            {
                // A $ref carries no description of its own in OpenAPI 3.0: the field's comment goes on an allOf wrapper.
                if (property.Reference is not null)
                    schema.Properties[field.JsonName] = property = new OpenApiSchema { AllOf = [property] };
                property.Description = doc;
            }
            if (field.FieldType == FieldType.String && !field.IsRepeated && doc is not null && IsDecimal(doc))
            {
                property.Pattern = "^" + RequestMapper.DecimalGrammar + "$";
                property.Description += $" A decimal string: {RequestMapper.DecimalGrammar}.";
            }
        }
    }

    private static bool IsDecimal(string doc) =>
        doc.Contains("EUR", StringComparison.Ordinal) || doc.Contains("decimal", StringComparison.OrdinalIgnoreCase) ||
        doc.Contains("percent", StringComparison.OrdinalIgnoreCase) || doc.Contains("0-100", StringComparison.Ordinal);
}
