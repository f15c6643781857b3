using FunctionsLlm.Modeling.Generation;

namespace FunctionsLlm.Serving.Engine;

/// <summary>
/// What one decode step added to a sequence: text safe to show (possibly empty while a stop string or a split UTF-8
/// character is pending), the log-probabilities of the tokens chosen since the last update when requested, and on
/// the last update the finish reason.
/// </summary>
public sealed record GenerationUpdate(string Text, IReadOnlyList<TokenLogprob> Logprobs, int CompletionTokens, FinishReason? FinishReason);
