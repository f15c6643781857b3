using System.Runtime.CompilerServices;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;

namespace FunctionsLlm.Serving.OpenAi;

/// <summary>Turns text-completion generations into a <c>text_completion</c> object (one choice per prompt) or a stream.</summary>
internal sealed class CompletionResponder(string modelId, string id, bool logprobs)
{
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public Completion Completion(IReadOnlyList<GenerationResult> results) => new(id, "text_completion", _created, modelId,
        [.. results.Select((r, i) => new CompletionChoice(r.Text, i, Logprobs(r.Logprobs, 0), FinishReasons.Name(r.FinishReason)))],
        Usage.Of(results.Sum(r => r.PromptTokens), results.Sum(r => r.TokenIds.Count)));

    public async IAsyncEnumerable<Completion> Chunks(GenerationStream stream, bool includeUsage,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        int completionTokens = 0, offset = 0;
        await foreach (var update in stream.ReadAllAsync(cancellationToken))
        {
            completionTokens = update.CompletionTokens;
            string? finish = update.FinishReason is { } reason ? FinishReasons.Name(reason) : null;
            yield return new Completion(id, "text_completion", _created, modelId,
                [new CompletionChoice(update.Text, 0, Logprobs(update.Logprobs, offset), finish)], null);
            offset += update.Text.Length;
        }
        if (includeUsage)
            yield return new Completion(id, "text_completion", _created, modelId, [], Usage.Of(stream.PromptTokens, completionTokens));
    }

    /// <summary>The legacy logprobs object; <paramref name="offset"/> is where this text starts in the whole completion.</summary>
    private CompletionLogprobs? Logprobs(IReadOnlyList<TokenLogprob> tokens, int offset)
    {
        if (!logprobs)
            return null;
        var offsets = new List<int>();
        foreach (var token in tokens)
        {
            offsets.Add(offset);
            offset += token.Token.Length;
        }
        return new CompletionLogprobs([.. tokens.Select(t => t.Token)], [.. tokens.Select(t => t.Logprob)],
            [.. tokens.Select(t => (IReadOnlyDictionary<string, float>)t.TopAlternatives
                .GroupBy(a => a.Token).ToDictionary(g => g.Key, g => g.Max(a => a.Logprob)))],
            offsets);
    }
}
