using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Quantization;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Quantization;

/// <summary>
/// Models loaded with Q8_0 weights against llama.cpp's F32 logits of the same fixture: off by the quantization's error
/// only, and decoding step by step as the whole pass computes it, up to an activation rounded to the neighbouring int8
/// (each product quantizes its input, so fp32 differences of a few ulps between the two paths can move one step).
/// llama.cpp's own Q8_0 model gives the same logits bit for bit: bench/LlamaCppBench --weights q8_0 (bench/README.md).
/// </summary>
public class Q8WeightModelTests
{
    private static readonly ModelLoadOptions Q8 = new(CPU, ScalarType.Float32) { Q8Weights = true };

    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public void Logits_differ_from_llama_cpps_f32_ones_by_the_quantization_error_only(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var model = ModelLoader.Load(fixture.Directory, Q8);
        Assert.All(LinearLayers(model), layer => Assert.NotNull(layer.Q8));
        using var expected = SafetensorsFile.Open(fixture.ExpectedLogitsPath);
        using var noGrad = no_grad();
        foreach (var (ids, tensorName) in fixture.LogitCases)
        {
            using var scope = NewDisposeScope();
            var logits = model.Forward(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length])).squeeze(0);
            var reference = expected.Read(tensorName);
            double difference = (logits - reference).abs().max().item<float>();
            double magnitude = reference.abs().max().item<float>();
            // Weights and activations rounded to 8 bits in blocks of 32: these models' rows are only 2 to 5 blocks long, so
            // little averages out (2.1–2.6% of the largest logit measured); the floor shows the weights were quantized.
            Assert.InRange(difference, 1e-5 * magnitude, 0.05 * magnitude);
        }
    }

    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public void Decoding_step_by_step_gives_the_logits_of_the_whole_pass(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var model = ModelLoader.Load(fixture.Directory, Q8);
        // libtorch's path both ways: the managed decode step rounds a few activations differently (CpuDecodeStepTests).
        model.ManagedDecode = false;
        int[] ids = fixture.LogitCases.MaxBy(c => c.InputIds.Length).InputIds;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var all = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
        var full = model.Forward(all);
        using var cache = model.CreateCache(1, ids.Length);
        var pieces = new List<Tensor> { model.Forward(all.narrow(1, 0, 3), cache) };
        for (int i = 3; i < ids.Length; i++)
            pieces.Add(model.Forward(all.narrow(1, i, 1), cache));
        TensorAssert.Close(full, cat(pieces, 1), 1e-2 * Math.Max(1, TensorAssert.MaxMagnitude(full)), name);
    }

    [Fact]
    public void Quantizing_in_chunks_reports_every_row_once_in_order_and_gives_the_blocks_of_each_row_alone()
    {
        var generator = new Generator(17);
        using var weight = randn([3000, 512], generator: generator);   // 2,048 rows of 2 KB to a 4 MB chunk: two chunks
        var reported = new List<(long First, long Rows)>();
        using var whole = Q8Weight.Quantize(weight, (first, rows) => reported.Add((first, rows)));

        Assert.Equal([(0L, 2048L), (2048L, 952L)], reported);
        foreach (int row in new[] { 0, 2047, 2048, 2999 })
        {
            using var scope = NewDisposeScope();   // the comparisons' tensors
            using var alone = Q8Weight.Quantize(weight.narrow(0, row, 1));
            using var quants = whole.Quants.narrow(0, row, 1);
            using var scales = whole.Scales.narrow(0, row, 1);
            Assert.True((quants == alone.Quants).all().item<bool>(), $"row {row}'s int8 values");
            Assert.True((scales == alone.Scales).all().item<bool>(), $"row {row}'s scales");
        }
    }

    [Fact]
    public void Q8_0_weights_are_refused_with_4_bit_quantization_and_off_the_cpu_or_fp32()
    {
        string dir = FixtureModel.Get("tiny-llama").Directory;
        Assert.Throws<CheckpointException>(() => ModelLoader.Load(dir, Q8 with { Quantize = FourBitOptions.Nf4 }));
        Assert.Throws<ArgumentException>(() => ModelLoader.Load(dir, Q8 with { DType = ScalarType.BFloat16 }));
    }

    private static IEnumerable<LinearLayer> LinearLayers(CausalLM model) =>
        model.modules().OfType<LinearLayer>();
}
