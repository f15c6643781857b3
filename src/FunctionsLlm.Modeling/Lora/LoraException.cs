namespace FunctionsLlm.Modeling.Lora;

/// <summary>An adapter that cannot be used with a model, or a merge that failed its checks; the message says why.</summary>
public sealed class LoraException(string message, Exception? inner = null) : Exception(message, inner);
