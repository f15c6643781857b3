namespace FunctionsLlm.Modeling.Lora;

/// <summary>An adapter that cannot be used with a model, or a merge that failed its checks; the message says why.</summary>
public class LoraException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The merge's parity gate refused: the merged weights do not reproduce base + adapter within the tolerance.</summary>
public sealed class LoraParityException(string message) : LoraException(message);
