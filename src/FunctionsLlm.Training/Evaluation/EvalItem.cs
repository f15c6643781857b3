using FunctionsLlm.Training.Data;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>One eval record: the prompt the models continue and the reference answer they are scored against.</summary>
/// <param name="Example">The formatted record (loss is computed over its labels).</param>
/// <param name="Prompt">The prompt as text, special tokens kept: what the models see.</param>
/// <param name="Reference">The first answer decoded without special tokens, trimmed.</param>
public sealed record EvalItem(TrainingExample Example, string Prompt, string Reference)
{
    /// <summary>Line of the record in the eval JSONL.</summary>
    public int Line => Example.Line;
}
