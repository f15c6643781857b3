using System.Diagnostics;
using System.Globalization;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>
/// `-- DIR 512 128 THREADS --ragged`: what a prompt's chunk adds to a decode step it rides along with
/// (<c>CausalLM.ForwardRagged</c>): 4 rows decoding after 64-token prompts, and a fifth row holding 1,000 cached prompt
/// positions takes 0 to 12 more tokens in the same pass. Median of 16 passes per chunk size.
/// </summary>
internal static class RaggedBench
{
    public static void Run(CausalLM model)
    {
        using var noGrad = no_grad();
        var random = new Random(5);
        long Id() => random.Next(3, model.Config.VocabSize);
        const int decoding = 4, cached = 1000, passes = 16;
        foreach (int chunk in new[] { 0, 1, 2, 4, 8, 12 })
        {
            using var cache = model.CreateCache(decoding + 1, cached + 64 + (passes * 16));
            using (var rows = cache.Rows(0, decoding))
            using (var prompts = tensor(Enumerable.Range(0, decoding * 64).Select(_ => Id()).ToArray(), [decoding, 64]))
                model.Forward(prompts, rows, lastPositionOnly: true).Dispose();
            using (var row = cache.Rows(decoding, 1))
            using (var prompt = tensor(Enumerable.Range(0, cached).Select(_ => Id()).ToArray(), [1, cached]))
                model.Forward(prompt, row, lastPositionOnly: true).Dispose();
            var times = new double[passes];
            for (int p = 0; p < passes; p++)
            {
                int[] counts = chunk == 0 ? [.. Enumerable.Repeat(1, decoding)] : [.. Enumerable.Repeat(1, decoding), chunk];
                long[] tokens = [.. Enumerable.Range(0, counts.Sum()).Select(_ => Id())];
                using var view = cache.Rows(0, counts.Length);
                var clock = Stopwatch.StartNew();
                model.ForwardRagged(tokens, counts, view).Dispose();
                times[p] = clock.Elapsed.TotalMilliseconds;
            }
            Array.Sort(times);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ragged: {decoding} decoding rows + a chunk of {chunk,2} tokens after {cached} cached: median {times[passes / 2],6:F1} ms (p90 {times[passes * 9 / 10]:F1})"));
        }
    }
}
