using System.Text.Json;
using System.Text.Json.Serialization;

namespace FunctionsLlm.Modeling.Config;

/// <summary>Reads HF token-id fields that may be null, one id, or a list of ids (eos_token_id).</summary>
internal sealed class TokenIdsConverter : JsonConverter<int[]>
{
    public override int[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return [reader.GetInt32()];
            case JsonTokenType.StartArray:
                var ids = new List<int>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    ids.Add(reader.GetInt32());
                return [.. ids];
            default:
                throw new JsonException($"expected a token id or a list of token ids, found {reader.TokenType}");
        }
    }

    public override void Write(Utf8JsonWriter writer, int[] value, JsonSerializerOptions options)
    {
        if (value.Length == 1)
        {
            writer.WriteNumberValue(value[0]);
            return;
        }
        writer.WriteStartArray();
        foreach (int id in value)
            writer.WriteNumberValue(id);
        writer.WriteEndArray();
    }
}
