using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Decoder;

public sealed class ModelLoaderTests : IDisposable
{
    private static readonly ModelLoadOptions Cpu32 = new(CPU, ScalarType.Float32);
    private static readonly long[] Probe = [5, 77, 300, 12, 499, 3, 64, 128];

    private readonly TempFolder _dir = new("flm-model-");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public void A_sharded_copy_loads_to_identical_logits(string name)
    {
        var fixture = FixtureModel.Get(name);
        CopyWithTensors(fixture.Directory, (n, t) => t, maxShardBytes: 64 * 1024);
        Assert.True(File.Exists(Path.Combine(_dir, "model.safetensors.index.json")));
        Assert.True(Directory.GetFiles(_dir, "model-*-of-*.safetensors").Length > 2);

        AssertSameLogits(fixture.Directory, _dir);
    }

    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public void An_f32_checkpoint_of_the_same_bf16_values_gives_the_same_logits(string name)
    {
        var fixture = FixtureModel.Get(name);
        using (var original = CheckpointReader.Open(fixture.Directory))
            Assert.All(original.Names, n => Assert.Equal(SafetensorsDType.BF16, original.Info(n).DType));
        CopyWithTensors(fixture.Directory, (n, t) => t.to(ScalarType.Float32));
        using (var copy = CheckpointReader.Open(_dir))
            Assert.All(copy.Names, n => Assert.Equal(SafetensorsDType.F32, copy.Info(n).DType));

        AssertSameLogits(fixture.Directory, _dir);
    }

    [Fact]
    public void A_missing_tensor_is_named_in_the_error()
    {
        var fixture = FixtureModel.Get("tiny-qwen3");
        CopyWithTensors(fixture.Directory, (n, t) => n == "model.layers.1.self_attn.k_norm.weight" ? null : t);

        var error = Assert.Throws<CheckpointException>(() => ModelLoader.Load(_dir, Cpu32));
        Assert.Contains("model.layers.1.self_attn.k_norm.weight", error.Message);
    }

    [Fact]
    public void A_tensor_of_the_wrong_shape_is_reported_with_both_shapes()
    {
        var fixture = FixtureModel.Get("tiny-llama");
        CopyWithTensors(fixture.Directory, (n, t) => n == "model.norm.weight" ? t.narrow(0, 0, 32) : t);

        var error = Assert.Throws<CheckpointException>(() => ModelLoader.Load(_dir, Cpu32));
        Assert.Contains("'model.norm.weight' has shape [32], config.json implies [64]", error.Message);
    }

    [Fact]
    public void A_directory_without_config_json_says_so()
    {
        var error = Assert.Throws<ModelConfigException>(() => ModelLoader.Load(_dir, Cpu32));
        Assert.Contains("config.json", error.Message);
    }

    private void CopyWithTensors(string source, Func<string, Tensor, Tensor?> change, long maxShardBytes = 5L << 30)
    {
        foreach (string file in Directory.GetFiles(source, "*.json").Where(f => !f.EndsWith("expected.json", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(_dir, Path.GetFileName(file)));
        using var reader = CheckpointReader.Open(source);
        var tensors = reader.Names.Select(n => (Name: n, Tensor: change(n, reader.Read(n)))).Where(p => p.Tensor is not null).ToList();
        SafetensorsWriter.WriteCheckpoint(_dir, tensors.Select(p => (p.Name, p.Tensor!)), maxShardBytes);
        tensors.ForEach(p => p.Tensor!.Dispose());
    }

    private static void AssertSameLogits(string expectedDir, string actualDir)
    {
        using var noGrad = no_grad();
        using var input = tensor(Probe, [1, Probe.Length]);
        using var expectedModel = ModelLoader.Load(expectedDir, Cpu32);
        using var actualModel = ModelLoader.Load(actualDir, Cpu32);
        using var expected = expectedModel.Forward(input);
        using var actual = actualModel.Forward(input);
        TensorAssert.Equal(expected, actual);
    }
}
