namespace FunctionsLlm.Training.Evaluation;

/// <summary>What to evaluate: two model folders, the eval JSONL, and optionally a training run's metrics.jsonl.</summary>
public sealed record EvaluationRequest(string BaseModel, string FineTunedModel, string Data, string? Metrics = null);
