using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>
/// `-- DIR 512 128 THREADS --floors [--cached P]`: what bounds a decode step of 8 rows (the serve bench's streams) on
/// this machine, every part measured in one process in alternating rounds (the host's speed drifts ±20–30% from one
/// minute to the next): the decode step itself at 1 and at 8 rows (CausalLM.Forward after P cached positions, 128 unless
/// given: the middle of the serve bench's 64-token prompts and 128 new tokens); the step's products alone (every linear
/// of every layer and the head, in the step's order, on <see cref="CpuMatVec"/> or packed as loaded) at one row with the weights from DRAM
/// (the memory floor: every weight read once) and at 8 rows; every weight streamed once with 8 rows' fused multiply-adds
/// on inputs held in registers (what an 8-row kernel reading its weights as ours does could take at best: its arithmetic
/// hidden under the stream); the machine's fused multiply-add peak on registers (the floor of the 8 rows' arithmetic;
/// <c>kernels</c> gives the kernel's own rate per shape); and what attention reads from the KV cache. An 8-row step can
/// take no less than the larger of its weights' reading and its arithmetic, plus its KV cache's reading: the report
/// gives that floor and the step against it. The products' inputs start on cache lines, as the step's do.
/// </summary>
internal static class FloorBench
{
    private const int Rounds = 7, StepsPerRound = 8, Rows = 8;

    public static unsafe void Run(CausalLM model, int threads, int positions)
    {
        using var noGrad = no_grad();
        var linears = model.model.layers
            .SelectMany(l => new[] { l.self_attn.q_proj, l.self_attn.k_proj, l.self_attn.v_proj, l.self_attn.o_proj,
                l.mlp.gate_up_proj, l.mlp.gate_proj, l.mlp.up_proj, l.mlp.down_proj }.OfType<LinearLayer>())
            .Concat(model.lm_head is LinearLayer head ? [head] : [])   // a tied head (the embedding) is not counted
            .ToList();
        if (linears.Any(l => l.Packed is null && (l.weight is not { } w || w.dtype != ScalarType.Float32)))
            throw new ArgumentException("--floors measures F32 weights (load without --weights q8_0)");
        // A packed weight's floats, read as a row-major one's by the memory lines (the same bytes in another order).
        static Span<byte> Weights(LinearLayer layer) => layer.Packed is { } packed ? packed.Blocks.bytes : layer.weight!.bytes;
        long weightFloats = linears.Sum(l => l.OutFeatures * l.InFeatures);
        int widest = (int)linears.Max(l => Math.Max(l.InFeatures, l.OutFeatures));
        var random = new Random(3);
        var x = new AlignedFloats(Rows * widest);
        var y = new AlignedFloats(Rows * widest);
        var inputs = x.AsSpan();
        for (int i = 0; i < inputs.Length; i++)
            inputs[i] = (float)(random.NextDouble() - 0.5);
        var sinks = new float[Math.Max(1, get_num_threads())];   // one per part CpuMatVec.Split can give

        double Products(int rows)
        {
            long ticks = 0;
            fixed (float* input = x, output = y)
            {
                foreach (var layer in linears)
                {
                    fixed (byte* w = Weights(layer))
                    {
                        long started = Stopwatch.GetTimestamp();
                        if (layer.Packed is { } packed)
                            packed.Multiply(input, rows, output);
                        else
                            CpuMatVec.Multiply(input, rows, (float*)w, (int)layer.OutFeatures, (int)layer.InFeatures, output);
                        ticks += Stopwatch.GetTimestamp() - started;
                    }
                }
            }
            return ticks * 1000.0 / Stopwatch.Frequency;
        }

        // The weights split between the kernel threads as the products split them, each part read as the 8-row tile
        // reads it, hand-offs and all.
        double Streamed()
        {
            long ticks = 0;
            foreach (var layer in linears)
            {
                int rows = (int)layer.OutFeatures, columns = (int)layer.InFeatures;
                var (parts, perPart) = CpuMatVec.Split(rows, columns);
                fixed (byte* w = Weights(layer))
                {
                    nint weights = (nint)w;
                    long started = Stopwatch.GetTimestamp();
                    KernelThreads.Run(parts, part =>
                    {
                        int begin = part * perPart, end = Math.Min(rows, begin + perPart);
                        sinks[part] += EightRowsStreamed((float*)weights, columns, begin, end);
                    });
                    ticks += Stopwatch.GetTimestamp() - started;
                }
            }
            return ticks * 1000.0 / Stopwatch.Frequency;
        }

        using var oneCache = model.CreateCache(1, positions + (Rounds * StepsPerRound) + 16);
        using var eightCache = model.CreateCache(Rows, positions + (Rounds * StepsPerRound) + 16);
        foreach (var (cache, rows) in new[] { (oneCache, 1), (eightCache, Rows) })
        {
            using var prompt = tensor([.. Enumerable.Range(0, rows * positions).Select(_ => (long)random.Next(3, model.Config.VocabSize))], [rows, positions]);
            model.Forward(prompt, cache, lastPositionOnly: true).Dispose();
        }
        double Step(KvCache cache, int rows)
        {
            var times = new double[StepsPerRound];
            for (int s = 0; s < StepsPerRound; s++)
            {
                using var token = tensor([.. Enumerable.Range(0, rows).Select(_ => (long)random.Next(3, model.Config.VocabSize))], [rows, 1]);
                long started = Stopwatch.GetTimestamp();
                model.Forward(token, cache, lastPositionOnly: true).Dispose();
                times[s] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
            return Stats.Median([.. times]);
        }

        var measured = new Dictionary<string, List<double>>();
        void Add(string name, double value) => (measured.TryGetValue(name, out var list) ? list : measured[name] = []).Add(value);
        Products(1);
        for (int round = 0; round < Rounds; round++)
        {
            Add("step 1", Step(oneCache, 1));
            Add("step 8", Step(eightCache, Rows));
            Add("memory", Products(1));
            Add("products", Products(Rows));
            Add("streamed", Streamed());
            Add("peak", FmaPeak(threads) / 1e9);
        }
        double one = Stats.Median(measured["step 1"]), eight = Stats.Median(measured["step 8"]), memory = Stats.Median(measured["memory"]);
        double peak = Stats.Median(measured["peak"]), products = Stats.Median(measured["products"]), streamed = Stats.Median(measured["streamed"]);
        double weightBytes = weightFloats * 4.0, flops = 2.0 * Rows * weightFloats, atPeak = flops / (peak * 1e9) * 1e3;
        var config = model.Config;
        int attended = positions + (Rounds * StepsPerRound / 2);   // the cache grows a position a step: its mean length
        double kvBytes = 2.0 * Rows * config.NumHiddenLayers * config.NumKeyValueHeads * config.HeadDim * 4 * attended;
        double kvTime = kvBytes / (weightBytes / memory);
        double floor = Math.Max(memory, atPeak) + kvTime;
        string Range(string name) => string.Create(CultureInfo.InvariantCulture, $"{measured[name].Min():F2}–{measured[name].Max():F2}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            floors     {linears.Count} products, {weightBytes / 1e6:F0} MB of F32 weights, {threads} threads, {positions} cached positions, {Rounds} rounds alternating, medians (range)
            step       1 row {one:F2} ms ({Range("step 1")}), {Rows} rows {eight:F2} ms ({Range("step 8")}) = {eight / one:F2}× one row's, {Rows * one / eight:F2}× its tokens/s
            memory     the products at 1 row, weights from DRAM: {memory:F2} ms ({Range("memory")}) = {weightBytes / memory / 1e6:F1} GB/s
            products   the same at {Rows} rows: {products:F2} ms ({Range("products")}) = {products / memory:F2}× the memory line
            streamed   every weight from DRAM once, {Rows} rows' FMAs on inputs in registers (the best such a kernel could do): {streamed:F2} ms ({Range("streamed")}) = {streamed / memory:F2}×
            FMA peak   registers only: {peak:F0} GFLOP/s ({Range("peak")}) → {Rows} rows' arithmetic at peak {atPeak:F2} ms
            KV cache   attention at {Rows} rows over {attended} positions (the mean) reads {kvBytes / 1e6:F1} MB a step = {kvTime:F2} ms at the memory's rate
            floor      of an {Rows}-row step: max(memory, arithmetic at peak) + KV cache = {floor:F2} ms = {floor / one:F2}× the one-row step; the {Rows}-row step is {eight / floor:F2}× its floor, the one-row step {one / (memory + (kvTime / Rows)):F2}× its own
            """));
    }

    /// <summary>
    /// Rows [<paramref name="begin"/>, <paramref name="end"/>) read as <see cref="CpuMatVec"/>'s 5–8-row tile reads them
    /// (three streams from the range's thirds, each asked for 2 KB ahead), eight FMAs per weight vector against fixed
    /// vectors into sixteen chains (the third stream's into half of each set); the sum is returned so that the work stays.
    /// 512-bit CPUs only (else 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe float EightRowsStreamed(float* w, int columns, int begin, int end)
    {
        if (!Vector512.IsHardwareAccelerated)
            return 0;
        var (x0, x1, x2, x3) = (Vector512.Create(0.1f), Vector512.Create(0.2f), Vector512.Create(0.3f), Vector512.Create(0.4f));
        var (x4, x5, x6, x7) = (Vector512.Create(0.5f), Vector512.Create(0.6f), Vector512.Create(0.7f), Vector512.Create(0.8f));
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
        int third = (end - begin) / 3, vectors = columns / 16;
        for (int r = begin; r < begin + third; r++)
        {
            float* w0 = w + ((long)r * columns), w1 = w0 + ((long)third * columns), w2 = w1 + ((long)third * columns);
            for (int k = 0; k < vectors; k++, w0 += 16, w1 += 16, w2 += 16)
            {
                Sse.Prefetch0(w0 + 512);
                Sse.Prefetch0(w1 + 512);
                Sse.Prefetch0(w2 + 512);
                var (v0, v1, v2) = (Vector512.Load(w0), Vector512.Load(w1), Vector512.Load(w2));
                (a0, a1, a2, a3) = (Vector512.FusedMultiplyAdd(v0, x0, a0), Vector512.FusedMultiplyAdd(v0, x1, a1), Vector512.FusedMultiplyAdd(v0, x2, a2), Vector512.FusedMultiplyAdd(v0, x3, a3));
                (a4, a5, a6, a7) = (Vector512.FusedMultiplyAdd(v0, x4, a4), Vector512.FusedMultiplyAdd(v0, x5, a5), Vector512.FusedMultiplyAdd(v0, x6, a6), Vector512.FusedMultiplyAdd(v0, x7, a7));
                (b0, b1, b2, b3) = (Vector512.FusedMultiplyAdd(v1, x0, b0), Vector512.FusedMultiplyAdd(v1, x1, b1), Vector512.FusedMultiplyAdd(v1, x2, b2), Vector512.FusedMultiplyAdd(v1, x3, b3));
                (b4, b5, b6, b7) = (Vector512.FusedMultiplyAdd(v1, x4, b4), Vector512.FusedMultiplyAdd(v1, x5, b5), Vector512.FusedMultiplyAdd(v1, x6, b6), Vector512.FusedMultiplyAdd(v1, x7, b7));
                (a0, a1, a2, a3) = (Vector512.FusedMultiplyAdd(v2, x0, a0), Vector512.FusedMultiplyAdd(v2, x1, a1), Vector512.FusedMultiplyAdd(v2, x2, a2), Vector512.FusedMultiplyAdd(v2, x3, a3));
                (b4, b5, b6, b7) = (Vector512.FusedMultiplyAdd(v2, x4, b4), Vector512.FusedMultiplyAdd(v2, x5, b5), Vector512.FusedMultiplyAdd(v2, x6, b6), Vector512.FusedMultiplyAdd(v2, x7, b7));
            }
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7);
    }

    /// <summary>Fused multiply-adds on registers only (12 independent chains a thread), on every kernel thread: FLOP/s.</summary>
    private static double FmaPeak(int threads)
    {
        const int Iterations = 2_000_000;
        long started = Stopwatch.GetTimestamp();
        var sinks = new float[threads];
        KernelThreads.Run(threads, part => sinks[part] = Vector512.IsHardwareAccelerated ? Chains512(Iterations) : Chains256(Iterations));
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        int lanes = Vector512.IsHardwareAccelerated ? 16 : 8;
        return threads * (double)Iterations * 12 * lanes * 2 / seconds;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains512(int iterations)
    {
        var m = Vector512.Create(0.999f);
        var a = Vector512.Create(0.001f);
        Vector512<float> c0 = Vector512.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < iterations; i++)
        {
            (c0, c1, c2, c3) = (Vector512.FusedMultiplyAdd(c0, m, a), Vector512.FusedMultiplyAdd(c1, m, a), Vector512.FusedMultiplyAdd(c2, m, a), Vector512.FusedMultiplyAdd(c3, m, a));
            (c4, c5, c6, c7) = (Vector512.FusedMultiplyAdd(c4, m, a), Vector512.FusedMultiplyAdd(c5, m, a), Vector512.FusedMultiplyAdd(c6, m, a), Vector512.FusedMultiplyAdd(c7, m, a));
            (c8, c9, c10, c11) = (Vector512.FusedMultiplyAdd(c8, m, a), Vector512.FusedMultiplyAdd(c9, m, a), Vector512.FusedMultiplyAdd(c10, m, a), Vector512.FusedMultiplyAdd(c11, m, a));
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains256(int iterations)
    {
        var m = Vector256.Create(0.999f);
        var a = Vector256.Create(0.001f);
        Vector256<float> c0 = Vector256.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < iterations; i++)
        {
            (c0, c1, c2, c3) = (Vector256.FusedMultiplyAdd(c0, m, a), Vector256.FusedMultiplyAdd(c1, m, a), Vector256.FusedMultiplyAdd(c2, m, a), Vector256.FusedMultiplyAdd(c3, m, a));
            (c4, c5, c6, c7) = (Vector256.FusedMultiplyAdd(c4, m, a), Vector256.FusedMultiplyAdd(c5, m, a), Vector256.FusedMultiplyAdd(c6, m, a), Vector256.FusedMultiplyAdd(c7, m, a));
            (c8, c9, c10, c11) = (Vector256.FusedMultiplyAdd(c8, m, a), Vector256.FusedMultiplyAdd(c9, m, a), Vector256.FusedMultiplyAdd(c10, m, a), Vector256.FusedMultiplyAdd(c11, m, a));
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}
