using System.Diagnostics;
using System.Globalization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Quantization;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>
/// `-- kernels [threads]`: one product at a time on the 124.7M model's shapes (q/o 768 × 768, gate/up 2048 × 768, down
/// 768 × 2048, the head 32000 × 768) for 1 to 512 input rows: F32 row-major on <c>CpuMatVec</c> (libtorch's GEMM where it
/// does not apply, as the model runs them; for a prompt it applies also libtorch's GEMM for comparison), Q8_0 on
/// <c>CpuQ8MatVec</c> (activations quantized inside, as in the model) and, with 512-bit vectors, F32 packed as served
/// (<c>PackedWeight</c>). Median
/// of repeated calls, once on the same weight (which then stays in the L2/L3 cache when it fits) and once cycling over
/// copies of it that add up to 256 MB or more (every weight from DRAM, as in a decode step); GFLOP/s counts 2 per
/// multiply-add.
/// </summary>
internal static class KernelBench
{
    public static void Run(int threads)
    {
        set_num_threads(threads);
        using var noGrad = no_grad();
        manual_seed(11);
        (int Rows, int Columns, string Name)[] shapes = [(768, 768, "q/o"), (2048, 768, "gate/up"), (768, 2048, "down"), (32000, 768, "head")];
        int[] inputRows = [1, 2, 4, 8, 16, 512];
        Console.WriteLine($"kernels, {threads} threads: median ms per product (GFLOP/s)");
        foreach (var (rows, columns, name) in shapes)
        {
            int copies = (int)Math.Max(2, (256L << 20) / (4L * rows * columns));
            var weights = Enumerable.Range(0, copies).Select(_ => randn(rows, columns)).ToArray();
            var q8s = weights.Select(w => Q8Weight.Quantize(w)).ToArray();
            var packs = PackedWeight.Packs(weights[0].shape) ? weights.Select(w => PackedWeight.Pack(w)).ToArray() : null;
            foreach (int n in inputRows)
            {
                using var input = randn(n, columns);
                double flops = 2.0 * n * rows * columns;
                int next = 0;
                double F32(Tensor w)
                {
                    using var y = CpuMatVec.Applies(input, w) ? CpuMatVec.Multiply(input, w, null) : nn.functional.linear(input, w);
                    return 0;
                }
                double Q8(Q8Weight w)
                {
                    using var y = CpuQ8MatVec.Multiply(input, w);
                    return 0;
                }
                double Packed(PackedWeight w)
                {
                    using var y = w.Project(input, null);
                    return 0;
                }
                double f32Cached = Median(() => F32(weights[0])), q8Cached = Median(() => Q8(q8s[0]));
                double f32Dram = Median(() => F32(weights[next++ % copies])), q8Dram = Median(() => Q8(q8s[next++ % copies]));
                string packed = "";
                if (packs is not null)
                {
                    double packedCached = Median(() => Packed(packs[0])), packedDram = Median(() => Packed(packs[next++ % copies]));
                    packed = string.Create(CultureInfo.InvariantCulture,
                        $"   F32 packed {packedCached,7:F3} ({flops / packedCached / 1e6,4:F0}), from DRAM {packedDram,7:F3} ({flops / packedDram / 1e6,4:F0})");
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-8} {rows,5} x {columns,-5} rows {n,3}: F32 {f32Cached,7:F3} ms ({flops / f32Cached / 1e6,4:F0}), from DRAM {f32Dram,7:F3} ({flops / f32Dram / 1e6,4:F0})   Q8_0 {q8Cached,7:F3} ({flops / q8Cached / 1e6,4:F0}), from DRAM {q8Dram,7:F3} ({flops / q8Dram / 1e6,4:F0}){packed}"));
                if (n > CpuMatVec.MaxInputRows && CpuMatVec.Applies(input, weights[0]))
                {
                    double gemm = Median(() => { using var y = nn.functional.linear(input, weights[0]); return 0; });
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{"",-8} {"",5}   {"",-5} rows {n,3}: libtorch's GEMM {gemm,7:F3} ms ({flops / gemm / 1e6,4:F0}), ours above {gemm / f32Cached:F2}x as fast"));
                }
            }
            foreach (var w in weights)
                w.Dispose();
            foreach (var w in q8s)
                w.Dispose();
            foreach (var w in packs ?? [])
                w.Dispose();
        }
    }

    private static double Median(Func<double> call)
    {
        for (int i = 0; i < 3; i++)
            call();
        var times = new List<double>();
        var clock = Stopwatch.StartNew();
        var total = Stopwatch.StartNew();
        while (times.Count < 9 || (total.Elapsed.TotalSeconds < 0.4 && times.Count < 400))
        {
            clock.Restart();
            call();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}
