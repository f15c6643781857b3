using FunctionsLlm.Bench;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Tests;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Decoder;

/// <summary>
/// The managed batch-1 decode step against llama.cpp's logits of the fixtures (every position, decoded one token at a
/// time after a short prefill) and against libtorch's path on the same model; models or states it does not handle take
/// libtorch's path.
/// </summary>
public class CpuDecodeStepTests
{
    public static TheoryData<string> Plain => new(["tiny-llama", "tiny-qwen2", "tiny-qwen3"]);

    /// <summary>The plain fixtures with their weights as loaded (row-major) and packed for CPU inference (<see cref="PackedWeight"/>).</summary>
    public static TheoryData<string, bool> PlainRowMajorAndPacked
    {
        get
        {
            var data = new TheoryData<string, bool>();
            foreach (string model in (string[])["tiny-llama", "tiny-qwen2", "tiny-qwen3"])
            {
                data.Add(model, false);
                data.Add(model, true);
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(PlainRowMajorAndPacked))]
    public void Decoding_one_token_at_a_time_gives_llama_cpps_logits(string name, bool packed)
    {
        var fixture = FixtureModel.Get(name);
        using var model = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32) { PackedWeights = packed });
        Assert.Equal(packed && CpuPackedMatVec.Supported, model.modules().OfType<LinearLayer>().All(layer => layer.Packed is not null));
        using var expected = SafetensorsFile.Open(fixture.ExpectedLogitsPath);
        using var noGrad = no_grad();
        foreach (var (ids, tensorName) in fixture.LogitCases)
        {
            using var scope = NewDisposeScope();
            var stepwise = Stepwise(model, ids, prefill: 2, expectManaged: true);
            TensorAssert.Close(expected.Read(tensorName), stepwise, fixture.Tolerance, $"{name} {tensorName}");
        }
    }

    [Theory]
    [MemberData(nameof(Plain))]
    public void The_managed_step_agrees_with_libtorchs_to_fp32_rounding(string name)
    {
        var fixture = FixtureModel.Get(name);
        int[] ids = fixture.LogitCases.MaxBy(c => c.InputIds.Length).InputIds;
        using var model = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var managed = Stepwise(model, ids, prefill: 3, expectManaged: true);
        model.ManagedDecode = false;
        var libtorch = Stepwise(model, ids, prefill: 3, expectManaged: false);
        TensorAssert.Close(libtorch, managed, 1e-5 * Math.Max(1, TensorAssert.MaxMagnitude(libtorch)), name);
    }

    /// <summary>
    /// Heads wider than the fixtures' 16 and 32 lanes (64, 80 = 64 + 16, 128) take the attention's 64-lane value sums and
    /// its eight-key score blocks with a remainder, and groups of 2, 3, 7 and 8 query heads a KV head share each loaded
    /// value in threes, twos and ones: a random Llama of each, 37 positions (blocks of eight and five left), against
    /// libtorch's attention.
    /// </summary>
    [Theory]
    [InlineData(64, 4, 2)]
    [InlineData(80, 4, 2)]
    [InlineData(128, 4, 2)]
    [InlineData(64, 6, 2)]
    [InlineData(80, 7, 1)]
    [InlineData(64, 8, 1)]
    public void Wide_heads_decode_as_libtorchs_attention_does(int headDim, int heads, int kvHeads)
    {
        using var folder = new TempFolder();
        WriteRandomLlama(folder, headDim, heads, kvHeads);
        using var model = ModelLoader.Load(folder, new ModelLoadOptions(CPU, ScalarType.Float32));
        int[] ids = [.. Enumerable.Range(0, 37).Select(i => (i * 7 % 61) + 2)];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var managed = Stepwise(model, ids, prefill: 20, expectManaged: true);
        model.ManagedDecode = false;
        var libtorch = Stepwise(model, ids, prefill: 20, expectManaged: false);
        TensorAssert.Close(libtorch, managed, 1e-5 * Math.Max(1, TensorAssert.MaxMagnitude(libtorch)), $"head_dim {headDim}, {heads} heads over {kvHeads}");
    }

    /// <summary>
    /// Attention keeps a running maximum per query and rescales what it has summed when a block of eight positions raises
    /// it. With weights four times larger the scores span tens of units (most exponentials underflow, the maximum moves
    /// late), and over 100 positions (12 blocks and a tail) the logits are sensitive enough that fp32 roundings grow past
    /// 1e-5 of them in either implementation; so both are held to the same model in fp64 on libtorch's path, and the
    /// managed step's error may be at most 1.5× libtorch's fp32 error (plus 1e-6 of the logits).
    /// </summary>
    [Theory]
    [InlineData(64, 6, 2)]
    [InlineData(80, 7, 1)]
    public void Sharp_attention_over_many_blocks_is_as_accurate_as_libtorchs(int headDim, int heads, int kvHeads)
    {
        using var folder = new TempFolder();
        WriteRandomLlama(folder, headDim, heads, kvHeads, scale: 0.4f);
        int[] ids = [.. Enumerable.Range(0, 101).Select(i => (i * 13 % 61) + 2)];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var model = ModelLoader.Load(folder, new ModelLoadOptions(CPU, ScalarType.Float32));
        var managed = Stepwise(model, ids, prefill: 3, expectManaged: true);
        model.ManagedDecode = false;
        var libtorch = Stepwise(model, ids, prefill: 3, expectManaged: false);
        using var exactModel = ModelLoader.Load(folder, new ModelLoadOptions(CPU, ScalarType.Float64));
        var exact = Stepwise(exactModel, ids, prefill: 3, expectManaged: false).to(ScalarType.Float64);

        double managedError = (managed.to(ScalarType.Float64) - exact).abs().max().item<double>();
        double libtorchError = (libtorch.to(ScalarType.Float64) - exact).abs().max().item<double>();
        double magnitude = exact.abs().max().item<double>();
        Assert.True(managedError <= (1.5 * libtorchError) + (1e-6 * magnitude),
            $"head_dim {headDim}, {heads} heads over {kvHeads}: managed {managedError:E2}, libtorch fp32 {libtorchError:E2} from fp64 (logits up to {magnitude:F1})");
    }

    /// <summary>Two layers, <paramref name="heads"/> query heads over <paramref name="kvHeads"/> KV heads of <paramref name="headDim"/>, 64 ids, weights N(0, <paramref name="scale"/>).</summary>
    private static void WriteRandomLlama(string directory, int headDim, int heads, int kvHeads, float scale = 0.1f)
    {
        var config = RandomLlama.Config.DeepClone().AsObject();
        (config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]) = (96, 160, 2);
        (config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]) = (heads, kvHeads, headDim);
        (config["vocab_size"], config["max_position_embeddings"]) = (64, 128);
        RandomLlama.Write(directory, config, seed: 5, scale: scale);
    }

    /// <summary>
    /// With Q8_0 weights each product quantizes its input, so the two paths' fp32 differences of a few ulps move some
    /// int8 roundings: the managed step is held to llama.cpp's F32 logits within the quantization error instead, as the
    /// whole Q8_0 model is (Q8WeightModelTests).
    /// </summary>
    [Theory]
    [MemberData(nameof(Plain))]
    public void With_q8_0_weights_the_managed_step_is_within_the_quantization_error_of_llama_cpps_f32_logits(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var model = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32) { Q8Weights = true });
        using var expected = SafetensorsFile.Open(fixture.ExpectedLogitsPath);
        using var noGrad = no_grad();
        foreach (var (ids, tensorName) in fixture.LogitCases)
        {
            using var scope = NewDisposeScope();
            var stepwise = Stepwise(model, ids, prefill: 2, expectManaged: ids.Length > 2);
            var reference = expected.Read(tensorName);
            Assert.True((stepwise - reference).abs().max().item<float>() <= 0.05 * reference.abs().max().item<float>(), $"{name} {tensorName}");
        }
    }

    [Theory]
    [InlineData("tiny-qwen2", false, false)]
    [InlineData("tiny-qwen3", true, false)]
    [InlineData("tiny-llama", false, true)]
    public void Rows_of_different_lengths_and_padding_decode_together_to_the_bits_they_get_alone(string name, bool q8, bool packed)
    {
        using var model = ModelLoader.Load(FixtureModel.Get(name).Directory, new ModelLoadOptions(CPU, ScalarType.Float32) { Q8Weights = q8, PackedWeights = packed });
        int[][] prompts = [[5, 17, 300, 42, 9, 88], [7, 3], [401, 22, 19, 250]];
        long[][] next = [[11, 12, 13, 14], [21, 22, 23, 24], [31, 32, 33, 34]];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        // Together: each row prefilled on its own (row 2 with two positions of left padding), then four steps of all rows.
        using var cache = model.CreateCache(3, 16);
        for (int r = 0; r < 3; r++)
        {
            using var row = cache.Rows(r, 1);
            Prefill(model, row, prompts[r], padding: r == 2 ? 2 : 0);
        }
        var step = CpuDecodeStep.For(model)!;
        var together = new List<Tensor>();
        for (int t = 0; t < 4; t++)
        {
            var input = tensor(next.Select(n => n[t]).ToArray(), [3, 1]);
            Assert.True(step.Applies(input, cache, null));
            together.Add(model.Forward(input, cache));
        }

        for (int r = 0; r < 3; r++)
        {
            using var alone = model.CreateCache(1, 16);
            Prefill(model, alone, prompts[r], padding: r == 2 ? 2 : 0);
            for (int t = 0; t < 4; t++)
            {
                var logits = model.Forward(tensor(new[] { next[r][t] }, [1, 1]), alone);
                Assert.True(logits[0].eq(together[t][r]).all().item<bool>(), $"{name} row {r} step {t}");
            }
        }

        // And the libtorch path on the same batch, to fp32 rounding (dense weights only: Q8_0 roundings may move).
        if (!q8)
        {
            model.ManagedDecode = false;
            using var again = model.CreateCache(3, 16);
            for (int r = 0; r < 3; r++)
            {
                using var row = again.Rows(r, 1);
                Prefill(model, row, prompts[r], padding: r == 2 ? 2 : 0);
            }
            for (int t = 0; t < 4; t++)
            {
                var libtorch = model.Forward(tensor(next.Select(n => n[t]).ToArray(), [3, 1]), again);
                TensorAssert.Close(libtorch, together[t], 1e-5 * Math.Max(1, TensorAssert.MaxMagnitude(libtorch)), $"{name} step {t}");
            }
        }
    }

    /// <summary>
    /// A fixture prompt prefilled in chunks (5, 7, then up to 14 tokens a pass) in one row of a ragged pass while two other
    /// rows decode beside it: the chunk row's logits are llama.cpp's at each chunk's last position and, decoded on after
    /// the chunks, at the prompt's last positions; the decoding rows get the bits they get alone.
    /// </summary>
    [Theory]
    [InlineData("tiny-llama", false, false)]
    [InlineData("tiny-qwen2", false, false)]
    [InlineData("tiny-qwen3", true, false)]
    [InlineData("tiny-qwen2", false, true)]
    public void A_prompt_in_chunks_beside_decoding_rows_gives_llama_cpps_logits_and_leaves_their_bits(string name, bool q8, bool packed)
    {
        var fixture = FixtureModel.Get(name);
        var (ids, tensorName) = fixture.LogitCases.MaxBy(c => c.InputIds.Length);
        using var model = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32) { Q8Weights = q8, PackedWeights = packed });
        using var expectedFile = SafetensorsFile.Open(fixture.ExpectedLogitsPath);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var expected = expectedFile.Read(tensorName).reshape(ids.Length, -1);
        // With Q8_0 weights each product quantizes its input: held to the quantization error, as the whole Q8_0 model is.
        double tolerance = q8 ? 0.05 * TensorAssert.MaxMagnitude(expected) : fixture.Tolerance;
        int[][] prompts = [[5, 17, 300, 42], [7, 3, 9]];
        const int decodeAfter = 3;   // the prompt's last ids are decoded one a pass after its chunks

        using var cache = model.CreateCache(3, ids.Length + 32);
        for (int r = 0; r < 2; r++)
        {
            using var row = cache.Rows(r, 1);
            Prefill(model, row, prompts[r], padding: 0);
        }
        var decoded = new List<Tensor>();   // the decoding rows' logits, (2, vocab) a pass
        int done = 0, pass = 0;
        while (done < ids.Length)
        {
            int count = done >= ids.Length - decodeAfter ? 1 : Math.Min(pass switch { 0 => 5, 1 => 7, _ => 14 }, ids.Length - decodeAfter - done);
            int[] counts = [1, 1, count];
            long[] tokens = [100 + pass, 200 + pass, .. ids.Skip(done).Take(count).Select(i => (long)i)];
            Assert.True(model.CanForwardRagged(counts, cache));
            var logits = model.ForwardRagged(tokens, counts, cache);
            done += count;
            TensorAssert.Close(expected[done - 1], logits[2, 0], tolerance, $"{name} after {done} ids");
            decoded.Add(logits.narrow(0, 0, 2).squeeze(1));
            pass++;
        }

        for (int r = 0; r < 2; r++)
        {
            using var alone = model.CreateCache(1, 32);
            Prefill(model, alone, prompts[r], padding: 0);
            for (int t = 0; t < pass; t++)
            {
                var logits = model.Forward(tensor(new long[] { (100 * (r + 1)) + t }, [1, 1]), alone);
                Assert.True(logits[0, 0].eq(decoded[t][r]).all().item<bool>(), $"{name} row {r} pass {t}");
            }
        }
    }

    /// <summary>
    /// A chunk's tokens read their row's keys and values together (bunched with each other's query heads), each over its
    /// own positions: on random Llamas with wide heads and groups of 3, 7 and 2 query heads a KV head, a prompt in chunks of
    /// 5, 13 and 1–15 tokens beside a decoding row gives, at each chunk's last token, the bits that decoding the prompt one
    /// token at a time gives.
    /// </summary>
    [Theory]
    [InlineData(64, 6, 2)]
    [InlineData(80, 7, 1)]
    [InlineData(128, 4, 2)]
    public void A_chunk_of_wide_heads_gives_the_bits_of_decoding_its_tokens_one_at_a_time(int headDim, int heads, int kvHeads)
    {
        using var folder = new TempFolder();
        WriteRandomLlama(folder, headDim, heads, kvHeads);
        using var model = ModelLoader.Load(folder, new ModelLoadOptions(CPU, ScalarType.Float32));
        long[] prompt = [.. Enumerable.Range(0, 60).Select(i => (long)((i * 11 % 61) + 2))];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var alone = model.CreateCache(1, prompt.Length);
        var stepwise = prompt.Select(id => model.Forward(tensor(new[] { id }, [1, 1]), alone)[0, 0]).ToArray();

        using var cache = model.CreateCache(2, prompt.Length + 16);
        using (var row = cache.Rows(0, 1))
            Prefill(model, row, [5, 17, 30], padding: 0);
        int done = 0, pass = 0;
        while (done < prompt.Length)
        {
            int count = Math.Min(pass switch { 0 => 5, 1 => 13, _ => 1 + (pass * 4 % 15) }, prompt.Length - done);
            long[] tokens = [40 + pass, .. prompt.Skip(done).Take(count)];
            Assert.True(model.CanForwardRagged([1, count], cache));
            using var logits = model.ForwardRagged(tokens, [1, count], cache);
            done += count;
            Assert.True(logits[1, 0].eq(stepwise[done - 1]).all().item<bool>(), $"head_dim {headDim}, {heads} heads over {kvHeads}, after {done} ids");
            pass++;
        }
    }

    [Fact]
    public void A_ragged_pass_takes_at_most_16_tokens_at_least_one_per_row_and_no_served_adapters()
    {
        using var model = ModelLoader.Load(FixtureModel.Get("tiny-llama").Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        using var noGrad = no_grad();
        using var cache = model.CreateCache(2, 64);
        Assert.True(model.CanForwardRagged([1, 15], cache));
        Assert.False(model.CanForwardRagged([1, 16], cache));
        Assert.False(model.CanForwardRagged([0, 4], cache));
        Assert.False(model.CanForwardRagged([1, 1, 1], cache));
        Assert.Throws<ArgumentException>(() => model.ForwardRagged([1, 2], [1, 16], cache));
        model.ManagedDecode = false;
        Assert.False(model.CanForwardRagged([1, 1], cache));
    }

    [Fact]
    public void Trained_adapters_masks_glm_layouts_and_bf16_take_libtorchs_path()
    {
        using var glm = ModelLoader.Load(FixtureModel.Get("tiny-glm").Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        Assert.Null(CpuDecodeStep.For(glm));
        using var bf16 = ModelLoader.Load(FixtureModel.Get("tiny-llama").Directory, new ModelLoadOptions(CPU, ScalarType.BFloat16));
        Assert.Null(CpuDecodeStep.For(bf16));

        using var model = ModelLoader.Load(FixtureModel.Get("tiny-llama").Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        var step = CpuDecodeStep.For(model)!;
        using var noGrad = no_grad();
        using var one = tensor(new long[] { 5 }, [1, 1]);
        using (var cache = model.CreateCache(1, 8))
        {
            Assert.True(step.Applies(one, cache, null));
            using var mask = tensor(new[] { true }, [1, 1]);
            Assert.False(step.Applies(one, cache, mask));
        }
        using (var cache = model.CreateCache(17, 8))
        using (var many = zeros([17, 1], ScalarType.Int64))
            Assert.False(step.Applies(many, cache, null));
        LoraInjector.Inject(model, new LoraConfig { R = 2, LoraAlpha = 4, TargetModules = ["q_proj"] });
        using (var cache = model.CreateCache(1, 8))
            Assert.False(step.Applies(one, cache, null));
    }

    /// <summary>Three queries scored against the same eight keys in one pass get the bits each gets alone.</summary>
    [Theory]
    [InlineData(64)]
    [InlineData(128)]
    public unsafe void Three_queries_at_a_time_score_as_each_alone(int headDim)
    {
        var random = new Random(headDim + 1);
        float Spread() => (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-12, 13)));
        for (int trial = 0; trial < 500; trial++)
        {
            var queries = Enumerable.Range(0, 3 * headDim).Select(_ => Spread()).ToArray();
            var keys = Enumerable.Range(0, 8 * headDim).Select(_ => Spread()).ToArray();
            fixed (float* q = queries, k = keys)
            {
                var (first, second, third) = CpuDecodeStep.Dot8Three(q, q + headDim, q + (2 * headDim), k, headDim);
                var together = new[] { first, second, third };
                for (int i = 0; i < 3; i++)
                {
                    var alone = CpuDecodeStep.Dot8(queries.AsSpan(i * headDim, headDim), k, headDim);
                    for (int j = 0; j < 8; j++)
                        Assert.True(BitConverter.SingleToInt32Bits(alone[j]) == BitConverter.SingleToInt32Bits(together[i][j]), $"head_dim {headDim}, trial {trial}, query {i}, key {j}");
                }
            }
        }
    }

    /// <summary>
    /// Attention scores eight keys at a time (one transposed tree for the eight lane sums) against one key at a time, bit
    /// for bit, on values of widely spread magnitudes (a tree pairing other lanes differs in the last bits), and both
    /// against the exact dot product to fp32 rounding.
    /// </summary>
    [Theory]
    [InlineData(64)]
    [InlineData(80)]
    [InlineData(128)]
    public unsafe void Eight_keys_at_a_time_score_as_one_key_at_a_time(int headDim)
    {
        var random = new Random(headDim);
        float Spread() => (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-12, 13)));
        for (int trial = 0; trial < 2000; trial++)
        {
            var q = Enumerable.Range(0, headDim).Select(_ => Spread()).ToArray();
            var keys = Enumerable.Range(0, 8 * headDim).Select(_ => Spread()).ToArray();
            fixed (float* k = keys)
            {
                var eight = CpuDecodeStep.Dot8(q, k, headDim);
                for (int j = 0; j < 8; j++)
                {
                    var key = keys.AsSpan(j * headDim, headDim);
                    float one = CpuDecodeStep.Dot(q, key);
                    Assert.True(BitConverter.SingleToInt32Bits(one) == BitConverter.SingleToInt32Bits(eight[j]), $"head_dim {headDim}, trial {trial}, key {j}: {eight[j]} against {one}");
                    double exact = 0, magnitude = 0;
                    for (int i = 0; i < headDim; i++)
                    {
                        exact += (double)q[i] * key[i];
                        magnitude += Math.Abs((double)q[i] * key[i]);
                    }
                    Assert.True(Math.Abs(exact - one) <= magnitude * headDim * 6e-8, $"head_dim {headDim}, trial {trial}, key {j}: {one} against exact {exact}");
                }
            }
        }
    }

    /// <summary>The prompt into a one-row cache, after <paramref name="padding"/> masked positions.</summary>
    private static void Prefill(CausalLM model, KvCache row, int[] prompt, int padding)
    {
        using var scope = NewDisposeScope();
        var ids = tensor([.. Enumerable.Repeat(0L, padding), .. prompt.Select(i => (long)i)], [1, padding + prompt.Length]);
        var mask = tensor([.. Enumerable.Repeat(false, padding), .. Enumerable.Repeat(true, prompt.Length)], [1, padding + prompt.Length]);
        model.Forward(ids, row, padding > 0 ? mask : null, lastPositionOnly: true);
    }

    /// <summary>Logits (T, vocab): a prefill of the first ids, then one forward per id.</summary>
    private static Tensor Stepwise(CausalLM model, int[] ids, int prefill, bool expectManaged)
    {
        var step = CpuDecodeStep.For(model);
        using var cache = model.CreateCache(1, ids.Length);
        var all = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
        prefill = Math.Min(prefill, ids.Length);
        var pieces = new List<Tensor> { model.Forward(all.narrow(1, 0, prefill), cache) };
        for (int i = prefill; i < ids.Length; i++)
        {
            var input = all.narrow(1, i, 1);
            Assert.Equal(expectManaged, model.ManagedDecode && step is not null && step.Applies(input, cache, null));
            pieces.Add(model.Forward(input, cache));
        }
        return cat(pieces, 1).squeeze(0);
    }
}
