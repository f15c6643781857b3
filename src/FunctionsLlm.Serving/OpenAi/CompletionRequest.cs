using System.Text.Json;

namespace FunctionsLlm.Serving.OpenAi;

/// <summary>
/// A parsed <c>POST /v1/completions</c> body. The prompt is text or token ids; an array of several prompts gives one
/// choice per prompt (they decode together).
/// </summary>
internal sealed record CompletionRequest(string? Model, IReadOnlyList<CompletionPrompt> Prompts, SamplingFields Sampling, int? Logprobs)
{
    public static CompletionRequest Parse(JsonElement root)
    {
        var body = new JsonFields(root, "");
        if (body.Boolean("echo") == true)
            throw new OpenAiRequestException("'echo' is not supported", "echo");
        if (body.String("suffix") is { Length: > 0 })
            throw new OpenAiRequestException("'suffix' is not supported", "suffix");
        var prompts = ReadPrompts(body.Get("prompt") ?? throw new OpenAiRequestException("'prompt' is required", "prompt"));
        if (prompts.Count is 0 or > 16)
            throw new OpenAiRequestException("'prompt' must hold between 1 and 16 prompts", "prompt");
        return new CompletionRequest(body.String("model"), prompts, SamplingFields.Read(body), body.Integer("logprobs", 0, 20));
    }

    private static List<CompletionPrompt> ReadPrompts(JsonElement prompt)
    {
        const string Shape = "'prompt' must be a string, an array of strings, an array of token ids or an array of such arrays";
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return [new CompletionPrompt(prompt.GetString()!, null)];
            case JsonValueKind.Array when prompt.GetArrayLength() == 0:
                throw new OpenAiRequestException("'prompt' must not be empty", "prompt");
            case JsonValueKind.Array when prompt[0].ValueKind == JsonValueKind.Number:
                return [new CompletionPrompt(null, Ids(prompt, "prompt"))];
            case JsonValueKind.Array:
                return [.. prompt.EnumerateArray().Select((p, i) => p.ValueKind switch
                {
                    JsonValueKind.String => new CompletionPrompt(p.GetString()!, null),
                    JsonValueKind.Array => new CompletionPrompt(null, Ids(p, $"prompt[{i}]")),
                    _ => throw new OpenAiRequestException(Shape, "prompt"),
                })];
            default:
                throw new OpenAiRequestException(Shape, "prompt");
        }
    }

    private static int[] Ids(JsonElement array, string path) =>
    [
        .. array.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int id)
            ? id
            : throw new OpenAiRequestException($"'{path}' must hold integer token ids only", "prompt")),
    ];
}

/// <summary>One prompt: text to tokenize, or token ids as given.</summary>
internal sealed record CompletionPrompt(string? Text, IReadOnlyList<int>? TokenIds);
