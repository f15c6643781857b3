using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// y = x Wᵀ for fp32 input rows on the CPU against a weight held packed (<see cref="PackedWeight"/>): blocks of sixteen
/// output rows, each block column after column, so that one 512-bit vector holds a column's sixteen weights. Each input
/// value is broadcast into the FMAs of the blocks it meets; no horizontal sums, no staging. Against row-major
/// <see cref="CpuMatVec"/> a product of eight decode rows costs what one costs (both stream the weights from DRAM), and a
/// prompt's products reach 85–95% of the FMA peak (bench/README.md, "Packed F32 weights"). Every output is one chain of
/// FMAs over the columns in order, whatever the number of input rows: a row gets the same bits alone, in a batch or in a
/// prompt. 512-bit vectors only (the loader packs nothing without them).
/// </summary>
internal static class CpuPackedMatVec
{
    /// <summary>Output rows in a block: the lanes of a 512-bit vector.</summary>
    public const int BlockRows = 16;

    // Input rows against a block at a time: with three blocks, 24 accumulators of the 32 registers.
    private const int GroupRows = 8;

    // A decode product asks for each of its three weight streams' lines 2 KB ahead (the probe's distance, ThreeRowsTimesInputs').
    private const int AheadFloats = 512;

    public static bool Supported => Vector512.IsHardwareAccelerated;

    /// <summary>y (inputRows, rows) = x (inputRows, columns) Wᵀ, W packed (rows a multiple of <see cref="BlockRows"/>).</summary>
    public static unsafe void Multiply(float* x, int inputRows, float* w, int rows, int columns, float* y) =>
        Multiply(x, inputRows, [(nint)w], [rows], columns, [(nint)y]);

    /// <summary>
    /// yₖ (inputRows, rowsₖ) = x Wₖᵀ for packed weights of one input width (q, k and v; gate and up), into
    /// <paramref name="outputs"/>[k], in one parallel region (one hand-off where each product's would cost a wake-up).
    /// Each thread owns an equal share of every weight's blocks and works through its units (<see cref="Unit"/>) from the
    /// front; a thread done with its own takes the others' remaining units from the back. A worker that wakes late, or a
    /// core the host slows, then holds no one up.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Multiply(float* x, int inputRows, nint[] weights, int[] rows, int columns, nint[] outputs)
    {
        long allRows = rows.Sum();
        // Below ~256 KB of weights a second thread costs more to wake than it saves (as CpuMatVec.Split).
        int threads = allRows * columns < (1 << 16) ? 1 : (int)Math.Max(1, Math.Min(get_num_threads(), allRows / BlockRows / 4));
        if (threads == 1)
        {
            for (int k = 0; k < weights.Length; k++)
                Blocks(x, inputRows, (float*)weights[k], rows[k], columns, (float*)outputs[k], 0, rows[k] / BlockRows);
            return;
        }
        // Per (thread, weight) share: the next unit from the front in the low half, one past the last left in the high
        // half, a cache line apart from the others' (a line shared between the threads would move at every unit taken).
        const int Stride = CacheLines.Bytes / sizeof(long);
        var shares = new long[threads * weights.Length * Stride];
        for (int t = 0; t < threads; t++)
        {
            for (int k = 0; k < weights.Length; k++)
            {
                var (from, to) = Share(rows[k] / BlockRows, threads, t);
                shares[((t * weights.Length) + k) * Stride] = (long)Math.Max(0, Units(from, to)) << 32;
            }
        }
        nint xp = (nint)x;
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void Take(int owner, int k, bool front)
        {
            ref long share = ref shares[((owner * weights.Length) + k) * Stride];
            var (from, to) = Share(rows[k] / BlockRows, threads, owner);
            while (true)
            {
                long seen = Volatile.Read(ref share);
                int next = (int)seen, end = (int)(seen >> 32);
                if (next >= end)
                    return;
                long taken = front ? seen + 1 : ((long)(end - 1) << 32) | (uint)next;
                if (Interlocked.CompareExchange(ref share, taken, seen) == seen)
                    Unit((float*)xp, inputRows, (float*)weights[k], rows[k], columns, (float*)outputs[k], from, to, front ? next : end - 1);
            }
        }
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void Part(int t)
        {
            for (int k = 0; k < weights.Length; k++)
                Take(t, k, front: true);
            for (int other = 1; other < threads; other++)
            {
                for (int k = 0; k < weights.Length; k++)
                    Take((t + other) % threads, k, front: false);
            }
        }
        KernelThreads.Run(threads, Part, CpuMatVec.SpinAfter(inputRows));
    }

    // Thread t's equal share of a weight's blocks.
    private static (int From, int To) Share(int blocks, int threads, int t)
    {
        int perThread = (blocks + threads - 1) / threads, from = Math.Min(blocks, t * perThread);
        return (from, Math.Min(blocks, from + perThread));
    }

    // The units of blocks [from, to): a triple per block of its first third, then each block left after the thirds.
    private static int Units(int from, int to) => ((to - from) / 3) + ((to - from) % 3);

    /// <summary>Blocks [from, to) against every input row: its <see cref="Unit"/>s in order.</summary>
    private static unsafe void Blocks(float* x, int inputRows, float* w, int rows, int columns, float* y, int from, int to)
    {
        for (int unit = 0, units = Units(from, to); unit < units; unit++)
            Unit(x, inputRows, w, rows, columns, y, from, to, unit);
    }

    /// <summary>
    /// One unit of blocks [from, to) against every input row: unit q below a third of the range is three blocks, q and
    /// one and two thirds further (three streams far apart keep DRAM busy, as CpuMatVec's rows), the rest the blocks left
    /// after the thirds, one each; times each group of up to eight input rows in turn. The first group of a decode
    /// product streams the blocks from DRAM, asking ahead, and the others find them in L2; a prompt's groups all meet
    /// each triple (48 rows, 147 KB at 768 columns) while it is in L2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Unit(float* x, int inputRows, float* w, int rows, int columns, float* y, int from, int to, int unit)
    {
        bool decode = inputRows <= CpuMatVec.MaxInputRows;
        long blockFloats = (long)columns * BlockRows;
        int third = (to - from) / 3;
        bool triple = unit < third;
        int b = triple ? from + unit : from + (3 * third) + (unit - third);
        for (int i = 0; i < inputRows; i += GroupRows)
        {
            Group(x + ((long)i * columns), Math.Min(GroupRows, inputRows - i), w + (b * blockFloats), third * blockFloats, columns, rows,
                y + ((long)i * rows) + (b * BlockRows), third * BlockRows, decode && i == 0, triple);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Group(float* x, int count, float* w, long streamFloats, int columns, int rows, float* y, int streamRows,
        bool prefetch, bool triple)
    {
        if (triple)
        {
            switch (count)
            {
                case 1: Triple<Count.One>(x, w, streamFloats, columns, rows, y, streamRows, prefetch); break;
                case 2: Triple<Count.Two>(x, w, streamFloats, columns, rows, y, streamRows, prefetch); break;
                case 3: Triple<Count.Three>(x, w, streamFloats, columns, rows, y, streamRows, prefetch); break;
                case 4: Triple<Count.Four>(x, w, streamFloats, columns, rows, y, streamRows, prefetch); break;
                case 5: Triple<Count.Five>(x, w, streamFloats, columns, rows, y, streamRows, prefetch); break;
                case 6: Triple<Count.Six>(x, w, streamFloats, columns, rows, y, streamRows, prefetch); break;
                case 7: Triple<Count.Seven>(x, w, streamFloats, columns, rows, y, streamRows, prefetch); break;
                default: Triple<Count.Eight>(x, w, streamFloats, columns, rows, y, streamRows, prefetch); break;
            }
            return;
        }
        switch (count)
        {
            case 1: Single<Count.One>(x, w, columns, rows, y, prefetch); break;
            case 2: Single<Count.Two>(x, w, columns, rows, y, prefetch); break;
            case 3: Single<Count.Three>(x, w, columns, rows, y, prefetch); break;
            case 4: Single<Count.Four>(x, w, columns, rows, y, prefetch); break;
            case 5: Single<Count.Five>(x, w, columns, rows, y, prefetch); break;
            case 6: Single<Count.Six>(x, w, columns, rows, y, prefetch); break;
            case 7: Single<Count.Seven>(x, w, columns, rows, y, prefetch); break;
            default: Single<Count.Eight>(x, w, columns, rows, y, prefetch); break;
        }
    }

    /// <summary>
    /// Three blocks (<paramref name="w"/> and <paramref name="streamFloats"/>, twice that, further on) times
    /// <typeparamref name="TInputs"/> input rows: up to 24 accumulators, each input value broadcast once per column into
    /// the three blocks' FMAs. Outputs of the second and third block land <paramref name="streamRows"/> rows further on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Triple<TInputs>(float* x, float* w, long streamFloats, int columns, int rows, float* y, int streamRows, bool prefetch)
        where TInputs : struct, ICount
    {
        int n = TInputs.Value;
        float* p0 = w, p1 = w + streamFloats, p2 = p1 + streamFloats, xc = x;
        nint s = columns;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int c = 0; c < columns; c++, xc++)
        {
            if (prefetch)
            {
                Sse.Prefetch0(p0 + AheadFloats);
                Sse.Prefetch0(p1 + AheadFloats);
                Sse.Prefetch0(p2 + AheadFloats);
            }
            var v0 = Vector512.Load(p0);
            var v1 = Vector512.Load(p1);
            var v2 = Vector512.Load(p2);
            var xv = Vector512.Create(xc[0]);
            (a0, b0, c0) = (Vector512.FusedMultiplyAdd(v0, xv, a0), Vector512.FusedMultiplyAdd(v1, xv, b0), Vector512.FusedMultiplyAdd(v2, xv, c0));
            if (n > 1)
            {
                xv = Vector512.Create(xc[s]);
                (a1, b1, c1) = (Vector512.FusedMultiplyAdd(v0, xv, a1), Vector512.FusedMultiplyAdd(v1, xv, b1), Vector512.FusedMultiplyAdd(v2, xv, c1));
            }
            if (n > 2)
            {
                xv = Vector512.Create(xc[2 * s]);
                (a2, b2, c2) = (Vector512.FusedMultiplyAdd(v0, xv, a2), Vector512.FusedMultiplyAdd(v1, xv, b2), Vector512.FusedMultiplyAdd(v2, xv, c2));
            }
            if (n > 3)
            {
                xv = Vector512.Create(xc[3 * s]);
                (a3, b3, c3) = (Vector512.FusedMultiplyAdd(v0, xv, a3), Vector512.FusedMultiplyAdd(v1, xv, b3), Vector512.FusedMultiplyAdd(v2, xv, c3));
            }
            if (n > 4)
            {
                xv = Vector512.Create(xc[4 * s]);
                (a4, b4, c4) = (Vector512.FusedMultiplyAdd(v0, xv, a4), Vector512.FusedMultiplyAdd(v1, xv, b4), Vector512.FusedMultiplyAdd(v2, xv, c4));
            }
            if (n > 5)
            {
                xv = Vector512.Create(xc[5 * s]);
                (a5, b5, c5) = (Vector512.FusedMultiplyAdd(v0, xv, a5), Vector512.FusedMultiplyAdd(v1, xv, b5), Vector512.FusedMultiplyAdd(v2, xv, c5));
            }
            if (n > 6)
            {
                xv = Vector512.Create(xc[6 * s]);
                (a6, b6, c6) = (Vector512.FusedMultiplyAdd(v0, xv, a6), Vector512.FusedMultiplyAdd(v1, xv, b6), Vector512.FusedMultiplyAdd(v2, xv, c6));
            }
            if (n > 7)
            {
                xv = Vector512.Create(xc[7 * s]);
                (a7, b7, c7) = (Vector512.FusedMultiplyAdd(v0, xv, a7), Vector512.FusedMultiplyAdd(v1, xv, b7), Vector512.FusedMultiplyAdd(v2, xv, c7));
            }
            p0 += BlockRows;
            p1 += BlockRows;
            p2 += BlockRows;
        }
        Store<TInputs>(y, rows, a0, a1, a2, a3, a4, a5, a6, a7);
        Store<TInputs>(y + streamRows, rows, b0, b1, b2, b3, b4, b5, b6, b7);
        Store<TInputs>(y + (2 * streamRows), rows, c0, c1, c2, c3, c4, c5, c6, c7);
    }

    /// <summary>One block times <typeparamref name="TInputs"/> input rows (the blocks left after the thirds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Single<TInputs>(float* x, float* w, int columns, int rows, float* y, bool prefetch)
        where TInputs : struct, ICount
    {
        int n = TInputs.Value;
        float* p = w, xc = x;
        nint s = columns;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int c = 0; c < columns; c++, xc++, p += BlockRows)
        {
            if (prefetch)
                Sse.Prefetch0(p + AheadFloats);
            var v = Vector512.Load(p);
            a0 = Vector512.FusedMultiplyAdd(v, Vector512.Create(xc[0]), a0);
            if (n > 1) a1 = Vector512.FusedMultiplyAdd(v, Vector512.Create(xc[s]), a1);
            if (n > 2) a2 = Vector512.FusedMultiplyAdd(v, Vector512.Create(xc[2 * s]), a2);
            if (n > 3) a3 = Vector512.FusedMultiplyAdd(v, Vector512.Create(xc[3 * s]), a3);
            if (n > 4) a4 = Vector512.FusedMultiplyAdd(v, Vector512.Create(xc[4 * s]), a4);
            if (n > 5) a5 = Vector512.FusedMultiplyAdd(v, Vector512.Create(xc[5 * s]), a5);
            if (n > 6) a6 = Vector512.FusedMultiplyAdd(v, Vector512.Create(xc[6 * s]), a6);
            if (n > 7) a7 = Vector512.FusedMultiplyAdd(v, Vector512.Create(xc[7 * s]), a7);
        }
        Store<TInputs>(y, rows, a0, a1, a2, a3, a4, a5, a6, a7);
    }

    // A block's sums for each input row into that row of y (rows apart).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store<TInputs>(float* y, nint rows, Vector512<float> s0, Vector512<float> s1, Vector512<float> s2,
        Vector512<float> s3, Vector512<float> s4, Vector512<float> s5, Vector512<float> s6, Vector512<float> s7)
        where TInputs : struct, ICount
    {
        int n = TInputs.Value;
        s0.Store(y);
        if (n > 1) s1.Store(y + rows);
        if (n > 2) s2.Store(y + (2 * rows));
        if (n > 3) s3.Store(y + (3 * rows));
        if (n > 4) s4.Store(y + (4 * rows));
        if (n > 5) s5.Store(y + (5 * rows));
        if (n > 6) s6.Store(y + (6 * rows));
        if (n > 7) s7.Store(y + (7 * rows));
    }
}
