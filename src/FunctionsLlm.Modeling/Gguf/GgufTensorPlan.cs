using System.Globalization;
using FunctionsLlm.Modeling.Config;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Gguf;

/// <summary>One tensor of the GGUF file: where its values come from in the checkpoint and how they are laid out.</summary>
/// <param name="PermuteHeads">When above 0, q/k rows (or bias entries) go from Hugging Face's rotate-half order to
/// llama.cpp's adjacent pairs, per head.</param>
public sealed record GgufTensor(string GgufName, string HfName, int PermuteHeads = 0);

/// <summary>
/// llama.cpp's name for each architecture the decoder supports and the mapping of its checkpoint tensors, as llama.cpp's
/// Hugging Face converter writes them: llama and mistral become "llama" with q/k permuted to llama.cpp's rotary layout;
/// qwen2, qwen3 and GLM rotate as llama.cpp does already (NEOX pairs for Qwen, adjacent pairs for GLM) and are copied.
/// </summary>
public static class GgufTensorPlan
{
    public static string Architecture(ModelConfig config) => config.ModelType switch
    {
        "llama" or "mistral" => "llama",
        "qwen2" => "qwen2",
        "qwen3" => "qwen3",
        "glm" => "chatglm",
        "glm4" => "glm4",
        _ => throw new GgufExportException($"model_type '{config.ModelType}' has no GGUF export; supported: llama, mistral, qwen2, qwen3, glm, glm4"),
    };

    public static IReadOnlyList<GgufTensor> For(ModelConfig config, IReadOnlyCollection<string> checkpointNames)
    {
        var names = checkpointNames.ToHashSet(StringComparer.Ordinal);
        bool permute = Architecture(config) == "llama";
        var plan = new List<GgufTensor>
        {
            new("token_embd.weight", "model.embed_tokens.weight"),
            new("output_norm.weight", "model.norm.weight"),
        };
        if (!config.TieWordEmbeddings)
            plan.Add(new("output.weight", "lm_head.weight")); // absent: llama.cpp reuses token_embd

        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            string hf = string.Create(CultureInfo.InvariantCulture, $"model.layers.{i}.");
            string blk = string.Create(CultureInfo.InvariantCulture, $"blk.{i}.");
            void Add(string gguf, string source, int heads = 0)
            {
                if (names.Contains(hf + source))
                    plan.Add(new(blk + gguf, hf + source, heads));
            }

            Add("attn_norm.weight", "input_layernorm.weight");
            foreach (var suffix in new[] { "weight", "bias" })
            {
                Add($"attn_q.{suffix}", $"self_attn.q_proj.{suffix}", permute ? config.NumAttentionHeads : 0);
                Add($"attn_k.{suffix}", $"self_attn.k_proj.{suffix}", permute ? config.NumKeyValueHeads : 0);
                Add($"attn_v.{suffix}", $"self_attn.v_proj.{suffix}");
                Add($"attn_output.{suffix}", $"self_attn.o_proj.{suffix}");
            }
            Add("attn_q_norm.weight", "self_attn.q_norm.weight");
            Add("attn_k_norm.weight", "self_attn.k_norm.weight");
            Add("post_attention_norm.weight", "post_self_attn_layernorm.weight");
            Add("ffn_norm.weight", "post_attention_layernorm.weight");
            Add("ffn_gate.weight", "mlp.gate_proj.weight");
            Add("ffn_up.weight", config.FusedGateUp ? "mlp.gate_up_proj.weight" : "mlp.up_proj.weight");
            Add("ffn_down.weight", "mlp.down_proj.weight");
            Add("post_ffw_norm.weight", "post_mlp_layernorm.weight");
        }

        var missing = plan.Select(t => t.HfName).Where(n => !names.Contains(n)).ToList();
        if (missing.Count > 0)
            throw new GgufExportException($"the checkpoint lacks {string.Join(", ", missing)}");
        var unused = names.Except(plan.Select(t => t.HfName)).Where(n => !(config.TieWordEmbeddings && n == "lm_head.weight")).ToList();
        if (unused.Count > 0)
            throw new GgufExportException($"the checkpoint has tensors a {Architecture(config)} GGUF has no place for: {string.Join(", ", unused.Take(8))}");
        return plan;
    }

    /// <summary>
    /// Hugging Face keeps each head's q/k rows as [first halves of the rotary pairs; second halves] (rotate-half);
    /// llama.cpp's llama graph rotates adjacent rows (2j, 2j + 1). Row (half h, index j) of a head moves to row 2j + h.
    /// </summary>
    public static Tensor PermuteForInterleavedRope(Tensor weight, int heads)
    {
        long rows = weight.shape[0];
        if (rows % (2 * heads) != 0)
            throw new ArgumentException($"{rows} rows do not split into {heads} heads of rotary pairs", nameof(weight));
        using var split = weight.reshape(heads, 2, rows / heads / 2, -1);   // (heads, half, pair, cols)
        using var swapped = split.transpose(1, 2);                          // (heads, pair, half, cols)
        return swapped.reshape(weight.shape);
    }
}
