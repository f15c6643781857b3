using FunctionsLlm.Data.Records;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>The turn order every chat template accepts: an optional system turn, then user and assistant alternating, ending with the answer.</summary>
internal static class ConversationShape
{
    public static RecordIssue? Check(IReadOnlyList<ChatMessage> messages, string field)
    {
        var start = messages.Count > 0 && messages[0].Role == ChatMessage.System ? 1 : 0;
        if (messages.Count - start == 0)
            return new RecordIssue(RejectReason.NoAnswer, $"{field} has no user or assistant turn");
        for (var i = start; i < messages.Count; i++)
        {
            var expected = (i - start) % 2 == 0 ? ChatMessage.User : ChatMessage.Assistant;
            if (messages[i].Role == expected)
                continue;
            return new RecordIssue(RejectReason.TurnOrder, messages[i].Role == ChatMessage.System
                ? $"{field}[{i}] is a system turn; only the first turn may be one"
                : $"{field}[{i}] is a {messages[i].Role} turn where {(expected == ChatMessage.User ? "a user" : "an assistant")} turn belongs (turns must alternate, starting with the user)");
        }
        return messages[^1].Role == ChatMessage.Assistant
            ? null
            : new RecordIssue(RejectReason.NoAnswer, $"{field} ends with a {messages[^1].Role} turn; the last turn must be the assistant's answer");
    }
}
