using System.Text.Json.Serialization;

namespace FunctionsLlm.Serving.OpenAi;

// The response objects of OpenAI's API, field for field (snake_case on the wire).

internal sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens)
{
    public static Usage Of(int prompt, int completion) => new(prompt, completion, prompt + completion);
}

internal sealed record TopLogprob(string Token, float Logprob, int[] Bytes);

internal sealed record LogprobEntry(string Token, float Logprob, int[] Bytes, IReadOnlyList<TopLogprob> TopLogprobs);

internal sealed record ChatLogprobs(IReadOnlyList<LogprobEntry> Content);

internal sealed record AssistantMessage(string Role, string Content);

internal sealed record ChatChoice(int Index, AssistantMessage Message, ChatLogprobs? Logprobs, string FinishReason);

internal sealed record ChatCompletion(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, Usage Usage);

internal sealed record ChunkDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);

internal sealed record ChunkChoice(int Index, ChunkDelta Delta, ChatLogprobs? Logprobs, string? FinishReason);

internal sealed record ChatCompletionChunk(string Id, string Object, long Created, string Model, IReadOnlyList<ChunkChoice> Choices, Usage? Usage);

internal sealed record CompletionLogprobs(
    IReadOnlyList<string> Tokens, IReadOnlyList<float> TokenLogprobs, IReadOnlyList<IReadOnlyDictionary<string, float>> TopLogprobs,
    IReadOnlyList<int> TextOffset);

internal sealed record CompletionChoice(string Text, int Index, CompletionLogprobs? Logprobs, string? FinishReason);

internal sealed record Completion(string Id, string Object, long Created, string Model, IReadOnlyList<CompletionChoice> Choices, Usage? Usage);

/// <summary>OpenAI's model object plus vLLM's <c>root</c> (where it came from), <c>parent</c> (an adapter's base) and <c>max_model_len</c>.</summary>
internal sealed record ModelCard(string Id, string Object, long Created, string OwnedBy, string Root, string? Parent, int MaxModelLen);

internal sealed record ModelList(string Object, IReadOnlyList<ModelCard> Data);

internal sealed record ErrorBody(string Message, string Type, string? Param, string? Code);

internal sealed record ErrorResponse(ErrorBody Error);
