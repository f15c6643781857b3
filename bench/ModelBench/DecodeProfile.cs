using System.Diagnostics;
using System.Globalization;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>
/// Where one batch-1 decode step's time goes (`-- --profile`): the weight matrices alone (read; multiplied by a
/// one-token activation through libtorch three ways and through a managed two-thread mat-vec) against the whole
/// Forward and its non-matmul kernels, at 1 and at the bench's thread count. Decode is bound by reading every weight
/// once per token, so the read time is the floor a decoder can approach.
/// </summary>
internal static class DecodeProfile
{
    private const int Repeats = 15;

    public static void Run(CausalLM model, int threads)
    {
        using var noGrad = no_grad();
        var weights = model.model.layers
            .SelectMany(l => new[] { l.self_attn.q_proj, l.self_attn.k_proj, l.self_attn.v_proj, l.self_attn.o_proj, l.mlp.gate_proj, l.mlp.up_proj,
                l.mlp.gate_up_proj, l.mlp.down_proj }.OfType<nn.Module<Tensor, Tensor>>())
            .Append(model.lm_head!)
            .Select(m => ((LinearLayer)m).weight!)
            .ToList();
        double megabytes = weights.Sum(w => w.numel() * w.element_size()) / 1e6;
        var inputs = weights.Select(w => randn(1, 1, w.shape[1])).ToList();
        var vectors = inputs.Select(x => x.view(-1)).ToList();
        var columns = inputs.Select(x => x.view(-1, 1)).ToList();
        var blocks = weights.Select(w => randn(1, 64, w.shape[1])).ToList();
        using var token = tensor(new long[] { 5 }, [1, 1]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"profile    {weights.Count} weight matrices read per token ({megabytes:F0} MB; token embedding excluded), median (and best) of {Repeats}"));

        foreach (int n in new[] { 1, threads }.Distinct())
        {
            set_num_threads(n);
            Report(n, "read every weight (sum)", megabytes, () => weights.ForEach(w => w.sum().Dispose()));
            Report(n, "F.linear, x (1, 1, in)", megabytes, () =>
            {
                for (int i = 0; i < weights.Count; i++)
                    nn.functional.linear(inputs[i], weights[i]).Dispose();
            });
            Report(n, "mv(W, x), x (in)", megabytes, () =>
            {
                for (int i = 0; i < weights.Count; i++)
                    mv(weights[i], vectors[i]).Dispose();
            });
            Report(n, "matmul(W, x), x (in, 1)", megabytes, () =>
            {
                for (int i = 0; i < weights.Count; i++)
                    matmul(weights[i], columns[i]).Dispose();
            });
            Report(n, "F.linear, 64 tokens (GEMM, for scale)", megabytes, () =>
            {
                for (int i = 0; i < weights.Count; i++)
                    nn.functional.linear(blocks[i], weights[i]).Dispose();
            });
            foreach (var shape in weights.GroupBy(w => (w.shape[0], w.shape[1])))
            {
                var group = shape.ToList();
                double groupMegabytes = group.Sum(w => w.numel() * w.element_size()) / 1e6;
                using var x = randn(1, 1, shape.Key.Item2);
                Report(n, $"  F.linear, {group.Count} × ({shape.Key.Item1}, {shape.Key.Item2})", groupMegabytes, () => group.ForEach(w => nn.functional.linear(x, w).Dispose()));
            }
            // The decoder's kernel (CpuMatVec, reached through LinearLayer.Project for one fp32 row).
            Report(n, "CpuMatVec (LinearLayer.Project), 1 row", megabytes, () =>
            {
                for (int i = 0; i < weights.Count; i++)
                    LinearLayer.Project(vectors[i], weights[i]).Dispose();
            });
            double worst = Enumerable.Range(0, weights.Count).Max(i =>
            {
                using var expected = mv(weights[i], vectors[i]);
                using var actual = LinearLayer.Project(vectors[i], weights[i]);
                using var diff = (expected - actual).abs().max();
                return diff.item<float>();
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"               (CpuMatVec vs mv: max |diff| {worst:E1})"));

            foreach (int past in new[] { 64, 512 })
            {
                using var prompt = randint(3, model.Config.VocabSize, [1, past]);
                using var cache = model.CreateCache(1, past + Repeats + 8);
                model.Forward(prompt, cache, lastPositionOnly: true).Dispose();
                Report(n, $"whole Forward, 1 token, {past} cached", megabytes, () => model.Forward(token, cache, lastPositionOnly: true).Dispose());
            }
            ReportOtherOps(model, n);
            if (n == threads)
            {
                var statistics = TorchSharp.DisposeScopeManager.Statistics;
                using var cache = model.CreateCache(1, 8);
                model.Forward(token, cache, lastPositionOnly: true).Dispose();
                long before = statistics.CreatedInScopeCount + statistics.CreatedOutsideScopeCount;
                model.Forward(token, cache, lastPositionOnly: true).Dispose();
                long created = statistics.CreatedInScopeCount + statistics.CreatedOutsideScopeCount - before;
                using var a = randn(1, 1, model.Config.HiddenSize);
                using var b = randn(1, 1, model.Config.HiddenSize);
                Report(n, "1000 × a.add(b) on (1, 1, hidden)", 0, () =>
                {
                    for (int i = 0; i < 1000; i++)
                        a.add(b).Dispose();
                });
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"               one Forward creates {created} tensors (≈ native ops, views included)"));
            }
        }
        set_num_threads(threads);
        inputs.ForEach(x => x.Dispose());
        blocks.ForEach(x => x.Dispose());
    }

    /// <summary>The non-matmul work of one decode step, per kind, with the shapes and counts the decoder uses (512 cached).</summary>
    private static void ReportOtherOps(CausalLM model, int threads)
    {
        var c = model.Config;
        int layers = c.NumHiddenLayers, groups = c.NumAttentionHeads / c.NumKeyValueHeads;
        var norm = model.model.norm;
        using var x = randn(1, 1, c.HiddenSize);
        using var q = randn(1, c.NumAttentionHeads, 1, c.HeadDim);
        using var folded = randn(1, c.NumKeyValueHeads, groups, c.HeadDim);
        using var keys = randn(1, c.NumKeyValueHeads, 640, c.HeadDim);
        using var values = randn(1, c.NumKeyValueHeads, 640, c.HeadDim);
        using var gate = randn(1, 1, c.IntermediateSize);
        using var up = randn(1, 1, c.IntermediateSize);
        using var rotary = new RotaryEmbedding(c, CPU, ScalarType.Float32);
        using var position = tensor(new long[] { 512 }, [1, 1]);
        var (cos, sin) = rotary.For(position, 512);
        Report(threads, $"  {2 * layers + 1} × RmsNorm (1, 1, hidden)", 0, () =>
        {
            for (int i = 0; i < 2 * layers + 1; i++)
                norm.forward(x).Dispose();
        });
        Report(threads, $"  {2 * layers} × rotary Apply (1, heads, 1, hd)", 0, () =>
        {
            for (int i = 0; i < 2 * layers; i++)
                RotaryEmbedding.Apply(q, cos, sin).Dispose();
        });
        Report(threads, $"  {layers} × SDPA, 513 keys (narrowed)", 0, () =>
        {
            for (int i = 0; i < layers; i++)
            {
                using var k = keys.narrow(2, 0, 513);
                using var v = values.narrow(2, 0, 513);
                nn.functional.scaled_dot_product_attention(folded, k, v).Dispose();
            }
        });
        Report(threads, $"  {layers} × silu·up, 2 residual adds", 0, () =>
        {
            for (int i = 0; i < layers; i++)
            {
                using var hidden = nn.functional.silu(gate);
                hidden.mul_(up);
                (x + x).Dispose();
                (x + x).Dispose();
            }
        });
        cos.Dispose();
        sin.Dispose();
    }

    private static void Report(int threads, string what, double megabytes, Action step)
    {
        step(); // warm-up
        var times = new double[Repeats];
        var clock = new Stopwatch();
        for (int i = 0; i < Repeats; i++)
        {
            clock.Restart();
            step();
            times[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        double median = times[Repeats / 2], best = times[0];
        string bandwidth = megabytes > 0 ? string.Create(CultureInfo.InvariantCulture, $"  ({megabytes / median:F1} GB/s of weights)") : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {threads} thread(s)  {what,-38} {median,6:F1} ms (best {best,5:F1}){bandwidth}"));
    }
}
