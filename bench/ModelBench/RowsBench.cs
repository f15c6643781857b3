using System.Diagnostics;
using System.Globalization;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>
/// `-- DIR 512 128 THREADS --rows [--weights q8_0] [--cached N]`: the decode step alone (CausalLM.Forward of one token per
/// row, after a prompt of N tokens, 64 unless given, in every row) at 1, 2 and 4 to 8 rows, median and p90 of 64 steps, and
/// tokens/s per row count. It separates what the batched step costs from what the serving engine adds around it (bench
/// "serve"); a long prompt shows what attention over a long cache costs.
/// </summary>
internal static class RowsBench
{
    private const int Steps = 64;

    public static void Run(CausalLM model, int threads, int prompt)
    {
        using var noGrad = no_grad();
        var random = new Random(7);
        double single = 0;
        foreach (int rows in new[] { 1, 2, 4, 5, 6, 7, 8 })
        {
            using var cache = model.CreateCache(rows, prompt + Steps + 8);
            long[] ids = [.. Enumerable.Range(0, rows * prompt).Select(_ => (long)random.Next(3, model.Config.VocabSize))];
            using (var input = tensor(ids, [rows, prompt]))
                model.Forward(input, cache, lastPositionOnly: true).Dispose();
            var times = new double[Steps];
            var clock = new Stopwatch();
            for (int s = 0; s < Steps; s++)
            {
                long[] next = [.. Enumerable.Range(0, rows).Select(_ => (long)random.Next(3, model.Config.VocabSize))];
                using var token = tensor(next, [rows, 1]);
                clock.Restart();
                model.Forward(token, cache, lastPositionOnly: true).Dispose();
                times[s] = clock.Elapsed.TotalMilliseconds;
            }
            Array.Sort(times);
            double median = times[Steps / 2], tokensPerSecond = rows * 1000 / times.Average();
            single = rows == 1 ? tokensPerSecond : single;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rows {rows}: median step {median:F1} ms (p90 {times[Steps * 9 / 10]:F1}), {tokensPerSecond:F0} tokens/s = {tokensPerSecond / single:F2}× one row ({threads} threads)"));
        }
    }
}
