namespace FunctionsLlm.Trainer.Jobs;

/// <summary>An input the job names is not in the store (a missing base model, adapter or dataset).</summary>
public sealed class InputMissingException(string message) : Exception(message);
