namespace FunctionsLlm.Modeling.Config;

/// <summary>The tensor names of a checkpoint of a supported network.</summary>
public enum CheckpointLayout
{
    HuggingFace,

    /// <summary>Remote-code ChatGLM (<c>transformer.encoder.layers.N.self_attention.query_key_value</c>, …).</summary>
    ChatGlm,
}
