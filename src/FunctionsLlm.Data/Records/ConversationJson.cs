using System.Text.Json;

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
                writer.WriteString("system", alpaca.System);
            writer.WriteString("instruction", alpaca.Instruction);
            writer.WriteString("input", alpaca.Input);
            writer.WriteString("output", alpaca.Output);
            if (alpaca.History.Count > 0)
            {
                writer.WriteStartArray("history");
                foreach (var (user, assistant) in alpaca.History)
                {
                    writer.WriteStartArray();
                    writer.WriteStringValue(user);
                    writer.WriteStringValue(assistant);
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
                writer.WriteString("role", message.Role);
                writer.WriteString("content", message.Content);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }
}
