using System.Text.Json.Nodes;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Checkpoints;

/// <summary>
/// A remote-code ChatGLM checkpoint (ChatGLMModel: config fields and tensor names of THUDM's modeling_chatglm.py) made
/// from tiny-glm by the inverse of the mapping the issue gives, which must load to llama.cpp's logits of tiny-glm.
/// </summary>
public sealed class ChatGlmCheckpointTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-chatglm-");

    public void Dispose() => _dir.Dispose();

    private static JsonObject RemoteConfig() => new()
    {
        ["architectures"] = new JsonArray("ChatGLMModel"),
        ["model_type"] = "chatglm",
        ["padded_vocab_size"] = 512,
        ["hidden_size"] = 64,
        ["ffn_hidden_size"] = 160,
        ["num_layers"] = 2,
        ["num_attention_heads"] = 4,
        ["multi_query_attention"] = true,
        ["multi_query_group_num"] = 2,
        ["kv_channels"] = 16,
        ["layernorm_epsilon"] = 1e-6,
        ["rope_ratio"] = 1,
        ["seq_length"] = 256,
        ["add_qkv_bias"] = true,
        ["add_bias_linear"] = false,
        ["rmsnorm"] = true,
        ["post_layer_norm"] = true,
        ["original_rope"] = true,
        ["apply_residual_connection_post_layernorm"] = false,
        ["eos_token_id"] = new JsonArray(502, 509, 511),
        ["pad_token_id"] = 502,
        ["torch_dtype"] = "bfloat16",
    };

    // glm name → remote-code name, written out for the inverse direction (q, k and v are concatenated below).
    private static string RemoteName(string name) => name
        .Replace("model.embed_tokens.", "transformer.embedding.word_embeddings.", StringComparison.Ordinal)
        .Replace("model.norm.", "transformer.encoder.final_layernorm.", StringComparison.Ordinal)
        .Replace("lm_head.", "transformer.output_layer.", StringComparison.Ordinal)
        .Replace("model.layers.", "transformer.encoder.layers.", StringComparison.Ordinal)
        .Replace("self_attn.o_proj.", "self_attention.dense.", StringComparison.Ordinal)
        .Replace("mlp.gate_up_proj.", "mlp.dense_h_to_4h.", StringComparison.Ordinal)
        .Replace("mlp.down_proj.", "mlp.dense_4h_to_h.", StringComparison.Ordinal);

    private string WriteRemoteCheckpoint()
    {
        var fixture = FixtureModel.Get("tiny-glm");
        string dir = Directory.CreateDirectory(Path.Combine(_dir, "chatglm")).FullName;
        File.WriteAllText(Path.Combine(dir, "config.json"), RemoteConfig().ToJsonString());
        using var scope = NewDisposeScope();
        using var checkpoint = CheckpointReader.Open(fixture.Directory);
        var tensors = new List<(string, Tensor)>();
        foreach (string name in checkpoint.Names.Where(n => !n.Contains(".self_attn.q_proj.", StringComparison.Ordinal)
                     && !n.Contains(".self_attn.k_proj.", StringComparison.Ordinal) && !n.Contains(".self_attn.v_proj.", StringComparison.Ordinal)))
            tensors.Add((RemoteName(name), checkpoint.Read(name)));
        for (int layer = 0; layer < 2; layer++)
        {
            foreach (string kind in new[] { "weight", "bias" })
            {
                string Part(string projection) => $"model.layers.{layer}.self_attn.{projection}.{kind}";
                tensors.Add(($"transformer.encoder.layers.{layer}.self_attention.query_key_value.{kind}",
                    cat([checkpoint.Read(Part("q_proj")), checkpoint.Read(Part("k_proj")), checkpoint.Read(Part("v_proj"))], 0)));
            }
        }
        tensors.Add(("transformer.rotary_pos_emb.inv_freq", ones(4, ScalarType.BFloat16)));   // in every remote-code checkpoint, unused
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), tensors);
        return dir;
    }

    [Fact]
    public void A_remote_code_checkpoint_loads_as_glm_and_gives_llama_cpps_logits()
    {
        string dir = WriteRemoteCheckpoint();
        var fixture = FixtureModel.Get("tiny-glm");

        using var model = ModelLoader.Load(dir, new ModelLoadOptions(CPU, ScalarType.Float32));

        Assert.Equal(("glm", CheckpointLayout.ChatGlm, 10000.0, 8), (model.Config.ModelType, model.Config.Layout, model.Config.RopeTheta, model.Config.RotaryDim));
        using var expected = SafetensorsFile.Open(fixture.ExpectedLogitsPath);
        using var noGrad = no_grad();
        foreach (var (ids, tensorName) in fixture.LogitCases)
        {
            using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
            using var logits = model.Forward(input);
            using var reference = expected.Read(tensorName);
            TensorAssert.Close(reference, logits.squeeze(0), fixture.Tolerance, $"remote-code tiny-glm {tensorName}");
        }
    }

    [Fact]
    public void A_lora_merged_into_a_remote_code_checkpoint_is_written_as_a_hugging_face_glm_model()
    {
        string dir = WriteRemoteCheckpoint();
        string adapter = Path.Combine(_dir, "adapter");
        var lora = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = [LoraConfig.AllLinear] };
        using (var lm = ModelLoader.Load(dir, new ModelLoadOptions(CPU, ScalarType.Float32)))
        {
            LoraInjector.Inject(lm, lora, new Generator(3));
            RandomAdapter.Perturb(lm, 0.02, new Generator(4));
            PeftAdapter.Save(lm, lora, adapter);
        }
        string merged = Path.Combine(_dir, "merged");

        var result = LoraMerger.Merge(dir, adapter, merged);

        Assert.True(result.MaxLogitDifference <= result.Tolerance);
        Assert.Equal(12, result.MergedModules.Count);
        Assert.Equal(("glm", CheckpointLayout.HuggingFace), (ModelConfig.Load(merged).ModelType, ModelConfig.Load(merged).Layout));
        var fixture = FixtureModel.Get("tiny-glm");
        using var original = CheckpointReader.Open(fixture.Directory);
        using var written = CheckpointReader.Open(merged);
        Assert.Equal(original.Names.Order(StringComparer.Ordinal), written.Names.Order(StringComparer.Ordinal));
        using var normBefore = original.Read("model.layers.1.post_attention_layernorm.weight");
        using var normAfter = written.Read("model.layers.1.post_attention_layernorm.weight");
        TensorAssert.Equal(normBefore, normAfter, "untouched tensors are copied bit for bit");
        using var biasBefore = original.Read("model.layers.0.self_attn.k_proj.bias");
        using var biasAfter = written.Read("model.layers.0.self_attn.k_proj.bias");
        TensorAssert.Equal(biasBefore, biasAfter, "k's rows of query_key_value's bias");
    }

    [Fact]
    public void Rope_ratio_scales_theta_and_another_network_is_refused_naming_each_field()
    {
        var config = RemoteConfig();
        config["rope_ratio"] = 500;
        Assert.Equal(5_000_000.0, ModelConfig.Parse(config.ToJsonString()).RopeTheta);

        config["rmsnorm"] = false;
        config["add_bias_linear"] = true;
        config.Remove("kv_channels");
        var error = Assert.Throws<ModelConfigException>(() => ModelConfig.Parse(config.ToJsonString(), "x/config.json"));
        Assert.Contains("rmsnorm: false is another network than GLM's (true)", error.Message);
        Assert.Contains("add_bias_linear: true is another network than GLM's (false)", error.Message);
        Assert.Contains("kv_channels is missing", error.Message);

        var twice = Assert.Throws<ModelConfigException>(() => ModelConfig.Parse("""{"model_type": "chatglm", "num_layers": 1, "num_layers": 2}""", "x/config.json"));
        Assert.StartsWith("x/config.json: not a valid model config", twice.Message);
    }
}
