using System.Text.Json;
using System.Text.Json.Serialization;

namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// Contract enums as snake_case strings whatever the serializer options (ASP.NET Core's web defaults included).
/// Numbers and unknown names are rejected with a message that lists the allowed names; 0 is reserved for "missing".
/// </summary>
public sealed class SnakeCaseEnumConverter<TEnum> : JsonConverter<TEnum>
    where TEnum : struct, Enum
{
    private static readonly Dictionary<string, TEnum> ByName = Enum.GetValues<TEnum>()
        .Where(v => Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture) != 0)
        .ToDictionary(v => JsonNamingPolicy.SnakeCaseLower.ConvertName(v.ToString()), StringComparer.Ordinal);

    private static readonly Dictionary<TEnum, string> ByValue = ByName.ToDictionary(p => p.Value, p => p.Key);

    /// <summary>The allowed JSON names in declaration order, e.g. <c>train, merge, evaluate</c>.</summary>
    public static string AllowedNames { get; } = string.Join(", ", ByName.Keys);

    public override TEnum Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException($"expected a string, one of {AllowedNames}, got {reader.TokenType}");
        var name = reader.GetString()!;
        return ByName.TryGetValue(name, out var value)
            ? value
            : throw new JsonException($"'{name}' is not one of {AllowedNames}");
    }

    public override void Write(Utf8JsonWriter writer, TEnum value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        // An undefined value (only C# code can make one; Validate reports it) is written as its number, which Read rejects.
        writer.WriteStringValue(ByValue.TryGetValue(value, out var name)
            ? name
            : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
