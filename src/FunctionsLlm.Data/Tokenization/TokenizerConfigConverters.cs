using System.Text.Json;
using System.Text.Json.Serialization;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>Reads a token written either as a string or as an AddedToken object with a "content" field.</summary>
internal sealed class TokenContentConverter : JsonConverter<string?>
{
    public override bool HandleNull => true;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        ReadToken(ref reader);

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is null)
            writer.WriteNullValue();
        else
            writer.WriteStringValue(value);
    }

    internal static string? ReadToken(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.StartObject:
                using (var token = JsonDocument.ParseValue(ref reader))
                {
                    return token.RootElement.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
                        ? content.GetString()
                        : throw new JsonException("A token object needs a string \"content\" field.");
                }

            default:
                throw new JsonException($"Expected a token (string or object), found {reader.TokenType}.");
        }
    }
}

internal sealed class TokenContentListConverter : JsonConverter<IReadOnlyList<string>?>
{
    public override IReadOnlyList<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return null;
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException($"Expected a list of tokens, found {reader.TokenType}.");

        var tokens = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (TokenContentConverter.ReadToken(ref reader) is { } token)
                tokens.Add(token);
        }

        return tokens;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<string>? value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, options);
}

/// <summary>Reads <c>chat_template</c>: a string, or a list of <c>{"name", "template"}</c> from which "default" is taken.</summary>
internal sealed class ChatTemplateConverter : JsonConverter<string?>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.StartArray:
                using (var templates = JsonDocument.ParseValue(ref reader))
                {
                    foreach (var entry in templates.RootElement.EnumerateArray())
                    {
                        if (entry.ValueKind == JsonValueKind.Object
                            && entry.TryGetProperty("name", out var name) && name.ValueEquals("default")
                            && entry.TryGetProperty("template", out var template))
                        {
                            return template.GetString();
                        }
                    }

                    return null;
                }

            default:
                throw new JsonException($"Expected chat_template to be a string or a list, found {reader.TokenType}.");
        }
    }

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is null)
            writer.WriteNullValue();
        else
            writer.WriteStringValue(value);
    }
}
