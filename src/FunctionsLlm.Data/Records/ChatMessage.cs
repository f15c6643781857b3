namespace FunctionsLlm.Data.Records;

/// <summary>One turn of a conversation. Roles are the chat-template ones: system, user, assistant.</summary>
public sealed record ChatMessage(string Role, string Content)
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";
}
