using System.Text;
using System.Text.Json.Nodes;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Modeling.Quantization;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Quantization;

/// <summary>
/// <c>flm quantize</c>'s writer: bitsandbytes' 4-bit checkpoint layout (as transformers saves <c>Params4bit</c>), packed
/// bytes from the hand-checked quantizer, a reload that keeps those bytes, and merges of adapters trained on it.
/// </summary>
public sealed class ModelQuantizerTests : IDisposable
{
    private static readonly ModelLoadOptions Cpu32 = new(CPU, ScalarType.Float32);
    private readonly TempFolder _dir = new("flm-quantize-");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public void A_quantized_checkpoint_has_bitsandbytes_layout_and_reloads_with_identical_packed_bytes(string name)
    {
        var fixture = FixtureModel.Get(name);
        string output = Path.Combine(_dir, "nf4");

        var result = ModelQuantizer.Quantize(fixture.Directory, output, FourBitOptions.Nf4);

        using var scope = NewDisposeScope();
        using var original = CheckpointReader.Open(fixture.Directory);
        using var written = CheckpointReader.Open(output);
        var linear = original.Names.Where(n => n.StartsWith("model.layers.", StringComparison.Ordinal) && n.EndsWith("_proj.weight", StringComparison.Ordinal)).ToList();
        Assert.Equal(linear.Order(StringComparer.Ordinal), result.QuantizedWeights);
        foreach (string weight in linear)
        {
            var info = original.Info(weight);
            long count = info.Shape[0] * info.Shape[1];
            Assert.Equal(new long[] { (count + 1) / 2, 1 }, written.Info(weight).Shape);
            Assert.Equal(SafetensorsDType.U8, written.Info(weight).DType);
            Assert.Equal(new long[] { count / 64 }, written.Info(weight + ".absmax").Shape);
            Assert.Equal(SafetensorsDType.F32, written.Info(weight + ".absmax").DType);
            Assert.Equal(FourBitType.Nf4.Values, written.Read(weight + ".quant_map").data<float>().ToArray());
            Assert.Equal($"{{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [{info.Shape[0]}, {info.Shape[1]}]}}",
                Encoding.UTF8.GetString(written.Read(weight + ".quant_state.bitsandbytes__nf4").data<byte>().ToArray()));

            var (packed, absmax) = FourBitQuantizer.Quantize(original.Read(weight).to(ScalarType.Float32).data<float>().ToArray(), FourBitType.Nf4);
            Assert.Equal(packed, written.Read(weight).data<byte>().ToArray());
            Assert.Equal(absmax, written.Read(weight + ".absmax").data<float>().ToArray());
        }
        // everything else (embeddings, norms, biases, lm_head) as it was, byte for byte
        foreach (string other in original.Names.Except(linear))
            TensorAssert.Equal(original.Read(other), written.Read(other), other);
        Assert.Equal(original.Names.Count + 3 * linear.Count, written.Names.Count);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!.AsObject();
        var quantization = config["quantization_config"]!.AsObject();
        Assert.Equal("bitsandbytes", (string?)quantization["quant_method"]);
        Assert.True((bool)quantization["load_in_4bit"]!);
        Assert.Equal("nf4", (string?)quantization["bnb_4bit_quant_type"]);
        Assert.False((bool)quantization["bnb_4bit_use_double_quant"]!);
        config.Remove("quantization_config");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(Path.Combine(fixture.Directory, "config.json"))), config));
        Assert.Equal(File.ReadAllText(Path.Combine(fixture.Directory, "tokenizer.json")), File.ReadAllText(Path.Combine(output, "tokenizer.json")));

        // loaded, the linear weights stay packed with the file's bytes; lm_head stays dense
        using var model = ModelLoader.Load(output, Cpu32);
        foreach (var (module, layer) in LoraInjector.LinearLayers(model).Where(l => l.Key != "lm_head"))
        {
            Assert.NotNull(layer.Quantized);
            Assert.Equal(written.Read(module + ".weight").data<byte>().ToArray(), layer.Quantized.Packed.data<byte>().ToArray());
        }
        Assert.True(model.lm_head is null || ((LinearLayer)model.lm_head).Quantized is null);
        Assert.Equal(name is "tiny-llama" or "tiny-glm" or "tiny-glm4", model.lm_head is not null);

        // and compute what the same weights dequantized compute
        using var dense = ModelLoader.Load(output, Cpu32 with { DequantizeFourBit = true });
        Assert.All(LoraInjector.LinearLayers(dense).Values, l => Assert.Null(l.Quantized));
        Assert.Equal(ScalarType.Float32, dense.DType);
        var ids = tensor(new long[] { 1, 17, 200, 3, 99, 45, 7, 300 }, [1, 8]);
        TensorAssert.Close(dense.Forward(ids), model.Forward(ids), 1e-4, "4-bit vs dequantized dense");
    }

    [Fact]
    public void Quantizing_at_load_gives_the_bytes_of_a_quantized_checkpoint()
    {
        var fixture = FixtureModel.Get("tiny-qwen2");
        string output = Path.Combine(_dir, "fp4");
        var fp4 = new FourBitOptions(FourBitType.Fp4, blockSize: 32);
        ModelQuantizer.Quantize(fixture.Directory, output, fp4);

        using var fromFile = ModelLoader.Load(output, Cpu32);
        using var atLoad = ModelLoader.Load(fixture.Directory, Cpu32 with { Quantize = fp4 });
        var expected = LoraInjector.LinearLayers(fromFile);
        foreach (var (module, layer) in LoraInjector.LinearLayers(atLoad).Where(l => l.Key != "lm_head"))
        {
            Assert.Equal(expected[module].Quantized!.Packed.data<byte>().ToArray(), layer.Quantized!.Packed.data<byte>().ToArray());
            Assert.Equal(expected[module].Quantized!.Absmax.data<float>().ToArray(), layer.Quantized.Absmax.data<float>().ToArray());
            Assert.Equal(32, layer.Quantized.BlockSize);
        }
    }

    [Fact]
    public void Double_quantization_keeps_the_absmax_within_the_8_bit_bound_of_its_nested_scales()
    {
        var fixture = FixtureModel.Get("tiny-llama");
        string plainDir = Path.Combine(_dir, "plain"), nestedDir = Path.Combine(_dir, "nested");
        ModelQuantizer.Quantize(fixture.Directory, plainDir, FourBitOptions.Nf4);
        ModelQuantizer.Quantize(fixture.Directory, nestedDir, new FourBitOptions(FourBitType.Nf4, doubleQuant: true));

        using var scope = NewDisposeScope();
        using var plain = CheckpointReader.Open(plainDir);
        using var nested = CheckpointReader.Open(nestedDir);
        float halfGap = DynamicQuantizer.Map.Zip(DynamicQuantizer.Map.Skip(1), (a, b) => b - a).Max() / 2;
        const string weight = "model.layers.1.mlp.down_proj.weight";   // 160 × 64: 160 blocks, one nested block
        Assert.Equal(plain.Read(weight).data<byte>().ToArray(), nested.Read(weight).data<byte>().ToArray());
        Assert.Equal(SafetensorsDType.U8, nested.Info(weight + ".absmax").DType);
        Assert.Equal(new long[] { 1 }, nested.Info(weight + ".nested_absmax").Shape);
        Assert.Equal(DynamicQuantizer.Map, nested.Read(weight + ".nested_quant_map").data<float>().ToArray());

        var absmax = plain.Read(weight + ".absmax");
        float mean = absmax.mean().item<float>();
        var state = Bnb4BitQuantState.Unpack(nested.Read(weight + ".quant_state.bitsandbytes__nf4").data<byte>().ToArray(), weight);
        Assert.Equal(new Bnb4BitNesting(256, "float32", mean), state.Nesting);
        Assert.Equal(mean, (float)state.Nesting!.Offset);

        using var fourBit = Bnb4BitTensors.Read(nested, weight)!;
        var resolved = fourBit.ResolvedAbsmax();
        float nestedAbsmax = absmax.sub(mean).abs().max().item<float>();
        Assert.Equal(nestedAbsmax, nested.Read(weight + ".nested_absmax").item<float>());
        float worst = resolved.sub(absmax).abs().max().item<float>();
        Assert.True(worst <= halfGap * nestedAbsmax + 1e-6f, $"absmax error {worst} > {halfGap} × {nestedAbsmax}");
        // each weight is code × absmax with |code| ≤ 1: it moves by at most its block's absmax error
        using var plainTensors = Bnb4BitTensors.Read(plain, weight)!;
        float weightError = fourBit.Dequantize(ScalarType.Float32).sub(plainTensors.Dequantize(ScalarType.Float32)).abs().max().item<float>();
        Assert.True(weightError <= worst * 1.01f + 1e-6f, $"weight error {weightError}, absmax error {worst}");

        using var model = ModelLoader.Load(nestedDir, Cpu32);
        var layer = LoraInjector.LinearLayers(model)["model.layers.1.mlp.down_proj"];
        TensorAssert.Close(resolved, layer.Quantized!.Absmax, 0, "loaded absmax");
    }

    [Fact]
    public void An_adapter_trained_on_a_4_bit_base_merges_into_the_original_base_or_into_the_dequantized_4_bit_one()
    {
        var fixture = FixtureModel.Get("tiny-llama");
        string quantized = Path.Combine(_dir, "nf4"), adapter = Path.Combine(_dir, "adapter");
        ModelQuantizer.Quantize(fixture.Directory, quantized, FourBitOptions.Nf4);
        var config = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = [LoraConfig.AllLinear] };
        using (var model = ModelLoader.Load(quantized, Cpu32))
        {
            LoraInjector.Inject(model, config, new Generator(3));
            RandomAdapter.Perturb(model, 0.02, new Generator(4));
            PeftAdapter.Save(model, config, adapter);
        }

        var intoOriginal = LoraMerger.Merge(fixture.Directory, adapter, Path.Combine(_dir, "merged-bf16"));
        Assert.False(intoOriginal.DequantizedBase);
        Assert.True(intoOriginal.MaxLogitDifference <= intoOriginal.Tolerance);

        string mergedDir = Path.Combine(_dir, "merged-from-nf4");
        var intoQuantized = LoraMerger.Merge(quantized, adapter, mergedDir);
        Assert.True(intoQuantized.DequantizedBase);
        Assert.True(intoQuantized.MaxLogitDifference <= intoQuantized.Tolerance, $"{intoQuantized.MaxLogitDifference} > {intoQuantized.Tolerance}");
        Assert.Null(ModelConfig.Load(mergedDir).Quantization);
        using var original = CheckpointReader.Open(fixture.Directory);
        using var merged = CheckpointReader.Open(mergedDir);
        Assert.Equal(original.Names.Order(), merged.Names.Order());
        Assert.All(merged.Names, n => Assert.Equal(original.Info(n).DType, merged.Info(n).DType));
        Assert.All(merged.Names, n => Assert.Equal(original.Info(n).Shape, merged.Info(n).Shape));

        // merging into the original base quantized at load (as the adapter trained on it) writes the same model
        string asTrained = Path.Combine(_dir, "merged-as-trained");
        var quantizedAtLoad = LoraMerger.Merge(fixture.Directory, adapter, asTrained, new LoraMergeOptions(QuantizedBase: FourBitOptions.Nf4));
        Assert.True(quantizedAtLoad.DequantizedBase);
        Assert.Equal(intoQuantized.MaxLogitDifference, quantizedAtLoad.MaxLogitDifference);
        using var scope = NewDisposeScope();
        using var atLoad = CheckpointReader.Open(asTrained);
        Assert.Equal(merged.Names.Order(), atLoad.Names.Order());
        foreach (string name in merged.Names)
            TensorAssert.Equal(merged.Read(name), atLoad.Read(name), name);
        Assert.Null(ModelConfig.Load(asTrained).Quantization);
    }

    [Fact]
    public void A_quantized_model_is_not_quantized_again_and_unsupported_configs_are_named()
    {
        var fixture = FixtureModel.Get("tiny-llama");
        string quantized = Path.Combine(_dir, "nf4");
        ModelQuantizer.Quantize(fixture.Directory, quantized, FourBitOptions.Nf4);
        var again = Assert.Throws<CheckpointException>(() => ModelQuantizer.Quantize(quantized, Path.Combine(_dir, "again"), FourBitOptions.Nf4));
        Assert.Contains("quantized already", again.Message, StringComparison.Ordinal);

        string config = File.ReadAllText(Path.Combine(fixture.Directory, "config.json"));
        var eightBit = JsonNode.Parse(config)!.AsObject();
        eightBit["quantization_config"] = new JsonObject { ["quant_method"] = "bitsandbytes", ["load_in_8bit"] = true };
        Assert.Contains("8-bit checkpoints are not supported", Assert.Throws<ModelConfigException>(() => ModelConfig.Parse(eightBit.ToJsonString())).Message, StringComparison.Ordinal);
        var gptq = JsonNode.Parse(config)!.AsObject();
        gptq["quantization_config"] = new JsonObject { ["quant_method"] = "gptq", ["bits"] = 4 };
        Assert.Contains("quant_method 'gptq' is not supported", Assert.Throws<ModelConfigException>(() => ModelConfig.Parse(gptq.ToJsonString())).Message, StringComparison.Ordinal);
    }
}
