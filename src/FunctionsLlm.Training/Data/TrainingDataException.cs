namespace FunctionsLlm.Training.Data;

/// <summary>A formatted dataset that cannot be trained on; the message names the file and line.</summary>
public sealed class TrainingDataException(string message, Exception? inner = null) : Exception(message, inner);
