using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace FunctionsLlm.Bench;

/// <summary>
/// `-- repack [rows] [columns]`: a probe for issue 21's layout question. Products of 1, 8 and 512 input rows against weights
/// from DRAM (copies adding up to 384 MB, cycled), row-major through <c>CpuMatVec</c> against the same weights repacked
/// as [rows / 16][columns][16], where a 512-bit vector holds sixteen output rows: each input broadcast into the FMAs, no
/// horizontal sums, no staging (a plain kernel here: three blocks of sixteen rows times eight inputs, 24 accumulators,
/// each stream asked for 2 KB ahead; for one row four blocks, nothing asked for ahead, as CpuMatVec's one-row kernel;
/// for a prompt the 8-row kernel over panels of 96 rows, without prefetches). In-process, alternating, 41 rounds of 20 products each,
/// medians of the per-round ratios. AVX-512 only; the sums' order differs from CpuMatVec's, so the outputs are compared
/// for closeness, not bits.
/// </summary>
internal static unsafe class RepackProbe
{
    private const int Prompt = 512;

    public static void Run(int rows, int columns)
    {
        if (!Vector512.IsHardwareAccelerated || rows % 16 != 0)
        {
            Console.WriteLine("repack: needs 512-bit vectors and rows in multiples of 16");
            return;
        }
        set_num_threads(2);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();   // the weights' copies
        int copies = (int)Math.Max(2, (384L << 20) / (4L * rows * columns));
        var weights = Enumerable.Range(0, copies).Select(_ => randn(rows, columns)).ToArray();
        var packed = weights.Select(w => Pack(w, rows, columns)).ToArray();
        var x = new AlignedFloats(Prompt * columns);
        var rnd = new Random(1);
        for (int i = 0; i < Prompt * columns; i++) x.AsSpan()[i] = (float)rnd.NextDouble() - 0.5f;
        var y = new AlignedFloats(Prompt * rows);
        var y2 = new AlignedFloats(Prompt * rows);
        foreach (int n in new[] { 1, 8, Prompt })
        {
            // Check: the repacked product against the row-major one (different summation order: close, not equal).
            fixed (byte* w0 = weights[0].bytes)
            fixed (float* xp = x, yp = y, y2p = y2)
            {
                CpuMatVec.Multiply(xp, n, (float*)w0, rows, columns, yp);
                Packed(xp, n, packed[0].Pointer, rows, columns, y2p);
                double err = 0;
                for (int i = 0; i < n * rows; i++) err = Math.Max(err, Math.Abs(yp[i] - y2p[i]));
                Console.WriteLine($"rows {n}: max |row-major - repacked| {err:E2}");
            }
            var a = new List<double>(); var b = new List<double>();
            int next = 0;
            for (int round = 0; round < 41; round++)
            {
                var ta = new List<double>(); var tb = new List<double>();
                for (int k = 0; k < 20; k++)
                {
                    int c = next++ % copies;
                    fixed (byte* w = weights[c].bytes)
                    fixed (float* xp = x, yp = y)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        CpuMatVec.Multiply(xp, n, (float*)w, rows, columns, yp);
                        ta.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    }
                    c = next++ % copies;
                    fixed (float* xp = x, yp = y)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        Packed(xp, n, packed[c].Pointer, rows, columns, yp);
                        tb.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    }
                }
                ta.Sort(); tb.Sort();
                a.Add(ta[ta.Count / 2]); b.Add(tb[tb.Count / 2]);
            }
            var ratio = a.Select((v, i) => b[i] / v).OrderBy(v => v).ToList();
            a.Sort(); b.Sort();
            Console.WriteLine($"rows {n}: row-major {a[20]:F4} ms, repacked {b[20]:F4} ms, repacked/row-major median {ratio[20]:F3} (q1 {ratio[10]:F3}, q3 {ratio[30]:F3})");
        }
    }

    // AlignedFloats is pinned, so its address stays valid outside the fixed block.
    private sealed class PackedWeight(AlignedFloats floats)
    {
        public float* Pointer
        {
            get
            {
                fixed (float* p = floats)
                    return p;
            }
        }
    }

    private static PackedWeight Pack(Tensor w, int rows, int columns)
    {
        var p = new AlignedFloats(rows * columns);
        var src = w.data<float>().ToArray();
        var dst = p.AsSpan();
        for (int b = 0; b < rows / 16; b++)
            for (int c = 0; c < columns; c++)
                for (int l = 0; l < 16; l++)
                    dst[(((b * columns) + c) * 16) + l] = src[((b * 16) + l) * columns + c];
        return new PackedWeight(p);
    }

    // y (n, rows) = x (n, columns) W^T, W repacked; blocks of 16 rows split over two threads.
    private static void Packed(float* x, int n, float* w, int rows, int columns, float* y)
    {
        int blocks = rows / 16, per = (blocks + 1) / 2;
        nint xp = (nint)x, wp = (nint)w, yp = (nint)y;
        KernelThreads.Run(2, t =>
        {
            int from = t * per, to = Math.Min(blocks, from + per);
            if (n == 1)
            {
                One((float*)xp, (float*)wp, columns, rows, (float*)yp, from, to);
            }
            else if (n == 8)
            {
                Eight((float*)xp, (float*)wp, columns, rows, (float*)yp, from, to);
            }
            else
            {
                // A prompt: panels of six blocks (96 rows) stay in L2 while every block of eight input rows passes.
                for (int first = from; first < to; first += 6)
                {
                    for (int i = 0; i + 8 <= n; i += 8)
                        Eight((float*)xp + ((long)i * columns), (float*)wp, columns, rows, (float*)yp + ((long)i * rows), first, Math.Min(to, first + 6), prefetch: false);
                }
            }
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void One(float* x, float* w, int columns, int rows, float* y, int from, int to)
    {
        int quarter = (to - from) / 4;
        for (int q = 0; q < quarter; q++)
        {
            int b0 = from + q, b1 = b0 + quarter, b2 = b1 + quarter, b3 = b2 + quarter;
            float* p0 = w + ((long)b0 * columns * 16), p1 = w + ((long)b1 * columns * 16), p2 = w + ((long)b2 * columns * 16), p3 = w + ((long)b3 * columns * 16);
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int c = 0; c < columns; c++)
            {

                var xv = Vector512.Create(x[c]);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(p0), xv, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(p1), xv, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(p2), xv, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(p3), xv, a3);
                p0 += 16; p1 += 16; p2 += 16; p3 += 16;
            }
            a0.Store(y + (b0 * 16)); a1.Store(y + (b1 * 16)); a2.Store(y + (b2 * 16)); a3.Store(y + (b3 * 16));
        }
        for (int b = from + (4 * quarter); b < to; b++)
        {
            float* p = w + ((long)b * columns * 16);
            Vector512<float> a = default;
            for (int c = 0; c < columns; c++, p += 16)
                a = Vector512.FusedMultiplyAdd(Vector512.Load(p), Vector512.Create(x[c]), a);
            a.Store(y + (b * 16));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Eight(float* x, float* w, int columns, int rows, float* y, int from, int to, bool prefetch = true)
    {
        int third = (to - from) / 3;
        nint s = columns;
        for (int q = 0; q < third; q++)
        {
            int b0 = from + q, b1 = b0 + third, b2 = b1 + third;
            float* p0 = w + ((long)b0 * columns * 16), p1 = w + ((long)b1 * columns * 16), p2 = w + ((long)b2 * columns * 16);
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            Vector512<float> b0v = default, b1v = default, b2v = default, b3v = default, b4v = default, b5v = default, b6v = default, b7v = default;
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
            float* xc = x;
            for (int c = 0; c < columns; c++, xc++)
            {
                if (prefetch) { Sse.Prefetch0(p0 + 512); Sse.Prefetch0(p1 + 512); Sse.Prefetch0(p2 + 512); }
                var v0 = Vector512.Load(p0); var v1 = Vector512.Load(p1); var v2 = Vector512.Load(p2);
                var xv = Vector512.Create(xc[0]);
                a0 = Vector512.FusedMultiplyAdd(v0, xv, a0); b0v = Vector512.FusedMultiplyAdd(v1, xv, b0v); c0 = Vector512.FusedMultiplyAdd(v2, xv, c0);
                xv = Vector512.Create(xc[s]);
                a1 = Vector512.FusedMultiplyAdd(v0, xv, a1); b1v = Vector512.FusedMultiplyAdd(v1, xv, b1v); c1 = Vector512.FusedMultiplyAdd(v2, xv, c1);
                xv = Vector512.Create(xc[2 * s]);
                a2 = Vector512.FusedMultiplyAdd(v0, xv, a2); b2v = Vector512.FusedMultiplyAdd(v1, xv, b2v); c2 = Vector512.FusedMultiplyAdd(v2, xv, c2);
                xv = Vector512.Create(xc[3 * s]);
                a3 = Vector512.FusedMultiplyAdd(v0, xv, a3); b3v = Vector512.FusedMultiplyAdd(v1, xv, b3v); c3 = Vector512.FusedMultiplyAdd(v2, xv, c3);
                xv = Vector512.Create(xc[4 * s]);
                a4 = Vector512.FusedMultiplyAdd(v0, xv, a4); b4v = Vector512.FusedMultiplyAdd(v1, xv, b4v); c4 = Vector512.FusedMultiplyAdd(v2, xv, c4);
                xv = Vector512.Create(xc[5 * s]);
                a5 = Vector512.FusedMultiplyAdd(v0, xv, a5); b5v = Vector512.FusedMultiplyAdd(v1, xv, b5v); c5 = Vector512.FusedMultiplyAdd(v2, xv, c5);
                xv = Vector512.Create(xc[6 * s]);
                a6 = Vector512.FusedMultiplyAdd(v0, xv, a6); b6v = Vector512.FusedMultiplyAdd(v1, xv, b6v); c6 = Vector512.FusedMultiplyAdd(v2, xv, c6);
                xv = Vector512.Create(xc[7 * s]);
                a7 = Vector512.FusedMultiplyAdd(v0, xv, a7); b7v = Vector512.FusedMultiplyAdd(v1, xv, b7v); c7 = Vector512.FusedMultiplyAdd(v2, xv, c7);
                p0 += 16; p1 += 16; p2 += 16;
            }
            float* y0 = y + (b0 * 16), y1 = y + (b1 * 16), y2 = y + (b2 * 16);
            a0.Store(y0); a1.Store(y0 + rows); a2.Store(y0 + (2 * rows)); a3.Store(y0 + (3 * rows)); a4.Store(y0 + (4 * rows)); a5.Store(y0 + (5 * rows)); a6.Store(y0 + (6 * rows)); a7.Store(y0 + (7 * rows));
            b0v.Store(y1); b1v.Store(y1 + rows); b2v.Store(y1 + (2 * rows)); b3v.Store(y1 + (3 * rows)); b4v.Store(y1 + (4 * rows)); b5v.Store(y1 + (5 * rows)); b6v.Store(y1 + (6 * rows)); b7v.Store(y1 + (7 * rows));
            c0.Store(y2); c1.Store(y2 + rows); c2.Store(y2 + (2 * rows)); c3.Store(y2 + (3 * rows)); c4.Store(y2 + (4 * rows)); c5.Store(y2 + (5 * rows)); c6.Store(y2 + (6 * rows)); c7.Store(y2 + (7 * rows));
        }
        for (int b = from + (3 * third); b < to; b++)
        {
            float* p = w + ((long)b * columns * 16);
            for (int i = 0; i < 8; i++)
            {
                Vector512<float> a = default;
                for (int c = 0; c < columns; c++)
                    a = Vector512.FusedMultiplyAdd(Vector512.Load(p + (c * 16)), Vector512.Create(x[(i * s) + c]), a);
                a.Store(y + (i * rows) + (b * 16));
            }
        }
    }
}
