using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>How to evaluate: greedy decoding of up to 200 tokens by default, so that reports are reproducible.</summary>
public sealed record EvaluationOptions
{
    /// <summary>Sampling for both models; <see cref="SamplingOptions.Seed"/> is the seed of record 0 (null means 0).</summary>
    public SamplingOptions Sampling { get; init; } = new() { MaxTokens = 200, Temperature = 0, TopP = 1, Seed = 0 };

    /// <summary>Records per forward pass, for the loss and for generation.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Evaluate only the first N records; null for all.</summary>
    public int? Limit { get; init; }

    public ModelLoadOptions? Load { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first value out of range.</summary>
    public void Validate()
    {
        Sampling.Validate();
        if (BatchSize < 1)
            throw new ArgumentException($"batch size must be at least 1, got {BatchSize}");
        if (Limit is < 1)
            throw new ArgumentException($"the record limit must be at least 1, got {Limit}");
    }
}
