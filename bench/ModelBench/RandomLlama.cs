using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FunctionsLlm.Modeling.Checkpoints;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>A Llama-shaped model with random weights (N(0, 0.02), norms 1), written as an F32 HF checkpoint.</summary>
internal static class RandomLlama
{
    public static readonly JsonObject Config = new()
    {
        ["architectures"] = new JsonArray("LlamaForCausalLM"),
        ["model_type"] = "llama",
        ["hidden_size"] = 768,
        ["intermediate_size"] = 2048,
        ["num_hidden_layers"] = 12,
        ["num_attention_heads"] = 12,
        ["num_key_value_heads"] = 4,
        ["head_dim"] = 64,
        ["hidden_act"] = "silu",
        ["rms_norm_eps"] = 1e-5,
        ["rope_theta"] = 10000.0,
        ["max_position_embeddings"] = 2048,
        ["vocab_size"] = 32000,
        ["tie_word_embeddings"] = false,
        ["eos_token_id"] = 2,
        ["bos_token_id"] = 1,
        ["torch_dtype"] = "float32",
    };

    public static void Create(string dir)
    {
        var parameters = Write(dir, Config, seed: 1234, scale: 0.02f);
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), """{"eos_token_id": 2, "bos_token_id": 1}""");
        Console.WriteLine($"wrote {parameters:N0} parameters to {dir}");
    }

    /// <summary>
    /// A Llama of <paramref name="config"/>'s shape (its hidden, intermediate and vocabulary sizes, layers, heads, KV heads
    /// and head_dim) with weights N(0, <paramref name="scale"/>²) from <paramref name="seed"/> and norms 1, and the config,
    /// into <paramref name="dir"/>; returns the parameter count. The modeling tests link this file for wide-head models.
    /// </summary>
    public static long Write(string dir, JsonObject config, long seed, float scale)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        int hidden = (int)config["hidden_size"]!, ffn = (int)config["intermediate_size"]!, vocab = (int)config["vocab_size"]!;
        int heads = (int)config["num_attention_heads"]!, kvHeads = (int)config["num_key_value_heads"]!, headDim = (int)config["head_dim"]!;
        using var generator = new Generator((ulong)seed);
        var tensors = new List<(string, Tensor)>
        {
            ("model.embed_tokens.weight", Random([vocab, hidden])),
            ("model.norm.weight", ones(hidden)),
            ("lm_head.weight", Random([vocab, hidden])),
        };
        for (int i = 0; i < (int)config["num_hidden_layers"]!; i++)
        {
            string p = string.Create(CultureInfo.InvariantCulture, $"model.layers.{i}.");
            tensors.Add((p + "input_layernorm.weight", ones(hidden)));
            tensors.Add((p + "post_attention_layernorm.weight", ones(hidden)));
            tensors.Add((p + "self_attn.q_proj.weight", Random([heads * headDim, hidden])));
            tensors.Add((p + "self_attn.k_proj.weight", Random([kvHeads * headDim, hidden])));
            tensors.Add((p + "self_attn.v_proj.weight", Random([kvHeads * headDim, hidden])));
            tensors.Add((p + "self_attn.o_proj.weight", Random([hidden, heads * headDim])));
            tensors.Add((p + "mlp.gate_proj.weight", Random([ffn, hidden])));
            tensors.Add((p + "mlp.up_proj.weight", Random([ffn, hidden])));
            tensors.Add((p + "mlp.down_proj.weight", Random([hidden, ffn])));
        }
        SafetensorsWriter.WriteCheckpoint(dir, tensors);
        long count = tensors.Sum(t => t.Item2.numel());
        tensors.ForEach(t => t.Item2.Dispose());
        return count;

        Tensor Random(long[] shape) => randn(shape, generator: generator).mul_(scale);
    }
}
