using FunctionsLlm.Modeling.Generation;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>One model's raw outputs on the eval set: its loss over the labels and its answer to each prompt.</summary>
public sealed record ModelOutput(string ModelDir, double EvalLoss, IReadOnlyList<GenerationResult> Answers);
