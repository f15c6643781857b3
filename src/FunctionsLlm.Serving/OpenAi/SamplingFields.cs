using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Generation;

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

    /// <summary>
    /// Engine options: the request's values, else the model's generation_config.json, else OpenAI's defaults
    /// (temperature 1, top_p 1); max tokens defaults to what fits the context.
    /// </summary>
    public SamplingOptions ToOptions(GenerationConfig defaults, int promptTokens, int contextLength, int maxTokensCap, int? topLogprobs) => new()
    {
        Temperature = Temperature ?? (defaults.DoSample == false ? 0 : defaults.Temperature ?? 1.0),
        TopP = TopP ?? defaults.TopP ?? 1.0,
        TopK = TopK ?? defaults.TopK ?? 0,
        RepetitionPenalty = RepetitionPenalty ?? defaults.RepetitionPenalty ?? 1.0,
        MaxTokens = MaxTokens ?? Math.Max(1, Math.Min(maxTokensCap, contextLength - promptTokens)),
        StopStrings = Stop,
        Seed = Seed,
        TopLogprobs = topLogprobs,
    };
}
