using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Lora;

public sealed class LoraMergerTests : IDisposable
{
    private static readonly ModelLoadOptions Cpu32 = new(CPU, ScalarType.Float32);
    private readonly TempFolder _dir = new("flm-merge-");

    public void Dispose() => _dir.Dispose();

    private string Adapter(string model, double scale, LoraConfig? config = null)
    {
        config ??= new LoraConfig { R = 8, LoraAlpha = 16, TargetModules = [LoraConfig.AllLinear] };
        using var lm = ModelLoader.Load(FixtureModel.Get(model).Directory, Cpu32);
        LoraInjector.Inject(lm, config, new Generator(11));
        RandomAdapter.Perturb(lm, scale, new Generator(12));
        string dir = Path.Combine(_dir, "adapter");
        PeftAdapter.Save(lm, config, dir);
        return dir;
    }

    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public void A_merged_model_is_a_complete_hf_directory_whose_logits_match_base_plus_adapter(string name)
    {
        var fixture = FixtureModel.Get(name);
        string adapter = Adapter(name, 0.02);
        string merged = Path.Combine(_dir, "merged");

        var result = LoraMerger.Merge(fixture.Directory, adapter, merged);

        // all-linear: q, k, v, o, then gate and up (one gate_up_proj in GLM, as PEFT names it) and down, in each of 2 layers.
        string[] mlp = ModelConfig.Load(fixture.Directory).FusedGateUp ? ["gate_up_proj", "down_proj"] : ["gate_proj", "up_proj", "down_proj"];
        Assert.Equal(Enumerable.Range(0, 2).SelectMany(i => new[] { "q_proj", "k_proj", "v_proj", "o_proj" }.Select(m => $"model.layers.{i}.self_attn.{m}")
            .Concat(mlp.Select(m => $"model.layers.{i}.mlp.{m}"))).Order(StringComparer.Ordinal), result.MergedModules);
        Assert.True(result.MaxLogitDifference <= result.Tolerance);
        Assert.True(result.MaxLogitDifferenceFp32 <= 1e-4, $"fp32 merge arithmetic: {result.MaxLogitDifferenceFp32}");
        Assert.Equal(
            Directory.GetFiles(fixture.Directory).Select(Path.GetFileName).Where(f => !f!.StartsWith("expected", StringComparison.Ordinal)).Order(),
            Directory.GetFiles(merged).Select(Path.GetFileName).Where(f => !f!.StartsWith("expected", StringComparison.Ordinal)).Order());
        Assert.Equal(File.ReadAllText(Path.Combine(fixture.Directory, "tokenizer_config.json")), File.ReadAllText(Path.Combine(merged, "tokenizer_config.json")));
        using (var original = CheckpointReader.Open(fixture.Directory))
        using (var written = CheckpointReader.Open(merged))
        {
            Assert.Equal(original.Names.Order(), written.Names.Order());
            Assert.All(written.Names, n => Assert.Equal(original.Info(n).DType, written.Info(n).DType));
            using var normBefore = original.Read("model.norm.weight");
            using var normAfter = written.Read("model.norm.weight");
            TensorAssert.Equal(normBefore, normAfter, "untouched tensors are copied bit for bit");
        }

        // Independently of the gate: the merged model's logits vs base + adapter on a prompt of the fixture.
        using var reference = ModelLoader.Load(fixture.Directory, Cpu32);
        PeftAdapter.Load(reference, adapter);
        using var mergedModel = ModelLoader.Load(merged, Cpu32);
        using var noGrad = no_grad();
        var ids = fixture.LogitCases[2].InputIds;
        using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
        using var expected = reference.Forward(input);
        using var actual = mergedModel.Forward(input);
        TensorAssert.Close(expected, actual, result.Tolerance, "BF16 merged vs fp32 base + adapter");
        using var baseModel = ModelLoader.Load(fixture.Directory, Cpu32);
        using var baseLogits = baseModel.Forward(input);
        Assert.True(TensorAssert.MaxDifference(baseLogits, expected) > 0.2, "the adapter must change the logits for this test to mean anything");
    }

    [Fact]
    public void An_f32_base_merges_within_1e_3()
    {
        string f32 = Path.Combine(_dir, "f32-base");
        Directory.CreateDirectory(f32);
        var fixture = FixtureModel.Get("tiny-llama");
        foreach (string file in Directory.GetFiles(fixture.Directory, "*.json"))
            File.Copy(file, Path.Combine(f32, Path.GetFileName(file)));
        using (var reader = CheckpointReader.Open(fixture.Directory))
            SafetensorsWriter.WriteCheckpoint(f32, reader.Names.Select(n => (n, reader.Read(n).to(ScalarType.Float32))));

        var result = LoraMerger.Merge(f32, Adapter("tiny-llama", 0.02), Path.Combine(_dir, "merged"));

        Assert.Equal(1e-3, result.Tolerance);
        Assert.True(result.MaxLogitDifference <= 1e-4, $"{result.MaxLogitDifference}");
    }

    [Fact]
    public void The_parity_gate_refuses_and_leaves_nothing_behind()
    {
        var fixture = FixtureModel.Get("tiny-qwen2");
        string merged = Path.Combine(_dir, "merged");
        var error = Assert.Throws<LoraParityException>(() =>
            LoraMerger.Merge(fixture.Directory, Adapter("tiny-qwen2", 0.02), merged, new LoraMergeOptions(Tolerance: 1e-9)));

        Assert.Contains("parity gate: merged logits differ from base + adapter by up to", error.Message);
        // the fixture is BF16: the refusal says the fp32 merge passed and the 16-bit storage is what differs
        Assert.Contains("so this is BFloat16 storage of W + ΔW losing part of the update (accept it with a larger tolerance)", error.Message);
        Assert.False(Directory.Exists(merged));
        Assert.Equal(["adapter"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void A_broken_adapter_with_nan_is_refused_before_anything_is_written()
    {
        string adapter = Adapter("tiny-llama", 0.02);
        using (var file = SafetensorsFile.Open(Path.Combine(adapter, PeftAdapter.WeightsFileName)))
        {
            var tensors = file.Tensors.Keys.Select(k => (k, file.Read(k).clone())).ToList();
            tensors[0].Item2[0, 0] = float.NaN;
            SafetensorsWriter.Write(Path.Combine(adapter, PeftAdapter.WeightsFileName), tensors);
        }
        string merged = Path.Combine(_dir, "merged");

        var error = Assert.Throws<LoraException>(() => LoraMerger.Merge(FixtureModel.Get("tiny-llama").Directory, adapter, merged));
        Assert.Contains("NaN or infinite", error.Message);
        Assert.False(Directory.Exists(merged));
    }

    [Fact]
    public void An_adapter_blown_up_to_huge_finite_weights_is_refused_by_the_parity_gate()
    {
        string adapter = Adapter("tiny-qwen3", 0.02);
        BlownUpAdapter.Apply(Path.Combine(adapter, PeftAdapter.WeightsFileName));
        string merged = Path.Combine(_dir, "merged");

        var error = Assert.Throws<LoraParityException>(() => LoraMerger.Merge(FixtureModel.Get("tiny-qwen3").Directory, adapter, merged));
        Assert.Contains("base + adapter gives NaN or infinite logits", error.Message);
        Assert.False(Directory.Exists(merged));
    }

    [Fact]
    public void A_folder_that_is_not_a_model_is_never_replaced()
    {
        string precious = Path.Combine(_dir, "precious");
        Directory.CreateDirectory(precious);
        File.WriteAllText(Path.Combine(precious, "notes.txt"), "keep me");

        var error = Assert.Throws<LoraException>(() => LoraMerger.Merge(FixtureModel.Get("tiny-llama").Directory, Adapter("tiny-llama", 0.02), precious));
        Assert.Contains("is not a model directory", error.Message);
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(precious, "notes.txt")));
    }
}
