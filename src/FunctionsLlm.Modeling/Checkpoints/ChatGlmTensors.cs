using System.Text.RegularExpressions;
using FunctionsLlm.Modeling.Config;

namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>
/// Where a tensor of Hugging Face's glm layout is in a remote-code ChatGLM checkpoint: <c>transformer.</c> for
/// <c>model.</c>, <c>encoder.layers.</c> for <c>layers.</c>, <c>self_attention.dense</c> for o_proj,
/// <c>mlp.dense_h_to_4h</c> / <c>dense_4h_to_h</c> for gate_up_proj / down_proj, and q, k and v as row ranges of one
/// <c>self_attention.query_key_value</c> (q, then k, then v).
/// </summary>
public static partial class ChatGlmTensors
{
    /// <summary>The ChatGLM tensor that holds <paramref name="name"/> and the rows that are it (Rows −1: all); null for a name glm does not have.</summary>
    public static (string Name, long Start, long Rows)? Locate(string name, ModelConfig config)
    {
        switch (name)
        {
            case "model.embed_tokens.weight":
                return ("transformer.embedding.word_embeddings.weight", 0, -1);
            case "model.norm.weight":
                return ("transformer.encoder.final_layernorm.weight", 0, -1);
            case "lm_head.weight":
                return ("transformer.output_layer.weight", 0, -1);
        }
        var match = LayerTensor().Match(name);
        if (!match.Success)
            return null;
        string layer = $"transformer.encoder.layers.{match.Groups["layer"].Value}.";
        string part = match.Groups["part"].Value, kind = match.Groups["kind"].Value;
        long q = (long)config.NumAttentionHeads * config.HeadDim, kv = (long)config.NumKeyValueHeads * config.HeadDim;
        return part switch
        {
            "input_layernorm" or "post_attention_layernorm" => (layer + part + "." + kind, 0, -1),
            "self_attn.q_proj" => (layer + "self_attention.query_key_value." + kind, 0, q),
            "self_attn.k_proj" => (layer + "self_attention.query_key_value." + kind, q, kv),
            "self_attn.v_proj" => (layer + "self_attention.query_key_value." + kind, q + kv, kv),
            "self_attn.o_proj" => (layer + "self_attention.dense." + kind, 0, -1),
            "mlp.gate_up_proj" => (layer + "mlp.dense_h_to_4h." + kind, 0, -1),
            "mlp.down_proj" => (layer + "mlp.dense_4h_to_h." + kind, 0, -1),
            _ => null,
        };
    }

    [GeneratedRegex(@"\Amodel\.layers\.(?<layer>\d+)\.(?<part>[a-z_]+(?:\.[a-z_]+)?)\.(?<kind>weight|bias)\z")]
    private static partial Regex LayerTensor();
}
