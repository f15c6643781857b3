using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Decoder;

/// <summary>Our forward pass against llama.cpp's logits for the same weights (all positions, whole vocabulary).</summary>
public class FixtureLogitsTests
{
    /// <summary>Each fixture with its weights as loaded (row-major) and packed for CPU inference (<see cref="PackedWeight"/>: prompts on its kernel).</summary>
    public static TheoryData<string, bool> AllRowMajorAndPacked
    {
        get
        {
            var data = new TheoryData<string, bool>();
            foreach (string model in (string[])FixtureModel.Names)
            {
                data.Add(model, false);
                data.Add(model, true);
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(AllRowMajorAndPacked))]
    public void Every_position_matches_llama_cpp_within_the_fixture_tolerance(string name, bool packed)
    {
        var fixture = FixtureModel.Get(name);
        using var model = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32) { PackedWeights = packed });
        using var expected = SafetensorsFile.Open(fixture.ExpectedLogitsPath);
        using var noGrad = no_grad();
        Assert.Equal(3, fixture.LogitCases.Count);
        foreach (var (ids, tensorName) in fixture.LogitCases)
        {
            using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
            using var logits = model.Forward(input);
            using var reference = expected.Read(tensorName);
            Assert.Equal(new long[] { ids.Length, model.Config.VocabSize }, reference.shape);
            TensorAssert.Close(reference, logits.squeeze(0), fixture.Tolerance, $"{name} {tensorName}");
        }
    }

    /// <summary>
    /// In float64 the cached and the full computation agree to rounding, so ≤ 1e-5 tests the cache logic itself.
    /// In float32 prefill and decode use differently blocked kernels: they agree to a few float32 ulps of the logits (on a
    /// CPU without 512-bit vectors a prompt goes through libtorch's GEMM and a step through CpuMatVec's 256-bit kernel:
    /// tiny-llama's logits measured 1.2e-6 of their magnitude apart).
    /// </summary>
    [Theory]
    [InlineData("tiny-llama", ScalarType.Float64, 1e-5)]
    [InlineData("tiny-qwen2", ScalarType.Float64, 1e-5)]
    [InlineData("tiny-qwen3", ScalarType.Float64, 1e-5)]
    [InlineData("tiny-llama", ScalarType.Float32, 2e-6)]
    [InlineData("tiny-qwen2", ScalarType.Float32, 2e-6)]
    [InlineData("tiny-qwen3", ScalarType.Float32, 2e-6)]
    [InlineData("tiny-glm", ScalarType.Float64, 1e-5)]
    [InlineData("tiny-glm4", ScalarType.Float64, 1e-5)]
    [InlineData("tiny-glm4", ScalarType.Float32, 2e-6)]
    public void Decoding_with_the_cache_token_by_token_equals_the_full_forward(string name, ScalarType dtype, double tolerancePerLogitUnit)
    {
        var fixture = FixtureModel.Get(name);
        using var model = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, dtype));
        int[] ids = fixture.LogitCases.MaxBy(c => c.InputIds.Length).InputIds;
        using var noGrad = no_grad();
        using var all = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
        using var full = model.Forward(all);

        using var cache = model.CreateCache(1, ids.Length);
        const int prefill = 5;
        var pieces = new List<Tensor> { model.Forward(all.narrow(1, 0, prefill), cache) };
        for (int i = prefill; i < ids.Length; i++)
            pieces.Add(model.Forward(all.narrow(1, i, 1), cache));
        using var stepwise = cat(pieces, 1);
        double scale = dtype == ScalarType.Float64 ? 1 : Math.Max(1, TensorAssert.MaxMagnitude(full));
        TensorAssert.Close(full, stepwise, tolerancePerLogitUnit * scale, $"{name} {dtype}");
        Assert.Equal(ids.Length, cache.Length);
        pieces.ForEach(p => p.Dispose());
    }

    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public void A_left_padded_batch_gives_each_sequence_its_own_logits(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var model = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        int[][] prompts = [.. fixture.LogitCases.Select(c => c.InputIds)];
        int longest = prompts.Max(p => p.Length);
        var ids = new long[prompts.Length * longest];
        var mask = new bool[prompts.Length * longest];
        for (int b = 0; b < prompts.Length; b++)
        {
            int pad = longest - prompts[b].Length;
            for (int i = 0; i < prompts[b].Length; i++)
            {
                ids[(b * longest) + pad + i] = prompts[b][i];
                mask[(b * longest) + pad + i] = true;
            }
        }
        using var noGrad = no_grad();
        using var batchIds = tensor(ids, [prompts.Length, longest]);
        using var batchMask = tensor(mask, [prompts.Length, longest]);
        using var cache = model.CreateCache(prompts.Length, longest + 3);
        using var batched = model.Forward(batchIds, cache, batchMask);
        using var next = tensor(new long[] { 7, 8, 9 }, [3, 1]);
        using var batchedNext = model.Forward(next, cache);

        for (int b = 0; b < prompts.Length; b++)
        {
            int n = prompts[b].Length;
            using var alone = tensor([.. prompts[b].Select(i => (long)i), 7 + b], [1, n + 1]);
            using var single = model.Forward(alone);
            // fp32 rounding: a short sequence alone and a long batch take different matmul kernels (CpuMatVec vs libtorch).
            double tolerance = 1e-5 * Math.Max(1, TensorAssert.MaxMagnitude(single));
            TensorAssert.Close(single.narrow(1, 0, n), batched[b].narrow(0, longest - n, n).unsqueeze(0), tolerance, $"{name} prompt {b}");
            TensorAssert.Close(single.narrow(1, n, 1), batchedNext[b].unsqueeze(0), tolerance, $"{name} next token {b}");
        }
    }
}
