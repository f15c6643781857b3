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
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), Config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), """{"eos_token_id": 2, "bos_token_id": 1}""");
        int hidden = (int)Config["hidden_size"]!, ffn = (int)Config["intermediate_size"]!, vocab = (int)Config["vocab_size"]!;
        int heads = (int)Config["num_attention_heads"]!, kvHeads = (int)Config["num_key_value_heads"]!, headDim = (int)Config["head_dim"]!;
        var generator = new Generator(1234);
        var tensors = new List<(string, Tensor)>
        {
            ("model.embed_tokens.weight", Random([vocab, hidden])),
            ("model.norm.weight", ones(hidden)),
            ("lm_head.weight", Random([vocab, hidden])),
        };
        for (int i = 0; i < (int)Config["num_hidden_layers"]!; i++)
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
        Console.WriteLine($"wrote {tensors.Sum(t => t.Item2.numel()):N0} parameters to {dir}");
        tensors.ForEach(t => t.Item2.Dispose());

        Tensor Random(long[] shape) => randn(shape, generator: generator).mul_(0.02f);
    }
}
