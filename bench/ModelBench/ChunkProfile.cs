using System.Diagnostics;
using System.Globalization;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>
/// Where a prefill chunk's time goes: one row's prompt of N ids prefilled in chunks of each size, timing every chunk's
/// forward pass, reported by cached length. With more than one cache row the other rows decode a token between chunks,
/// as in the engine, and then 300 plain decode steps show the spread of a step's time (and the collections meanwhile).
/// </summary>
internal static class ChunkProfile
{
    public static void Run(string dir, int promptTokens, int threads, int[] chunks, int cacheRows)
    {
        set_num_threads(threads);
        using var model = ModelLoader.Load(dir, new ModelLoadOptions(CPU, ScalarType.Float32));
        var random = new Random(42);
        long[] ids = [.. Enumerable.Range(0, promptTokens).Select(_ => (long)random.Next(3, (int)model.Config.VocabSize))];
        using var noGrad = no_grad();
        foreach (int chunk in chunks)
        {
            // The prompt in the last row of a cache of cacheRows, as the engine prefills it next to the decoding rows.
            using var all = model.CreateCache(cacheRows, promptTokens + 16);
            using var cache = all.Rows(cacheRows - 1, 1);
            var times = new List<(int At, double Ms)>();
            var steps = new List<double>();
            // With more than one row, the other rows decode one token each between chunks, as in the engine.
            using var decoding = cacheRows > 1 ? all.Rows(0, cacheRows - 1) : null;
            if (decoding is not null)
            {
                using var scope = NewDisposeScope();
                model.Forward(tensor(ids.Take(32 * (cacheRows - 1)).ToArray(), [cacheRows - 1, 32], ScalarType.Int64), decoding, lastPositionOnly: true);
            }
            for (int done = 0; done < promptTokens; done += chunk)
            {
                int count = Math.Min(chunk, promptTokens - done);
                using var scope = NewDisposeScope();
                if (decoding is not null)
                {
                    var step = Stopwatch.StartNew();
                    model.Forward(tensor(ids.Take(cacheRows - 1).ToArray(), [cacheRows - 1, 1], ScalarType.Int64), decoding, lastPositionOnly: true);
                    steps.Add(step.Elapsed.TotalMilliseconds);
                }
                var input = tensor(ids.Skip(done).Take(count).ToArray(), [1, count], ScalarType.Int64);
                var clock = Stopwatch.StartNew();
                model.Forward(input, cache, lastPositionOnly: true);
                times.Add((done, clock.Elapsed.TotalMilliseconds));
            }
            if (decoding is not null)
            {
                // Plain decode steps afterwards: their spread, and the collections the runtime made meanwhile.
                var plain = new List<double>();
                List<double> withGc = [], withoutGc = [];
                int[] collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
                for (int i = 0; i < 300; i++)
                {
                    using var scope = NewDisposeScope();
                    int before = GC.CollectionCount(0);
                    var step = Stopwatch.StartNew();
                    model.Forward(tensor(ids.Take(cacheRows - 1).ToArray(), [cacheRows - 1, 1], ScalarType.Int64), decoding, lastPositionOnly: true);
                    plain.Add(step.Elapsed.TotalMilliseconds);
                    (GC.CollectionCount(0) != before ? withGc : withoutGc).Add(step.Elapsed.TotalMilliseconds);
                }
                double Median(List<double> l) => l.Count == 0 ? double.NaN : l.Order().ElementAt(l.Count / 2);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  steps with a collection: {withGc.Count}, median {Median(withGc):F0} ms, max {(withGc.Count == 0 ? 0 : withGc.Max()):F0}; without: {withoutGc.Count}, median {Median(withoutGc):F0} ms, max {(withoutGc.Count == 0 ? 0 : withoutGc.Max()):F0}"));
                var p = plain.Order().ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  300 plain decode steps: median {p[150]:F0} ms, p95 {p[284]:F0} ms, p99 {p[296]:F0} ms, max {p[^1]:F0} ms; GCs gen0/1/2: {GC.CollectionCount(0) - collections[0]}/{GC.CollectionCount(1) - collections[1]}/{GC.CollectionCount(2) - collections[2]}"));
            }
            if (steps.Count > 0)
            {
                var sorted = steps.Order().ToArray();
                var withChunk = steps.Zip(times, (a, b) => a + b.Ms).Order().ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  decode step of {cacheRows - 1} rows: median {sorted[sorted.Length / 2]:F0} ms; step + chunk median {withChunk[withChunk.Length / 2]:F0} ms, p95 {withChunk[(int)(withChunk.Length * 0.95)]:F0} ms, max {withChunk[^1]:F0} ms"));
            }
            string At(int from, int to)
            {
                var part = times.Where(t => t.At >= from && t.At < to).Select(t => t.Ms).ToList();
                return part.Count == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{part.Average():F0} ms ({part.Average() / chunk:F2} ms/token)");
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"chunk {chunk,4}, row {cacheRows - 1} of {cacheRows}: total {times.Sum(t => t.Ms) / 1000:F2} s; a chunk after 0-256 cached {At(0, 256)}, 896-1152 {At(896, 1152)}, 1664-2000 {At(1664, 2000)}"));
        }
    }
}
