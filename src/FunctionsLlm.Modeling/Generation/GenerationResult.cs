namespace FunctionsLlm.Modeling.Generation;

public enum FinishReason
{
    /// <summary>A stop token or stop string ended generation.</summary>
    Stop,

    /// <summary>The token budget (or the model's context) ran out.</summary>
    Length,
}

/// <summary>A token and its log-probability under the model (log-softmax of the raw logits, before sampling settings).</summary>
public sealed record TokenLogprob(int TokenId, string Token, float Logprob, IReadOnlyList<TokenLogprob> TopAlternatives);

/// <param name="TokenIds">Generated ids, without the stop token.</param>
/// <param name="Text">Decoded text, cut before a stop string.</param>
/// <param name="Logprobs">One entry per generated id when requested, else empty.</param>
public sealed record GenerationResult(
    IReadOnlyList<int> TokenIds, string Text, FinishReason FinishReason, int PromptTokens, IReadOnlyList<TokenLogprob> Logprobs);
