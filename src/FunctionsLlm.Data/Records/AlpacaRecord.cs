namespace FunctionsLlm.Data.Records;

/// <summary>An alpaca record's fields, kept so the seed prompt template can render them exactly.</summary>
/// <param name="History">Earlier (user, assistant) exchanges, oldest first.</param>
public sealed record AlpacaRecord(
    string Instruction,
    string Input,
    string Output,
    string? System,
    IReadOnlyList<(string User, string Assistant)> History)
{
    /// <summary>The user turn the way LLaMA-Factory builds it: instruction, then the input on the next line.</summary>
    public string UserContent => Input.Length == 0 ? Instruction : $"{Instruction}\n{Input}";

    public IReadOnlyList<ChatMessage> ToMessages()
    {
        var messages = new List<ChatMessage>(History.Count * 2 + 3);
        if (System is not null)
            messages.Add(new ChatMessage(ChatMessage.System, System));
        foreach (var (user, assistant) in History)
        {
            messages.Add(new ChatMessage(ChatMessage.User, user));
            messages.Add(new ChatMessage(ChatMessage.Assistant, assistant));
        }
        messages.Add(new ChatMessage(ChatMessage.User, UserContent));
        messages.Add(new ChatMessage(ChatMessage.Assistant, Output));
        return messages;
    }
}
