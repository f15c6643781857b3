using System.Diagnostics;
using System.Globalization;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>
/// `-- DIR 512 128 THREADS --layouts`: the F32 weights packed for the CPU kernels (as served, <see cref="PackedWeight"/>)
/// against row-major (<see cref="CpuMatVec"/>), both models loaded in one process and run in alternating rounds (the
/// host's speed drifts from one minute to the next): the decode step at 1 and at 8 rows after 64 cached positions, a
/// 512-token prompt and eight 64-token prompts in one pass (the serve bench's prefill). Medians of the rounds' medians,
/// and of the per-round ratios packed / row-major.
/// </summary>
internal static class LayoutBench
{
    private const int Rounds = 21, Steps = 8, Cached = 64;

    public static void Run(string dir, CausalLM packed)
    {
        using var noGrad = no_grad();
        using var rowMajor = ModelLoader.Load(dir, new ModelLoadOptions(CPU, ScalarType.Float32));
        var random = new Random(11);
        var models = new[] { ("packed", packed), ("row-major", rowMajor) };
        var caches = models.Select(m => new[] { 1, 8 }.Select(rows => m.Item2.CreateCache(rows, Cached + (Rounds * Steps) + 8)).ToArray()).ToArray();
        foreach (var (model, rowCaches) in models.Select(m => m.Item2).Zip(caches))
        {
            foreach (var cache in rowCaches)
            {
                using var prompt = tensor([.. Enumerable.Range(0, cache.Batch * Cached).Select(_ => (long)random.Next(3, model.Config.VocabSize))], [cache.Batch, Cached]);
                model.Forward(prompt, cache, lastPositionOnly: true).Dispose();
            }
        }
        string[] parts = ["step 1 row", "step 8 rows", "prefill 512", "prefill 8 x 64"];
        var times = models.Select(_ => parts.Select(_ => new List<double>()).ToArray()).ToArray();
        for (int round = 0; round < Rounds; round++)
        {
            for (int m = 0; m < models.Length; m++)
            {
                var model = models[m].Item2;
                times[m][0].Add(Decode(model, caches[m][0], random));
                times[m][1].Add(Decode(model, caches[m][1], random));
                times[m][2].Add(Prefill(model, 1, 512, random));
                times[m][3].Add(Prefill(model, 8, 64, random));
            }
        }
        foreach (var cache in caches.SelectMany(c => c))
            cache.Dispose();
        for (int p = 0; p < parts.Length; p++)
        {
            var ratios = times[0][p].Select((t, i) => t / times[1][p][i]).Order().ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{parts[p],-15} packed {Stats.Median(times[0][p]):F2} ms, row-major {Stats.Median(times[1][p]):F2} ms; packed / row-major {ratios[Rounds / 2]:F3} (q1 {ratios[Rounds / 4]:F3}, q3 {ratios[3 * Rounds / 4]:F3})"));
        }
    }

    private static double Decode(CausalLM model, KvCache cache, Random random)
    {
        var times = new double[Steps];
        for (int s = 0; s < Steps; s++)
        {
            using var token = tensor([.. Enumerable.Range(0, cache.Batch).Select(_ => (long)random.Next(3, model.Config.VocabSize))], [cache.Batch, 1]);
            long started = Stopwatch.GetTimestamp();
            model.Forward(token, cache, lastPositionOnly: true).Dispose();
            times[s] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        return Stats.Median(times);
    }

    private static double Prefill(CausalLM model, int rows, int tokens, Random random)
    {
        using var cache = model.CreateCache(rows, tokens);
        using var prompt = tensor([.. Enumerable.Range(0, rows * tokens).Select(_ => (long)random.Next(3, model.Config.VocabSize))], [rows, tokens]);
        long started = Stopwatch.GetTimestamp();
        model.Forward(prompt, cache, lastPositionOnly: true).Dispose();
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }
}
