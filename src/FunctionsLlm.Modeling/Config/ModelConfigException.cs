namespace FunctionsLlm.Modeling.Config;

/// <summary>A config.json or generation_config.json that cannot be used, with the file and the reason.</summary>
public sealed class ModelConfigException(string message, Exception? inner = null) : Exception(message, inner);
