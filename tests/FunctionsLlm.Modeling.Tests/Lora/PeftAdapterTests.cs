using System.Text.Json;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Modeling.Tests.Checkpoints;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Lora;

public sealed class PeftAdapterTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-adapter-");

    public void Dispose() => _dir.Dispose();

    private static CausalLM Load(string name) =>
        ModelLoader.Load(FixtureModel.Get(name).Directory, new ModelLoadOptions(CPU, ScalarType.Float32));

    [Fact]
    public void A_saved_adapter_has_peft_key_names_shapes_and_config()
    {
        using var model = Load("tiny-llama");
        var config = new LoraConfig { R = 8, LoraAlpha = 16, LoraDropout = 0.05, BaseModelNameOrPath = "tiny-llama" };
        LoraInjector.Inject(model, config);

        PeftAdapter.Save(model, config, _dir);

        var entries = SafetensorsSpec.Entries(File.ReadAllBytes(Path.Combine(_dir, "adapter_model.safetensors")));
        Assert.Equal(16, entries.Count);
        var q = entries.Single(e => e.Name == "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
        Assert.Equal("F32", q.DType);
        Assert.Equal(new long[] { 8, 64 }, q.Shape);
        var v = entries.Single(e => e.Name == "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight");
        Assert.Equal(new long[] { 32, 8 }, v.Shape);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "adapter_config.json")));
        var root = json.RootElement;
        Assert.Equal("LORA", root.GetProperty("peft_type").GetString());
        Assert.Equal("CAUSAL_LM", root.GetProperty("task_type").GetString());
        Assert.Equal(8, root.GetProperty("r").GetInt32());
        Assert.Equal(16, root.GetProperty("lora_alpha").GetDouble());
        Assert.Equal(0.05, root.GetProperty("lora_dropout").GetDouble());
        Assert.Equal(["k_proj", "o_proj", "q_proj", "v_proj"], root.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("none", root.GetProperty("bias").GetString());
        Assert.False(root.GetProperty("use_rslora").GetBoolean());
        Assert.Equal("tiny-llama", root.GetProperty("base_model_name_or_path").GetString());
    }

    [Fact]
    public void An_adapter_written_by_another_tool_loads_and_changes_the_output_by_scaling_b_a()
    {
        // Built byte by byte from the safetensors spec, with a config as PEFT 0.13 writes it.
        var random = new Random(5);
        float[] a = [.. Enumerable.Range(0, 2 * 64).Select(_ => (float)(random.NextDouble() - 0.5))];
        float[] b = [.. Enumerable.Range(0, 64 * 2).Select(_ => (float)(random.NextDouble() - 0.5))];
        byte[] data = [.. MemoryMarshalBytes(a), .. MemoryMarshalBytes(b)];
        const string key = "base_model.model.model.layers.1.self_attn.o_proj";
        string header = $$$"""{"{{{key}}}.lora_A.weight":{"dtype":"F32","shape":[2,64],"data_offsets":[0,512]},"{{{key}}}.lora_B.weight":{"dtype":"F32","shape":[64,2],"data_offsets":[512,1024]}}""";
        File.WriteAllBytes(Path.Combine(_dir, "adapter_model.safetensors"), SafetensorsSpec.Build(header, data));
        File.WriteAllText(Path.Combine(_dir, "adapter_config.json"), """
            {"alpha_pattern": {}, "auto_mapping": null, "base_model_name_or_path": "tiny-qwen2", "bias": "none",
             "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": true, "layer_replication": null,
             "layers_pattern": null, "layers_to_transform": null, "loftq_config": {}, "lora_alpha": 4, "lora_dropout": 0.0,
             "megatron_config": null, "megatron_core": "megatron.core", "modules_to_save": null, "peft_type": "LORA", "r": 2,
             "rank_pattern": {}, "revision": null, "target_modules": ["o_proj"], "task_type": "CAUSAL_LM", "use_dora": false,
             "use_rslora": false}
            """);

        using var model = Load("tiny-qwen2");
        var layer = LoraInjector.LinearLayers(model)["model.layers.1.self_attn.o_proj"];
        using var expectedWeight = layer.weight!.detach() + tensor(b, [64, 2]).matmul(tensor(a, [2, 64])) * 2.0;
        var config = PeftAdapter.Load(model, _dir);

        Assert.Equal(2.0, config.Scaling);
        using var merged = layer.MergedWeight();
        TensorAssert.Close(expectedWeight, merged, 1e-6, "W + (α/r)·B·A");
        Assert.Null(LoraInjector.LinearLayers(model)["model.layers.0.self_attn.o_proj"].lora_A);

        // Round trip: saved by us, the extra PEFT fields survive.
        string again = Path.Combine(_dir, "again");
        PeftAdapter.Save(model, config, again);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(again, "adapter_config.json")));
        Assert.Equal("megatron.core", json.RootElement.GetProperty("megatron_core").GetString());
    }

    [Fact]
    public void Saving_and_loading_gives_the_same_logits()
    {
        using var model = Load("tiny-qwen3");
        var config = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = [LoraConfig.AllLinear] };
        LoraInjector.Inject(model, config, new Generator(2));
        RandomAdapter.Perturb(model, 0.05, new Generator(9));
        PeftAdapter.Save(model, config, _dir);

        using var loaded = Load("tiny-qwen3");
        PeftAdapter.Load(loaded, _dir);
        using var noGrad = no_grad();
        using var ids = tensor(new long[] { 3, 30, 300, 33 }, [1, 4]);
        using var expected = model.Forward(ids);
        using var actual = loaded.Forward(ids);
        TensorAssert.Equal(expected, actual, "reloaded adapter");
    }

    [Theory]
    [InlineData("\"use_dora\": true", "use_dora: true (DoRA) is not supported")]
    [InlineData("\"peft_type\": \"IA3\"", "peft_type 'IA3' is not supported")]
    [InlineData("\"target_modules\": \".*proj\"", "target_modules as a regular expression ('.*proj') is not supported")]
    [InlineData("\"rank_pattern\": {\"q_proj\": 4}", "rank_pattern / alpha_pattern are not supported")]
    public void Unsupported_adapter_options_are_named(string field, string message)
    {
        File.WriteAllText(Path.Combine(_dir, "adapter_config.json"), "{\"r\": 8, \"lora_alpha\": 16, " + field + "}");
        var error = Assert.Throws<LoraException>(() => LoraConfig.Load(_dir));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Factors_for_a_module_the_model_lacks_or_of_the_wrong_rank_are_refused()
    {
        using var model = Load("tiny-llama");
        var config = new LoraConfig { R = 4, LoraAlpha = 8 };
        LoraInjector.Inject(model, config);
        PeftAdapter.Save(model, config, _dir);

        File.WriteAllText(Path.Combine(_dir, "adapter_config.json"), File.ReadAllText(Path.Combine(_dir, "adapter_config.json")).Replace("\"r\": 4", "\"r\": 8", StringComparison.Ordinal));
        using var other = Load("tiny-llama");
        var error = Assert.Throws<LoraException>(() => PeftAdapter.Load(other, _dir));
        Assert.Contains("r = 8 and the layer imply A [8, 64]", error.Message);

        using var qwen3 = Load("tiny-qwen3");   // k_proj is 64 × 64 there (2 KV heads × 32), not 32 × 64
        File.WriteAllText(Path.Combine(_dir, "adapter_config.json"), File.ReadAllText(Path.Combine(_dir, "adapter_config.json")).Replace("\"r\": 8", "\"r\": 4", StringComparison.Ordinal));
        var mismatch = Assert.Throws<LoraException>(() => PeftAdapter.Load(qwen3, _dir));
        Assert.Contains("'model.layers.0.self_attn.k_proj' has A [4, 64] and B [32, 4]; r = 4 and the layer imply A [4, 64] and B [64, 4]", mismatch.Message);
    }

    private static byte[] MemoryMarshalBytes(float[] values)
    {
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }
}
