using FunctionsLlm.Modeling.Generation;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>Base versus fine-tuned on the eval set: what report.json holds and the other report files show.</summary>
public sealed record EvaluationReport
{
    public required DateTimeOffset CreatedAt { get; init; }

    public required string BaseModel { get; init; }

    public required string FineTunedModel { get; init; }

    /// <summary>The eval JSONL.</summary>
    public required string Data { get; init; }

    public required int RecordCount { get; init; }

    public required SamplingSettings Sampling { get; init; }

    public required ModelSummary Base { get; init; }

    public required ModelSummary FineTuned { get; init; }

    public required LossCurve LossCurve { get; init; }

    /// <summary>How each metric is defined (<see cref="MetricDefinitions"/>).</summary>
    public IReadOnlyDictionary<string, string> Metrics { get; init; } = MetricDefinitions.All;

    public required IReadOnlyList<RecordResult> Records { get; init; }
}

/// <summary>The generation settings both models ran with; record i (0-based, in file order) is sampled with seed + i.</summary>
public sealed record SamplingSettings(int MaxTokens, double Temperature, double TopP, int TopK, double RepetitionPenalty, int Seed, int BatchSize)
{
    public bool Greedy => Temperature <= 0;

    public static SamplingSettings Of(SamplingOptions options, int batchSize) => new(
        options.MaxTokens, options.Temperature, options.TopP, options.TopK, options.RepetitionPenalty, options.Seed ?? 0, batchSize);
}

/// <summary>One model's scores over the eval set.</summary>
/// <param name="EvalLoss">Mean next-token cross-entropy per learned (answer) token, in nats.</param>
/// <param name="Perplexity">exp(<paramref name="EvalLoss"/>).</param>
/// <param name="ExactMatch">Share of records whose answer equals the reference (0..1).</param>
/// <param name="RougeL">Mean ROUGE-L F1 over the records (0..1).</param>
/// <param name="Bleu4">Corpus BLEU-4 (0..1).</param>
/// <param name="Bleu4SentenceMean">Mean of the records' sentence BLEU-4 (0..1).</param>
/// <param name="StoppedByLength">Answers cut off by the token budget.</param>
public sealed record ModelSummary(
    string Path, double EvalLoss, double Perplexity, double ExactMatch, double RougeL, double Bleu4, double Bleu4SentenceMean,
    long GeneratedTokens, int StoppedByLength);

/// <summary>One model's answer to one record and its scores against the reference.</summary>
public sealed record AnswerResult(string Text, FinishReason FinishReason, int GeneratedTokens, bool ExactMatch, double RougeL, double Bleu4);

/// <param name="Line">Line of the record in the eval JSONL.</param>
/// <param name="Prompt">The prompt the models continued, special tokens kept.</param>
/// <param name="Reference">The reference answer.</param>
public sealed record RecordResult(int Line, string Prompt, string Reference, AnswerResult Base, AnswerResult FineTuned);

/// <summary>The loss curve: the points read from metrics.jsonl and the image drawn from them, or why there is none.</summary>
/// <param name="Image">File name of the PNG in the report folder, or null.</param>
public sealed record LossCurve(string? Metrics, string? Image, string Note, IReadOnlyList<LossPoint> Train, IReadOnlyList<LossPoint> Eval);
