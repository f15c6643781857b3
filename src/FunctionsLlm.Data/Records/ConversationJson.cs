using System.Text.Json;
using FunctionsLlm.Data.Json;

namespace FunctionsLlm.Data.Records;

/// <summary>
/// The cleaned.jsonl shape: alpaca records stay alpaca (the seed's own tools read them), everything else becomes
/// OpenAI messages. Both read back through the same readers.
/// </summary>
public static class ConversationJson
{
    public static void Write(Utf8JsonWriter writer, Conversation conversation)
    {
        writer.WriteStartObject();
        if (conversation.Alpaca is { } alpaca)
        {
            if (alpaca.System is not null)
                writer.WriteStringFast("system", alpaca.System);
            writer.WriteStringFast("instruction", alpaca.Instruction);
            writer.WriteStringFast("input", alpaca.Input);
            writer.WriteStringFast("output", alpaca.Output);
            if (alpaca.History.Count > 0)
            {
                writer.WriteStartArray("history");
                foreach (var (user, assistant) in alpaca.History)
                {
                    writer.WriteStartArray();
                    writer.WriteStringValueFast(user);
                    writer.WriteStringValueFast(assistant);
                    writer.WriteEndArray();
                }
                writer.WriteEndArray();
            }
        }
        else
        {
            writer.WriteStartArray("messages");
            foreach (var message in conversation.Messages)
            {
                writer.WriteStartObject();
                writer.WriteStringFast("role", message.Role);
                writer.WriteStringFast("content", message.Content);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }
}
