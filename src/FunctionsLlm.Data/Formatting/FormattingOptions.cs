namespace FunctionsLlm.Data.Formatting;

public sealed record FormattingOptions
{
    public PromptTemplate Template { get; init; } = PromptTemplate.Seed;

    /// <summary>Share of records (by content hash) that go to eval.jsonl; with two or more records at least one does.</summary>
    public double EvalFraction { get; init; } = 0.1;

    /// <summary>Sequence length limit in tokens; null means the tokenizer's model_max_length, capped at <see cref="DefaultMaxTokens"/>.</summary>
    public int? MaxTokens { get; init; }

    public const int DefaultMaxTokens = 1024;
}
