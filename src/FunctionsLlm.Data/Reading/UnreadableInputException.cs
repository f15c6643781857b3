namespace FunctionsLlm.Data.Reading;

/// <summary>The input as a whole cannot be read as JSON or JSONL (binary data, an unsupported encoding).</summary>
public sealed class UnreadableInputException(string message) : Exception(message);
