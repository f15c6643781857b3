namespace FunctionsLlm.Training.Evaluation;

/// <summary>Inputs that cannot be evaluated (models that do not fit together, a record without a prompt, a bad metrics file).</summary>
public sealed class EvaluationException(string message, Exception? inner = null) : Exception(message, inner);
