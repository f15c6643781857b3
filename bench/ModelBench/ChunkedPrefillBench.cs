using System.Diagnostics;
using System.Globalization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>
/// Chunked prefill (issue 21): N streams decode; once each has a few tokens, a long prompt arrives. The streams'
/// inter-token gaps while it is prefilled (from its submission to its first token) are compared with their median gap,
/// for each chunk size (the prompt's length or more: no chunking, the whole prompt in one pass).
/// </summary>
internal static class ChunkedPrefillBench
{
    public static async Task RunAsync(string dir, int streams, int longPrompt, int threads, string[] configurations)
    {
        ServeBench.BorrowTokenizer(dir);
        set_num_threads(threads);
        var greedy = SamplingOptions.Greedy with { StopTokenIds = [] };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"model {dir}: {threads} threads, {streams} streams decoding (prompts of 32 ids), a prompt of {longPrompt} ids arriving"));
        foreach (string configuration in configurations)
        {
            // CHUNK or CHUNK:STALL (EngineOptions.PrefillChunkTokens and PrefillChunkStall; 0 stall = fixed chunks)
            string[] parts = configuration.Split(':');
            int chunk = int.Parse(parts[0], CultureInfo.InvariantCulture);
            double stall = parts.Length > 1 ? double.Parse(parts[1], CultureInfo.InvariantCulture) : new EngineOptions().PrefillChunkStall;
            var options = new EngineOptions
            {
                MaxConcurrentSequences = streams + 1, ContextLength = longPrompt + 16, MaxTokensCap = 1024, PrefillChunkTokens = chunk, PrefillChunkStall = stall,
            };
            using var engine = new InferenceEngine(ServedModel.Load(dir, "bench", new ModelLoadOptions(CPU, ScalarType.Float32)), options);
            await engine.Submit(ServeBench.Prompt(99, 32, engine), greedy with { MaxTokens = 4 }).Completion;   // warm-up
            var clock = Stopwatch.StartNew();
            var times = Enumerable.Range(0, streams).Select(_ => new List<double>()).ToArray();
            var decoding = Enumerable.Range(0, streams).Select(async i =>
            {
                var stream = engine.Submit(ServeBench.Prompt(i + 1, 32, engine), greedy with { MaxTokens = 1024 - 32, TopLogprobs = 0 });
                await foreach (var _ in stream.ReadAllAsync())
                {
                    lock (times[i])
                        times[i].Add(clock.Elapsed.TotalSeconds);
                    if (times[i].Count == 400)
                        break;
                }
            }).ToArray();
            while (times.Any(t => { lock (t) return t.Count < 40; }))
                await Task.Delay(5);
            double submitted = clock.Elapsed.TotalSeconds;
            var stopwatch = Stopwatch.StartNew();
            int[] collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
            var paused = GC.GetTotalPauseDuration();
            await engine.Submit(ServeBench.Prompt(500, longPrompt, engine), greedy with { MaxTokens = 1 }).Completion;
            double prefill = stopwatch.Elapsed.TotalSeconds;
            // Collections during the prefill (of gen 0 and up, gen 1 and up, gen 2) and the time the runtime held threads for them.
            string gcs = string.Create(CultureInfo.InvariantCulture,
                $"{GC.CollectionCount(0) - collections[0]}/{GC.CollectionCount(1) - collections[1]}/{GC.CollectionCount(2) - collections[2]}, paused {(GC.GetTotalPauseDuration() - paused).TotalMilliseconds:F0} ms");
            double firstToken = submitted + prefill;
            await Task.WhenAll(decoding);

            var gaps = times.SelectMany(t => t.Zip(t.Skip(1), (a, b) => (At: b, Gap: b - a))).ToList();
            var outside = gaps.Where(g => g.At < submitted || g.At > firstToken + 0.5).Select(g => g.Gap).ToList();
            double median = Percentile(outside, 0.5);
            double outsideP99 = Percentile(outside, 0.99);
            // Gaps that overlap the prefill: they end after the long prompt arrived and began before its first token.
            var during = gaps.Where(g => g.At > submitted && g.At - g.Gap < firstToken).Select(g => g.Gap).ToList();
            double p99 = during.Count == 0 ? double.NaN : Percentile(during, 0.99);
            double p95 = during.Count == 0 ? double.NaN : Percentile(during, 0.95);
            int over = during.Count(g => g > 3 * median);
            double longest = during.Count == 0 ? double.NaN : during.Max();
            var worst = gaps.Where(g => g.At > submitted && g.At - g.Gap < firstToken).OrderByDescending(g => g.Gap).Take(6)
                .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Gap * 1000:F0} ms at {(g.At - submitted) * 1000:F0}"));
            Console.WriteLine($"  longest gaps (ms after the prompt arrived): {string.Join(", ", worst)}; collections during the prefill (gen 0/1/2): {gcs}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"chunk {chunk,5}, stall {stall,3}: prefill of {longPrompt} tokens {prefill:F2} s; inter-token median {median * 1000:F0} ms (p99 {outsideP99 * 1000:F0} ms) outside the prefill; during the prefill median {Percentile(during, 0.5) * 1000:F0} ms, p95 {p95 * 1000:F0} ms = {p95 / median:F1}×, p99 {p99 * 1000:F0} ms = {p99 / median:F1}× (longest {longest * 1000:F0} ms; {over} of {during.Count} gaps over 3× the median)"));
        }
    }

    private static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[(int)Math.Min(sorted.Length - 1, Math.Ceiling(p * sorted.Length) - 1)];
    }
}
