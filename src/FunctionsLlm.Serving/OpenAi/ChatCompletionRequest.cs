using System.Text;
using System.Text.Json;

namespace FunctionsLlm.Serving.OpenAi;

/// <summary>A parsed <c>POST /v1/chat/completions</c> body.</summary>
internal sealed record ChatCompletionRequest(string? Model, IReadOnlyList<(string Role, string Content)> Messages, SamplingFields Sampling,
    bool Logprobs, int? TopLogprobs)
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    public static ChatCompletionRequest Parse(JsonElement root)
    {
        var body = new JsonFields(root, "");
        var array = body.Get("messages") switch
        {
            { ValueKind: JsonValueKind.Array } value => value,
            null => throw new OpenAiRequestException("'messages' is required", "messages"),
            _ => throw new OpenAiRequestException("'messages' must be an array", "messages"),
        };
        (string Role, string Content)[] messages = [.. array.EnumerateArray().Select((m, i) => Message(m, $"messages[{i}]"))];
        if (messages.Length == 0)
            throw new OpenAiRequestException("'messages' must hold at least one message", "messages");
        bool logprobs = body.Boolean("logprobs") ?? false;
        int? top = body.Integer("top_logprobs", 0, 20);
        if (top is not null && !logprobs)
            throw new OpenAiRequestException("'top_logprobs' needs 'logprobs': true", "top_logprobs");
        return new ChatCompletionRequest(body.String("model"), messages, SamplingFields.Read(body), logprobs, logprobs ? top ?? 0 : null);
    }

    private static (string Role, string Content) Message(JsonElement element, string path)
    {
        var message = new JsonFields(element, path);
        string role = message.String("role") ?? throw new OpenAiRequestException($"'{path}.role' is required", $"{path}.role");
        if (!Roles.Contains(role))
            throw new OpenAiRequestException($"'{path}.role' must be one of {string.Join(", ", Roles)}; got '{role}'", $"{path}.role");
        string content = message.Get("content") switch
        {
            { ValueKind: JsonValueKind.String } text => text.GetString()!,
            { ValueKind: JsonValueKind.Array } parts => Text(parts, $"{path}.content"),
            null => throw new OpenAiRequestException($"'{path}.content' is required", $"{path}.content"),
            _ => throw new OpenAiRequestException($"'{path}.content' must be a string or an array of text parts", $"{path}.content"),
        };
        // The developer role is OpenAI's newer name for system; chat templates know only system.
        return (role == "developer" ? "system" : role, content);
    }

    private static string Text(JsonElement parts, string path)
    {
        var text = new StringBuilder();
        int i = 0;
        foreach (var part in parts.EnumerateArray())
        {
            var fields = new JsonFields(part, $"{path}[{i}]");
            if (fields.String("type") != "text")
                throw new OpenAiRequestException($"'{path}[{i}].type' must be 'text': this model reads text only", $"{path}[{i}].type");
            text.Append(fields.String("text") ?? throw new OpenAiRequestException($"'{path}[{i}].text' is required", $"{path}[{i}].text"));
            i++;
        }
        return text.ToString();
    }
}
