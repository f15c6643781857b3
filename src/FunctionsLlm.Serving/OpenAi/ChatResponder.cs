using System.Runtime.CompilerServices;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;

namespace FunctionsLlm.Serving.OpenAi;

/// <summary>Turns one chat generation into a <c>chat.completion</c> object or a stream of <c>chat.completion.chunk</c>s.</summary>
internal sealed class ChatResponder(InferenceEngine engine, string modelId, string id, int promptTokens, bool logprobs)
{
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public ChatCompletion Completion(GenerationResult result) => new(id, "chat.completion", _created, modelId,
        [new ChatChoice(0, new AssistantMessage("assistant", result.Text), Logprobs(result.Logprobs),
            FinishReasons.Name(result.FinishReason))],
        Usage.Of(result.PromptTokens, result.TokenIds.Count));

    public async IAsyncEnumerable<ChatCompletionChunk> Chunks(GenerationStream stream, bool includeUsage,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        yield return Chunk(new ChunkChoice(0, new ChunkDelta("assistant", ""), null, null));
        int completionTokens = 0;
        await foreach (var update in stream.ReadAllAsync(cancellationToken))
        {
            completionTokens = update.CompletionTokens;
            if (update.Text.Length > 0 || update.Logprobs.Count > 0)
                yield return Chunk(new ChunkChoice(0, new ChunkDelta(null, update.Text), Logprobs(update.Logprobs), null));
            if (update.FinishReason is { } reason)
                yield return Chunk(new ChunkChoice(0, new ChunkDelta(null, null), null, FinishReasons.Name(reason)));
        }
        if (includeUsage)
            yield return new ChatCompletionChunk(id, "chat.completion.chunk", _created, modelId, [], Usage.Of(promptTokens, completionTokens));
    }

    private ChatCompletionChunk Chunk(ChunkChoice choice) => new(id, "chat.completion.chunk", _created, modelId, [choice], null);

    private ChatLogprobs? Logprobs(IReadOnlyList<TokenLogprob> tokens) => logprobs
        ? new ChatLogprobs([.. tokens.Select(t => new LogprobEntry(t.Token, t.Logprob, Bytes(t.TokenId),
            [.. t.TopAlternatives.Select(a => new TopLogprob(a.Token, a.Logprob, Bytes(a.TokenId)))]))])
        : null;

    private int[] Bytes(int tokenId) => [.. engine.Model.Tokenizer.TokenBytes(tokenId).Select(b => (int)b)];
}
