namespace FunctionsLlm.Modeling.Generation;

/// <summary>
/// How to pick each next token. Temperature 0 means greedy (argmax). Processing order is HF's: repetition
/// penalty, temperature, top-k, top-p, then a draw from a generator seeded by <see cref="Seed"/>.
/// </summary>
public sealed record SamplingOptions
{
    public int MaxTokens { get; init; } = 200;

    public double Temperature { get; init; } = 0.7;

    /// <summary>Keep the smallest set of most likely tokens whose probability reaches this; 1 disables.</summary>
    public double TopP { get; init; } = 0.9;

    /// <summary>Keep only the k most likely tokens; 0 disables.</summary>
    public int TopK { get; init; }

    /// <summary>HF/CTRL penalty on tokens already in the prompt or output: logits &gt; 0 divided, &lt; 0 multiplied; 1 disables.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Same seed, prompt and options → same tokens. Null draws a seed.</summary>
    public int? Seed { get; init; }

    /// <summary>Ids that end generation (not included in the text); null means the model's eos ids.</summary>
    public IReadOnlyList<int>? StopTokenIds { get; init; }

    /// <summary>Texts that end generation; the text is cut before the first one.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Per-token log-probabilities with this many top alternatives; null for none.</summary>
    public int? TopLogprobs { get; init; }

    public static SamplingOptions Greedy { get; } = new() { Temperature = 0, TopP = 1 };

    public bool IsGreedy => Temperature <= 0;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first value out of range.</summary>
    public void Validate()
    {
        if (MaxTokens < 1)
            throw new ArgumentException($"max tokens must be at least 1, got {MaxTokens}");
        if (!(Temperature >= 0) || double.IsInfinity(Temperature))
            throw new ArgumentException($"temperature must be ≥ 0, got {Temperature}");
        if (!(TopP > 0 && TopP <= 1))
            throw new ArgumentException($"top-p must be in (0, 1], got {TopP}");
        if (TopK < 0)
            throw new ArgumentException($"top-k must be ≥ 0, got {TopK}");
        if (!(RepetitionPenalty > 0) || double.IsInfinity(RepetitionPenalty))
            throw new ArgumentException($"repetition penalty must be > 0, got {RepetitionPenalty}");
        if (TopLogprobs is < 0 or > 20)
            throw new ArgumentException($"top logprobs must be between 0 and 20, got {TopLogprobs}");
        if (StopStrings.Any(string.IsNullOrEmpty))
            throw new ArgumentException("stop strings must not be empty");
    }
}
