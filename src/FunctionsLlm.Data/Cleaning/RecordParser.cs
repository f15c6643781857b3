using System.Text.Json;
using FunctionsLlm.Data.Records;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// Turns one record's JSON into a <see cref="Conversation"/>, recognising alpaca, OpenAI messages and ShareGPT, and
/// applying <see cref="TextRules"/> to each text as it goes so every issue names the exact field.
/// </summary>
internal sealed class RecordParser(TextRules rules)
{
    private static readonly Dictionary<string, string> ShareGptRoles = new(StringComparer.Ordinal)
    {
        ["human"] = ChatMessage.User, ["user"] = ChatMessage.User,
        ["gpt"] = ChatMessage.Assistant, ["assistant"] = ChatMessage.Assistant, ["bot"] = ChatMessage.Assistant,
        ["system"] = ChatMessage.System,
    };

    private static readonly (string, string)[] NoHistory = [];

    public Conversation? Parse(JsonElement root, out RecordIssue issue)
    {
        issue = default;
        if (root.ValueKind != JsonValueKind.Object)
        {
            issue = new RecordIssue(RejectReason.NotAnObject, $"a record must be a JSON object, found {Describe(root.ValueKind)}");
            return null;
        }
        // One pass over the properties (a record has a handful) instead of a look-up per field.
        JsonElement? messages = null, conversations = null, instruction = null, input = null, output = null, system = null, history = null;
        foreach (var property in root.EnumerateObject())
        {
            if (property.NameEquals("instruction"u8)) instruction = property.Value;
            else if (property.NameEquals("input"u8)) input = property.Value;
            else if (property.NameEquals("output"u8)) output = property.Value;
            else if (property.NameEquals("system"u8)) system = property.Value;
            else if (property.NameEquals("history"u8)) history = property.Value;
            else if (property.NameEquals("messages"u8)) messages = property.Value;
            else if (property.NameEquals("conversations"u8)) conversations = property.Value;
        }
        if (messages is { } openAi)
            return ParseTurns(openAi, "messages", "role", "content", RecordFormat.OpenAi, out issue);
        if (conversations is { } shareGpt)
            return ParseTurns(shareGpt, "conversations", "from", "value", RecordFormat.ShareGpt, out issue);
        if (instruction is not null || input is not null || output is not null)
            return ParseAlpaca(instruction, input, output, system, history, out issue);

        issue = new RecordIssue(RejectReason.UnknownFormat,
            "unknown record format: expected instruction/input/output (alpaca), messages (OpenAI) or conversations (ShareGPT)");
        return null;
    }

    private Conversation? ParseAlpaca(JsonElement? instructionElement, JsonElement? inputElement, JsonElement? outputElement,
        JsonElement? systemElement, JsonElement? historyElement, out RecordIssue issue)
    {
        if (instructionElement is null || inputElement is null || outputElement is null)
        {
            var missing = new[] { ("instruction", instructionElement), ("input", inputElement), ("output", outputElement) }
                .Where(f => f.Item2 is null).Select(f => f.Item1);
            issue = new RecordIssue(RejectReason.MissingField,
                $"missing {string.Join(", ", missing)}: alpaca records need instruction, input (may be empty) and output");
            return null;
        }
        var instruction = Text(instructionElement.Value, "instruction", false, out issue);
        if (instruction is null) return null;
        var input = Text(inputElement.Value, "input", true, out issue);
        if (input is null) return null;
        var output = Text(outputElement.Value, "output", false, out issue);
        if (output is null) return null;

        string? system = null;
        if (systemElement is { ValueKind: not JsonValueKind.Null })
        {
            system = Text(systemElement.Value, "system", true, out issue);
            if (system is null) return null;
            if (system.Length == 0) system = null;
        }

        List<(string, string)>? history = null;
        if (historyElement is { ValueKind: not JsonValueKind.Null } historyValue)
        {
            if (historyValue.ValueKind != JsonValueKind.Array)
            {
                issue = WrongType("history", "a list of [question, answer] pairs", historyValue);
                return null;
            }
            var i = 0;
            foreach (var pair in historyValue.EnumerateArray())
            {
                if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2)
                {
                    issue = WrongType($"history[{i}]", "a [question, answer] pair", pair);
                    return null;
                }
                var user = Text(pair[0], $"history[{i}][0]", false, out issue);
                if (user is null) return null;
                var assistant = Text(pair[1], $"history[{i}][1]", false, out issue);
                if (assistant is null) return null;
                (history ??= []).Add((user, assistant));
                i++;
            }
        }
        issue = default;
        return Conversation.FromAlpaca(new AlpacaRecord(instruction, input, output, system, (IReadOnlyList<(string, string)>?)history ?? NoHistory));
    }

    private Conversation? ParseTurns(JsonElement turns, string field, string roleKey, string contentKey,
        RecordFormat format, out RecordIssue issue)
    {
        if (turns.ValueKind != JsonValueKind.Array)
        {
            issue = WrongType(field, "a list of turns", turns);
            return null;
        }
        var messages = new List<ChatMessage>(turns.GetArrayLength());
        var i = 0;
        foreach (var turn in turns.EnumerateArray())
        {
            var path = $"{field}[{i}]";
            if (turn.ValueKind != JsonValueKind.Object)
            {
                issue = WrongType(path, "an object", turn);
                return null;
            }
            if (!turn.TryGetProperty(roleKey, out var roleElement))
            {
                issue = new RecordIssue(RejectReason.MissingField, $"{path} has no '{roleKey}'");
                return null;
            }
            if (roleElement.ValueKind != JsonValueKind.String)
            {
                issue = WrongType($"{path}.{roleKey}", "a string", roleElement);
                return null;
            }
            var role = Role(roleElement.GetString()!, format);
            if (role is null)
            {
                issue = new RecordIssue(RejectReason.UnsupportedRole,
                    $"{path}.{roleKey} is '{roleElement.GetString()}'; supported: {SupportedRoles(format)}");
                return null;
            }
            if (!turn.TryGetProperty(contentKey, out var contentElement))
            {
                issue = new RecordIssue(RejectReason.MissingField, $"{path} has no '{contentKey}'");
                return null;
            }
            var content = Content(contentElement, $"{path}.{contentKey}", out issue);
            if (content is null) return null;
            messages.Add(new ChatMessage(role, content));
            i++;
        }
        issue = ConversationShape.Check(messages, field) ?? default;
        return issue.Message is null ? Conversation.FromMessages(format, messages) : null;
    }

    /// <summary>A string, or OpenAI's list of content parts when all of them are text.</summary>
    private string? Content(JsonElement element, string field, out RecordIssue issue)
    {
        if (element.ValueKind != JsonValueKind.Array)
            return Text(element, field, false, out issue);
        var parts = new List<string>();
        var i = 0;
        foreach (var part in element.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) ||
                type.ValueKind != JsonValueKind.String || type.GetString() != "text" || !part.TryGetProperty("text", out var text))
            {
                issue = new RecordIssue(RejectReason.WrongType, $"{field}[{i}] is not a text part; only {{\"type\": \"text\", \"text\": …}} parts are supported");
                return null;
            }
            if (text.ValueKind != JsonValueKind.String)
            {
                issue = WrongType($"{field}[{i}].text", "a string", text);
                return null;
            }
            parts.Add(text.GetString()!);
            i++;
        }
        var joined = string.Concat(parts);
        return rules.Apply(joined, field, mayBeEmpty: false, out issue);
    }

    private string? Text(JsonElement element, string field, bool mayBeEmpty, out RecordIssue issue)
    {
        if (element.ValueKind != JsonValueKind.String)
        {
            issue = WrongType(field, "a string", element);
            return null;
        }
        return rules.Apply(element.GetString()!, field, mayBeEmpty, out issue);
    }

    private static string? Role(string role, RecordFormat format) => format == RecordFormat.ShareGpt
        ? ShareGptRoles.GetValueOrDefault(role)
        : role is ChatMessage.System or ChatMessage.User or ChatMessage.Assistant ? role : null;

    private static string SupportedRoles(RecordFormat format) => format == RecordFormat.ShareGpt
        ? string.Join(", ", ShareGptRoles.Keys)
        : "system, user, assistant";

    private static RecordIssue WrongType(string field, string expected, JsonElement actual) =>
        new(RejectReason.WrongType, $"{field} must be {expected}, found {Describe(actual.ValueKind)}");

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
