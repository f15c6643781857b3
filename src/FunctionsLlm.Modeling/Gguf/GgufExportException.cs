namespace FunctionsLlm.Modeling.Gguf;

/// <summary>A model that cannot be written as a GGUF llama.cpp would run the same way; the message says why.</summary>
public sealed class GgufExportException(string message) : Exception(message);
