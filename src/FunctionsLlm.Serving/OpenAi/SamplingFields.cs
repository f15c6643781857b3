using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;

namespace FunctionsLlm.Serving.OpenAi;

/// <summary>The sampling fields chat and text completions share, as sent (null when absent).</summary>
internal sealed record SamplingFields(
    double? Temperature, double? TopP, int? TopK, double? RepetitionPenalty, int? MaxTokens, IReadOnlyList<string> Stop, int? Seed,
    bool Stream, bool IncludeUsage)
{
    public static SamplingFields Read(JsonFields body)
    {
        if (body.Integer("n", 1, 128) is > 1)
            throw new OpenAiRequestException("'n' above 1 is not supported; send separate requests", "n");
        foreach (string penalty in new[] { "presence_penalty", "frequency_penalty" })
        {
            if (body.Number(penalty, -2, 2) is { } value && value != 0)
                throw new OpenAiRequestException($"'{penalty}' is not supported; use 'repetition_penalty'", penalty);
        }
        if (body.Get("tools") is not null || body.Get("functions") is not null)
            throw new OpenAiRequestException("tool calling is not supported by this server", body.Get("tools") is null ? "functions" : "tools");
        var streamOptions = body.Get("stream_options") is { } options ? new JsonFields(options, "stream_options") : (JsonFields?)null;
        double? topP = body.Number("top_p", 0, 1);
        if (topP == 0)
            throw new OpenAiRequestException("'top_p' must be above 0", "top_p");
        return new SamplingFields(
            body.Number("temperature", 0, 2),
            topP,
            body.Integer("top_k", -1, int.MaxValue) is { } topK ? Math.Max(topK, 0) : null,
            body.Number("repetition_penalty", 0.01, 100),
            body.Integer("max_completion_tokens", 1, int.MaxValue) ?? body.Integer("max_tokens", 1, int.MaxValue),
            body.Stop("stop"),
            body.Integer("seed", int.MinValue, int.MaxValue),
            body.Boolean("stream") ?? false,
            streamOptions?.Boolean("include_usage") ?? false);
    }

    /// <summary>Engine options: the request's values, else the model's defaults; max tokens defaults to what fits the context.</summary>
    public SamplingOptions ToOptions(InferenceEngine engine, int promptTokens, int? topLogprobs)
    {
        var defaults = engine.Model.DefaultSampling;
        return defaults with
        {
            Temperature = Temperature ?? defaults.Temperature,
            TopP = TopP ?? defaults.TopP,
            TopK = TopK ?? defaults.TopK,
            RepetitionPenalty = RepetitionPenalty ?? defaults.RepetitionPenalty,
            MaxTokens = MaxTokens ?? engine.DefaultMaxTokens(promptTokens),
            StopStrings = Stop,
            Seed = Seed,
            TopLogprobs = topLogprobs,
        };
    }
}
