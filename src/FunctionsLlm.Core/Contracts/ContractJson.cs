using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// Reading and comparing contract documents. <see cref="Parse{T}"/> turns every way a document can be wrong (not JSON, a
/// wrong type, a missing or out-of-range field) into one <see cref="ContractException"/> that lists them all, instead of
/// a raw <see cref="JsonException"/>. Unknown fields are ignored, so older readers accept newer writers' documents.
/// </summary>
public static class ContractJson
{
    /// <summary>
    /// <see cref="JsonDefaults"/> without the serializer's own <c>required</c> check: a missing required field reads as
    /// null/0/default, which <see cref="IContract.Validate"/> then reports by name together with every other problem.
    /// </summary>
    private static readonly JsonSerializerOptions Reading = CreateReadingOptions();

    /// <summary>
    /// <see cref="JsonDefaults"/> with times written in UTC and NaN/Infinity allowed, so that every value (even an
    /// invalid one) has a canonical form and equal instants in different offsets have the same one.
    /// </summary>
    private static readonly JsonSerializerOptions Canonical = CreateCanonicalOptions();

    private static readonly JsonWriterOptions CanonicalWriter = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    /// <summary>Reads and validates a contract document; throws <see cref="ContractException"/> listing every problem.</summary>
    /// <param name="json">The document.</param>
    /// <param name="origin">Where it came from (e.g. <c>models/support-bot/current.json</c>), for the error message.</param>
    public static T Parse<T>(string json, string? origin = null)
        where T : class, IContract
    {
        var value = Read<T>(json, out var problems);
        return problems.Count == 0 ? value! : throw new ContractException(typeof(T).Name, origin, problems);
    }

    /// <summary>Like <see cref="Parse{T}"/>, but returns the message <see cref="ContractException"/> would carry instead of throwing.</summary>
    public static bool TryParse<T>(string json, [NotNullWhen(true)] out T? value, [NotNullWhen(false)] out string? error)
        where T : class, IContract
    {
        var read = Read<T>(json, out var problems);
        if (read is not null && problems.Count == 0)
        {
            value = read;
            error = null;
            return true;
        }
        value = null;
        error = ContractException.Describe(typeof(T).Name, null, problems);
        return false;
    }

    /// <summary>
    /// The value's canonical JSON: compact, every object's members in ordinal order of their names (dictionary keys
    /// included), null members left out, numbers in the serializer's shortest round-trip form, times in UTC. Two values
    /// read from equivalent documents (any member order, whitespace, number spelling, defaults spelled out or left out)
    /// have the same canonical JSON; array order is significant.
    /// </summary>
    public static string ToCanonicalJson<T>(T value)
    {
        using var element = JsonSerializer.SerializeToDocument(value, Canonical);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, CanonicalWriter))
            WriteSorted(writer, element.RootElement);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static T? Read<T>(string json, out IReadOnlyList<string> problems)
        where T : class, IContract
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            problems = [$"not valid JSON: {e.Message}"];
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problems = [$"the document must be a JSON object, not {root.ValueKind.ToString().ToLowerInvariant()}"];
                return null;
            }
            T? value;
            try
            {
                value = root.Deserialize<T>(Reading);
            }
            catch (JsonException e)
            {
                // The serializer's own messages end with " Path: $.x | LineNumber: … | BytePositionInLine: …."; the path leads here.
                var message = e.Message.Split(" Path: ", 2)[0];
                problems = [$"{(string.IsNullOrEmpty(e.Path) ? "$" : e.Path)}: {message}"];
                return null;
            }
            problems = value!.Validate();
            return value;
        }
    }

    private static void NothingRequired(JsonTypeInfo typeInfo)
    {
        foreach (var property in typeInfo.Properties)
            property.IsRequired = false;
    }

    private static JsonSerializerOptions CreateReadingOptions()
    {
        var options = WithContractEnums(JsonDefaults.Compact);
        options.TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { NothingRequired } };
        options.MakeReadOnly();
        return options;
    }

    private static JsonSerializerOptions CreateCanonicalOptions()
    {
        var options = WithContractEnums(JsonDefaults.Compact);
        options.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;
        options.Converters.Add(new UtcTimeConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>
    /// A copy of <paramref name="defaults"/> without its general enum converter: converters in the options win over a
    /// type's own, and the contract enums' <see cref="SnakeCaseEnumConverter{TEnum}"/> is the strict one (no numbers, no
    /// other casing, an error that lists the allowed names).
    /// </summary>
    private static JsonSerializerOptions WithContractEnums(JsonSerializerOptions defaults)
    {
        var options = new JsonSerializerOptions(defaults);
        foreach (var general in options.Converters.OfType<JsonStringEnumConverter>().ToList())
            options.Converters.Remove(general);
        return options;
    }

    private static void WriteSorted(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var member in element.EnumerateObject().OrderBy(m => m.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(member.Name);
                    WriteSorted(writer, member.Value);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                    WriteSorted(writer, item);
                writer.WriteEndArray();
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    private sealed class UtcTimeConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.GetDateTimeOffset();

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToUniversalTime());
    }
}
