using System.Text.Json;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Gguf;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Tests;
using LLama;
using LLama.Native;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Gguf;

/// <summary>
/// Exports of the fixture models, run by llama.cpp: its logits, greedy continuations and tokenization from our files
/// are compared with the fixtures' (computed by llama.cpp from llama.cpp's own conversion) and with ours.
/// </summary>
public sealed class GgufExporterTests
{
    public static TheoryData<string> All => FixtureModel.All;

    [Theory]
    [MemberData(nameof(All))]
    public void An_f32_export_gives_llama_cpps_logits_at_every_position(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var folder = new TempFolder();
        string gguf = folder.File("model-f32.gguf");
        var result = GgufExporter.Export(fixture.Directory, gguf, GgmlType.F32);
        Assert.Empty(result.Warnings);

        using var llama = new LlamaCpp(gguf);
        using var model = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        using var expected = SafetensorsFile.Open(fixture.ExpectedLogitsPath);
        foreach (var (ids, tensorName) in fixture.LogitCases)
        {
            using var scope = NewDisposeScope();
            var theirs = tensor(llama.Logits(ids), [ids.Length, llama.VocabSize]);
            TensorAssert.Close(expected.Read(tensorName).to(ScalarType.Float32), theirs, fixture.Tolerance, $"{name} {tensorName}: fixture vs our file");
            TensorAssert.Close(OurLogits(model, ids), theirs, 1e-3, $"{name} {tensorName}: ours vs our file");
        }
        foreach (var (prompt, greedy) in fixture.GreedyCases)
            Assert.Equal(greedy, llama.Greedy(prompt, greedy.Length));
    }

    /// <summary>
    /// llama.cpp quantizes our F32 file itself (llama_model_quantize, Q8_0, output tensor included); our Q8_0 file must
    /// hold the same bytes in every tensor, and so run the same.
    /// </summary>
    [Theory]
    [MemberData(nameof(All))]
    public void A_q8_0_export_holds_the_blocks_llama_cpps_quantizer_writes(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var folder = new TempFolder();
        string f32 = folder.File("model-f32.gguf"), ours = folder.File("model-q8_0.gguf"), theirs = folder.File("llama-q8_0.gguf");
        GgufExporter.Export(fixture.Directory, f32, GgmlType.F32);
        GgufExporter.Export(fixture.Directory, ours, GgmlType.Q8_0);
        Assert.True(LLamaQuantizer.Quantize(f32, theirs, LLamaFtype.MOSTLY_Q8_0, nthread: 2, allowRequantize: true, quantizeOutputTensor: true));

        var ourTensors = GgufTensorBytes.Read(ours);
        var theirTensors = GgufTensorBytes.Read(theirs);
        Assert.Equal(theirTensors.Keys.Order(StringComparer.Ordinal), ourTensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (tensorName, (type, dims, data)) in theirTensors)
        {
            Assert.True(type == ourTensors[tensorName].Type, $"{tensorName}: llama.cpp wrote type {type}, we wrote {ourTensors[tensorName].Type}");
            Assert.Equal(dims, ourTensors[tensorName].Dims);
            Assert.True(data.AsSpan().SequenceEqual(ourTensors[tensorName].Data), $"{name} {tensorName}: bytes differ from llama.cpp's");
        }
        Assert.Contains(ourTensors.Values, t => t.Type == (uint)GgmlType.Q8_0);

        using var ourRun = new LlamaCpp(ours);
        using var theirRun = new LlamaCpp(theirs);
        foreach (var (prompt, greedy) in fixture.GreedyCases)
            Assert.Equal(theirRun.Greedy(prompt, greedy.Length), ourRun.Greedy(prompt, greedy.Length));
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Llama_cpp_tokenizes_the_fixture_texts_from_the_file_as_we_do(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var folder = new TempFolder();
        string gguf = folder.File("model.gguf");
        GgufExporter.Export(fixture.Directory, gguf, GgmlType.F32);
        var tokenizer = HfTokenizer.Load(fixture.Directory);

        using var llama = new LlamaCpp(gguf);
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Directory, "expected.json")));
        var cases = expected.RootElement.GetProperty("tokenize").EnumerateArray().ToList();
        Assert.NotEmpty(cases);
        foreach (var c in cases)
        {
            string text = c.GetProperty("text").GetString()!;
            int[] ids = [.. c.GetProperty("ids").EnumerateArray().Select(id => id.GetInt32())];
            Assert.Equal(ids, llama.Tokenize(text));
            Assert.Equal(ids, tokenizer.Encode(text));
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public void The_file_carries_the_chat_template_and_special_tokens(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var folder = new TempFolder();
        string gguf = folder.File("model.gguf");
        GgufExporter.Export(fixture.Directory, gguf, GgmlType.Q8_0);
        var tokenizer = HfTokenizer.Load(fixture.Directory);

        using var llama = new LlamaCpp(gguf);
        Assert.Equal(tokenizer.ChatTemplate, llama.Metadata["tokenizer.chat_template"]);
        Assert.Equal(tokenizer.EosTokenId.ToString(), llama.Metadata["tokenizer.ggml.eos_token_id"]);
        Assert.Equal("gpt2", llama.Metadata["tokenizer.ggml.model"]);
        Assert.Equal("false", llama.Metadata["tokenizer.ggml.add_bos_token"]);
    }

    /// <summary>A mistral checkpoint is llama.cpp's llama architecture (q/k permuted the same way); its window is warned about.</summary>
    [Fact]
    public void A_mistral_model_exports_as_llama_cpps_llama()
    {
        var fixture = FixtureModel.Get("tiny-llama");
        using var folder = new TempFolder();
        string model = fixture.CopyTo(folder.File("mistral")), gguf = folder.File("mistral.gguf");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!;
        config["model_type"] = "mistral";
        config["architectures"] = new System.Text.Json.Nodes.JsonArray("MistralForCausalLM");
        config["sliding_window"] = 128;
        File.WriteAllText(Path.Combine(model, "config.json"), config.ToJsonString());

        var result = GgufExporter.Export(model, gguf, GgmlType.F32);

        Assert.Equal("llama", result.Architecture);
        Assert.Contains(result.Warnings, w => w.StartsWith("sliding_window 128", StringComparison.Ordinal));
        using var llama = new LlamaCpp(gguf);
        using var ours = ModelLoader.Load(model, new ModelLoadOptions(CPU, ScalarType.Float32));
        using var expected = SafetensorsFile.Open(fixture.ExpectedLogitsPath);
        foreach (var (ids, tensorName) in fixture.LogitCases)
        {
            using var scope = NewDisposeScope();
            var theirs = tensor(llama.Logits(ids), [ids.Length, llama.VocabSize]);
            TensorAssert.Close(OurLogits(ours, ids), theirs, 1e-3, $"mistral {tensorName}");
            TensorAssert.Close(expected.Read(tensorName).to(ScalarType.Float32), theirs, fixture.Tolerance, $"mistral {tensorName}: the llama fixture");
        }
    }

    /// <summary>
    /// rope_scaling goes in as llama.cpp takes it: Llama 3.1's as the rope_freqs tensor, linear as rope.scaling keys.
    /// The variants of tiny-llama differ from it (the scaling reaches its lowest frequencies), so the match means
    /// llama.cpp applied the same scaling we do.
    /// </summary>
    [Theory]
    [InlineData("""{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}""")]
    [InlineData("""{"type": "linear", "factor": 2.0}""")]
    public void Rope_scaling_exports_as_llama_cpp_applies_it(string ropeScaling)
    {
        var fixture = FixtureModel.Get("tiny-llama");
        using var folder = new TempFolder();
        string model = fixture.CopyTo(folder.File("scaled")), gguf = folder.File("scaled.gguf");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!;
        config["rope_scaling"] = System.Text.Json.Nodes.JsonNode.Parse(ropeScaling);
        File.WriteAllText(Path.Combine(model, "config.json"), config.ToJsonString());

        GgufExporter.Export(model, gguf, GgmlType.F32);

        using var llama = new LlamaCpp(gguf);
        using var scaled = ModelLoader.Load(model, new ModelLoadOptions(CPU, ScalarType.Float32));
        using var plain = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        var (ids, _) = fixture.LogitCases.MaxBy(c => c.InputIds.Length);
        using var scope = NewDisposeScope();
        var ours = OurLogits(scaled, ids);
        TensorAssert.Close(ours, tensor(llama.Logits(ids), [ids.Length, llama.VocabSize]), 1e-3, ropeScaling);
        Assert.True(TensorAssert.MaxDifference(OurLogits(plain, ids), ours) > 1e-3, "the scaling changes the logits (else the check proves nothing)");
    }

    /// <summary>Half-precision exports: llama.cpp's logits stay within half-precision rounding of our F32 logits.</summary>
    [Theory]
    [InlineData("tiny-llama", "f16")]
    [InlineData("tiny-qwen3", "bf16")]
    [InlineData("tiny-glm4", "f16")]
    public void A_half_precision_export_runs_within_its_rounding(string name, string type)
    {
        var fixture = FixtureModel.Get(name);
        using var folder = new TempFolder();
        string gguf = folder.File($"model-{type}.gguf");
        GgufExporter.Export(fixture.Directory, gguf, GgufExporter.Types[type]);
        Assert.Contains(GgufTensorBytes.Read(gguf).Values, t => t.Type == (uint)GgufExporter.Types[type]);

        using var llama = new LlamaCpp(gguf);
        using var model = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        var (ids, _) = fixture.LogitCases.MaxBy(c => c.InputIds.Length);
        using var scope = NewDisposeScope();
        var ours = OurLogits(model, ids);
        // llama.cpp's CPU products with F16/BF16 weights round the activations to the weights' type too, so even BF16,
        // which holds these BF16 weights exactly, is 8-bit-mantissa arithmetic: within 1% of the largest logit.
        double tolerance = 1e-2 * TensorAssert.MaxMagnitude(ours);
        TensorAssert.Close(ours, tensor(llama.Logits(ids), [ids.Length, llama.VocabSize]), tolerance, $"{name} {type}");
    }

    /// <summary>
    /// Issue 21's parity: our engine with Q8_0 weights (ModelLoadOptions.Q8Weights) against llama.cpp running the Q8_0
    /// file of the same model. Both quantize each product's input to int8, so where an upstream fp32 difference of a few
    /// ulps (attention, norms) moves a value across a rounding boundary, one int8 differs and the logits move by a few
    /// hundredths (measured: most cases bit-identical, at most 1.6% of the largest logit, qwen3 and GLM only). The logits
    /// are therefore held to 2.5% of the largest logit, and greedy continuations must be equal up to any step where
    /// llama.cpp's own top two logits are closer than 0.05 — a tie that such a rounding can decide either way.
    /// </summary>
    [Theory]
    [MemberData(nameof(All))]
    public void Our_q8_0_weights_decode_as_llama_cpp_runs_the_q8_0_file(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var folder = new TempFolder();
        string gguf = folder.File("model-q8_0.gguf");
        GgufExporter.Export(fixture.Directory, gguf, GgmlType.Q8_0);
        using var llama = new LlamaCpp(gguf);
        using var model = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32) { Q8Weights = true });
        foreach (var (ids, tensorName) in fixture.LogitCases)
        {
            using var scope = NewDisposeScope();
            var theirs = tensor(llama.Logits(ids), [ids.Length, llama.VocabSize]);
            TensorAssert.Close(theirs, OurLogits(model, ids), 0.025 * TensorAssert.MaxMagnitude(theirs), $"{name} {tensorName}");
        }
        foreach (var (prompt, greedy) in fixture.GreedyCases)
        {
            var (theirs, margins) = llama.GreedyWithMargins(prompt, greedy.Length);
            int[] ours = OurGreedy(model, prompt, greedy.Length);
            int same = theirs.Zip(ours).TakeWhile(pair => pair.First == pair.Second).Count();
            Assert.True(same == theirs.Length || margins[same] < 0.05f,
                $"{name}: greedy parts at step {same} where llama.cpp's margin is {(same < margins.Length ? margins[same] : 0)}: llama.cpp {string.Join(' ', theirs)}, ours {string.Join(' ', ours)}");
        }
    }

    /// <summary>A model merged from a LoRA adapter (what <c>flm merge</c> writes) exports and runs as we run it.</summary>
    [Theory]
    [InlineData("tiny-llama")]
    [InlineData("tiny-qwen2")]
    [InlineData("tiny-glm")]
    public void A_lora_merged_model_round_trips_through_llama_cpp(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var folder = new TempFolder();
        string adapter = folder.File("adapter"), merged = folder.File("merged"), gguf = folder.File("merged.gguf");
        RandomAdapter.Write(fixture.Directory, adapter, new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = [LoraConfig.AllLinear] }, seed: 7, scale: 0.1);
        LoraMerger.Merge(fixture.Directory, adapter, merged);
        GgufExporter.Export(merged, gguf, GgmlType.F32);

        using var llama = new LlamaCpp(gguf);
        using var baseModel = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        using var mergedModel = ModelLoader.Load(merged, new ModelLoadOptions(CPU, ScalarType.Float32));
        var (ids, _) = fixture.LogitCases.MaxBy(c => c.InputIds.Length);
        using var scope = NewDisposeScope();
        var theirs = tensor(llama.Logits(ids), [ids.Length, llama.VocabSize]);
        var ours = OurLogits(mergedModel, ids);
        TensorAssert.Close(ours, theirs, 1e-3, $"{name} merged");
        Assert.True(TensorAssert.MaxDifference(OurLogits(baseModel, ids), ours) > 1e-2, "the adapter changes the model (else the check proves nothing)");
    }

    private static int[] OurGreedy(CausalLM model, int[] prompt, int count)
    {
        using var noGrad = no_grad();
        using var cache = model.CreateCache(1, prompt.Length + count);
        var ids = new List<int>();
        long[] next = [.. prompt.Select(id => (long)id)];
        while (ids.Count < count)
        {
            using var input = tensor(next, [1, next.Length]);
            using var logits = model.Forward(input, cache, lastPositionOnly: true);
            ids.Add((int)logits.argmax().item<long>());
            next = [ids[^1]];
        }
        return [.. ids];
    }

    private static Tensor OurLogits(CausalLM model, int[] ids)
    {
        using var noGrad = no_grad();
        using var input = tensor(ids.Select(id => (long)id).ToArray(), [1, ids.Length]);
        using var logits = model.Forward(input);
        return logits[0].clone();
    }
}
