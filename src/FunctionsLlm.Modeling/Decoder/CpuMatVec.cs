using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// y = W x for fp32 input rows on the CPU. Decoding (up to <see cref="MaxInputRows"/> rows) is bound by reading W, and
/// libtorch runs it at single-thread bandwidth for one row (half of what 2 threads reach, bench/README.md) and far below
/// its GEMM rate for a few rows, so this kernel splits W's rows over torch's thread count and streams each once with
/// 512-bit FMAs (256-bit without AVX-512), against every input row while it is in cache. With AVX-512 a prompt's rows go
/// through the same sums in blocks of eight, against panels of W that stay in L2: 2.1-2.4x libtorch's GEMM here
/// (bench/README.md; with 256-bit vectors only as fast as it, so libtorch's GEMM keeps prompts there). Each
/// output is summed in the same order whatever the number of input rows, so a sequence decoded in a batch, or its prompt
/// prefilled, gets the bits it gets decoded alone.
/// </summary>
internal static partial class CpuMatVec
{
    /// <summary>The most input rows of one decode pass (a step, or a step with a chunk riding along); more are a prompt.</summary>
    public const int MaxInputRows = 16;

    // With several input rows the FMAs leave the hardware prefetcher behind on weights streamed from DRAM; asking for the
    // weight rows this far ahead took 8 rows of gate/up (2048 x 768) from 0.29-0.39 to 0.21-0.23 ms (bench/README.md).
    private const int PrefetchRows = 8;

    // Decode products of two to four rows ask for each weight stream's line 3 KB ahead: far enough to cover the latency
    // from L2, near enough that the lines on their way leave the input rows in L1 (bench/README.md). With five to eight,
    // ThreeRowsTimesInputs asks ThreeStreamsAheadFloats ahead; with more (or wider weights), FourRowsTimesGroups asks for
    // the next rows while it computes from L1.
    private const int PrefetchAheadFloats = 768;

    // ThreeRowsTimesInputs asks for each of its three weight streams' lines 2 KB ahead: in the step 1, 3, 4 and 6 KB were
    // equal or slower, and so were 1, 3 and 4-8 KB in a synthetic sweep of that shape (bench/README.md).
    private const int ThreeStreamsAheadFloats = 512;

    // Eight input rows of this many columns fill 32 KB of L1: wider weights are decoded in passes of this many columns.
    private const int ColumnSpan = 1024;

    // A prompt's panel of weight rows: up to this many bytes (within a 512 KB L2, half of newer cores'), so the input
    // blocks passing through leave it there, in whole multiples of PanelRowsStep (at least one).
    private const int PanelBytes = 384 << 10;

    // Panels of 48 rows × m: thirds of a multiple of sixteen, which the stage writes out as whole 16 × 16 transposes;
    // panels of 96 and 48 rows took 2-4% less than of 84 (768 columns) and 30 (2,048) (bench/README.md).
    private const int PanelRowsStep = 48;

    /// <summary>
    /// fp32 on the CPU, contiguous weight, no gradient needed, and 1 to <see cref="MaxInputRows"/> input rows, or more (a
    /// prompt) without autograd where <see cref="PromptBlockRows"/> has a block for the weight's width. Training keeps
    /// libtorch's GEMM for every product of its forward, as for its backward, whether or not an input needs a gradient.
    /// </summary>
    public static bool Applies(Tensor input, Tensor weight) =>
        Vector256.IsHardwareAccelerated
        && input.device_type == TorchSharp.DeviceType.CPU
        && input.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32
        && input.shape[^1] == weight.shape[1] && weight.is_contiguous()
        && (input.numel() <= MaxInputRows * weight.shape[1] || (!is_grad_enabled() && PromptBlockRows((int)weight.shape[1]) > 0))
        && !(is_grad_enabled() && (input.requires_grad || weight.requires_grad));

    /// <summary>
    /// How many input rows of a prompt go against the weight rows at a time: eight, for weights of up to twice
    /// <see cref="ColumnSpan"/> columns (the widest measured; wider ones go to libtorch's GEMM); 0 without 512-bit vectors.
    /// </summary>
    internal static int PromptBlockRows(int columns) => !Vector512.IsHardwareAccelerated || columns > 2 * ColumnSpan ? 0 : 8;

    public static unsafe Tensor Multiply(Tensor input, Tensor weight, Tensor? bias)
    {
        int rows = (int)weight.shape[0], columns = (int)weight.shape[1];
        int inputRows = (int)(input.numel() / columns);
        long[] shape = [.. input.shape[..^1], rows];
        using var x = input.contiguous();
        var y = empty(shape, ScalarType.Float32);
        fixed (byte* w = weight.bytes, xs = x.bytes, ys = y.bytes)
            Multiply((float*)xs, inputRows, (float*)w, rows, columns, (float*)ys);
        if (bias is not null)
            y.add_(bias, One);
        return y;
    }

    /// <summary>y (inputRows, rows) = x (inputRows, columns) Wᵀ for W (rows, columns), all fp32 in memory that stays put.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Multiply(float* x, int inputRows, float* w, int rows, int columns, float* y)
    {
        var (threads, perThread) = Split(rows, columns);
        nint wp = (nint)w, xp = (nint)x, yp = (nint)y;
        // 512-bit lanes where the CPU has them (every path alike, so the sums do not depend on the batch either way).
        bool wide = Vector512.IsHardwareAccelerated;
        // Optimized at its first call like the kernels it calls: as tier-0 code it was recompiled in the background
        // while serving (it showed in a serve profile as QuickJitted).
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void Slice(int begin, int end)
        {
            if (wide)
                Slice<Lanes512, Vector512<float>>((float*)wp, (float*)xp, (float*)yp, columns, rows, inputRows, begin, end);
            else
                Slice<Lanes256, Vector256<float>>((float*)wp, (float*)xp, (float*)yp, columns, rows, inputRows, begin, end);
        }
        if (threads == 1)
            Slice(0, rows);
        else
            KernelThreads.Run(threads, t => Slice(t * perThread, Math.Min(rows, (t + 1) * perThread)), SpinAfter(inputRows));
    }

    /// <summary>
    /// How many kernel threads a product of <paramref name="rows"/> × <paramref name="columns"/> weights takes, and how
    /// many weight rows each (a multiple of four; the last thread's share may be shorter).
    /// </summary>
    internal static (int Threads, int PerThread) Split(int rows, int columns)
    {
        // Below ~256 KB of weights a second thread costs more to wake than it saves.
        int threads = (long)rows * columns < (1 << 16) ? 1 : Math.Max(1, Math.Min(get_num_threads(), rows / 64));
        return (threads, ((rows / threads) + 3) / 4 * 4);
    }

    /// <summary>
    /// How long the kernel workers spin after a product of <paramref name="inputRows"/> rows (fp32 or Q8_0): briefly after
    /// a prompt's, whose caller runs libtorch ops next; long between a decode step's products.
    /// </summary>
    internal static TimeSpan SpinAfter(int inputRows) => inputRows > MaxInputRows ? KernelThreads.BriefSpin : KernelThreads.DecodeSpin;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Slice<TLanes, TVector>(float* w, float* x, float* y, int columns, int outputs, int inputRows, int begin, int end)
        where TLanes : struct, ILanes<TVector>
        where TVector : struct
    {
        if (inputRows == 1)
            Rows<TLanes, TVector>(w, x, y, columns, begin, end);
        else if (inputRows <= MaxInputRows)
            Decode<TLanes, TVector>(w, x, y, columns, outputs, inputRows, begin, end);
        else
            Prompt<TLanes, TVector>(w, x, y, columns, outputs, inputRows, begin, end);
    }

    /// <summary>
    /// Many input rows: a panel of weight rows small enough to stay in L2 against every block of eight input rows in turn,
    /// through <see cref="ThreeRowsTimesInputs"/> as a prompt (three weight rows times the eight, 24 accumulators, sums
    /// staged; one pass over every column, nothing asked for ahead), the last few input rows through
    /// <see cref="RowsTimesInputs"/>; every output summed as <see cref="RowsTimesInputs"/> sums it. Against the tile it
    /// replaces (two weight rows times the eight, in column passes of <see cref="ColumnSpan"/>, sums stored as they came;
    /// in-process A/B, 41 rounds, panels from DRAM) the products took 8–10% less at 512 rows for q/o and gate/up, 4–7%
    /// for down, 14–18% at 64 rows; panels of <see cref="PanelRowsStep"/> rows took 2–4% more off (bench/README.md).
    /// Measured and not kept: the same tile asking for lines ahead as it does from DRAM (19% slower to 10% faster by the
    /// minute: the panel is in L2 already); adjacent weight rows with their sums stored straight into y (down 7–8%
    /// slower than staged).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Prompt<TLanes, TVector>(float* w, float* x, float* y, int columns, int outputs, int inputRows, int begin, int end)
        where TLanes : struct, ILanes<TVector>
        where TVector : struct
    {
        int panel = Math.Max(1, PanelBytes / (columns * sizeof(float)) / PanelRowsStep) * PanelRowsStep;
        for (int first = begin; first < end; first += panel)
        {
            int last = Math.Min(end, first + panel), i = 0;
            if (typeof(TVector) == typeof(Vector512<float>))
            {
                for (; i + 8 <= inputRows; i += 8)
                    ThreeRowsTimesInputs<TLanes, TVector, Count.Eight>(w, x + ((long)i * columns), y + ((long)i * outputs), columns, outputs, first, last, prompt: true);
            }
            if (i < inputRows)
                RowsTimesInputs<TLanes, TVector>(w, x + ((long)i * columns), y + ((long)i * outputs), columns, outputs, inputRows - i, first, last);
        }
    }

    /// <summary>
    /// A decode pass's 2 to <see cref="MaxInputRows"/> input rows in one sweep of the weights, where 512-bit code has the
    /// registers for it: five to eight rows of up to two <see cref="ColumnSpan"/>s of columns through
    /// <see cref="ThreeRowsTimesInputs"/>, other counts from four on through <see cref="FourRowsTimesGroups"/> (groups of
    /// four and the one to three left); otherwise through <see cref="RowsTimesInputs"/>. Each reads its weight rows as
    /// streams from far-apart parts of the range, and all sum every output the same way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Decode<TLanes, TVector>(float* w, float* x, float* y, int columns, int outputs, int inputRows, int begin, int end)
        where TLanes : struct, ILanes<TVector>
        where TVector : struct
    {
        if (typeof(TVector) == typeof(Vector512<float>) && inputRows is >= 5 and <= 8 && columns <= 2 * ColumnSpan)
        {
            switch (inputRows)
            {
                case 5: ThreeRowsTimesInputs<TLanes, TVector, Count.Five>(w, x, y, columns, outputs, begin, end); break;
                case 6: ThreeRowsTimesInputs<TLanes, TVector, Count.Six>(w, x, y, columns, outputs, begin, end); break;
                case 7: ThreeRowsTimesInputs<TLanes, TVector, Count.Seven>(w, x, y, columns, outputs, begin, end); break;
                default: ThreeRowsTimesInputs<TLanes, TVector, Count.Eight>(w, x, y, columns, outputs, begin, end); break;
            }
        }
        else if (typeof(TVector) == typeof(Vector512<float>) && inputRows >= 4)
            FourRowsTimesGroups<TLanes, TVector>(w, x, y, columns, outputs, inputRows, begin, end);
        else
            RowsTimesInputs<TLanes, TVector>(w, x, y, columns, outputs, inputRows, begin, end, streaming: true);
    }

    /// <summary>
    /// One input row against weight rows [begin, end): four rows a pass, one from each quarter of the range, so that
    /// four streams far apart keep DRAM busy (a 400 MB sweep on two cores: 6.7-7.6 ms with four adjacent rows a pass,
    /// 5.2-6.0 with the quarters, 5.7-6.1 reading alone; bench/README.md). Each row summed as <see cref="Dot"/> sums it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Rows<TLanes, TVector>(float* w, float* x, float* y, int columns, int begin, int end)
        where TLanes : struct, ILanes<TVector>
        where TVector : struct
    {
        int quarter = (end - begin) / 4;
        for (int r = begin; r < begin + quarter; r++)
        {
            float* w0 = w + ((long)r * columns), w1 = w0 + ((long)quarter * columns), w2 = w1 + ((long)quarter * columns), w3 = w2 + ((long)quarter * columns);
            TVector s0 = default, s1 = default, s2 = default, s3 = default;
            int c = 0;
            for (; c + TLanes.Count <= columns; c += TLanes.Count)
            {
                var xv = TLanes.Load(x + c);
                s0 = TLanes.Fma(TLanes.Load(w0 + c), xv, s0);
                s1 = TLanes.Fma(TLanes.Load(w1 + c), xv, s1);
                s2 = TLanes.Fma(TLanes.Load(w2 + c), xv, s2);
                s3 = TLanes.Fma(TLanes.Load(w3 + c), xv, s3);
            }
            y[r] = Tail(TLanes.Sum(s0), w0, x, c, columns);
            y[r + quarter] = Tail(TLanes.Sum(s1), w1, x, c, columns);
            y[r + (2 * quarter)] = Tail(TLanes.Sum(s2), w2, x, c, columns);
            y[r + (3 * quarter)] = Tail(TLanes.Sum(s3), w3, x, c, columns);
        }
        for (int r = begin + (4 * quarter); r < end; r++)
            y[r] = Dot<TLanes, TVector>(w + ((long)r * columns), x, columns);
    }

    /// <summary>The same columns of the two weight rows <see cref="PrefetchRows"/> below <paramref name="w"/> (a row pair's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(float* w, int columns)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(w + ((long)PrefetchRows * columns));
            Sse.Prefetch0(w + ((long)(PrefetchRows + 1) * columns));
        }
    }

    /// <summary>
    /// For two streams of weight rows: the line each will read <see cref="PrefetchAheadFloats"/> floats after column
    /// <paramref name="c"/> of rows <paramref name="w0"/> and <paramref name="w1"/> (in the rows after them past a row's end).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchAhead(float* w0, float* w1, int c)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(w0 + c + PrefetchAheadFloats);
            Sse.Prefetch0(w1 + c + PrefetchAheadFloats);
        }
    }

    /// <summary>The line at column <paramref name="c"/> of the rows after <paramref name="w0"/> and <paramref name="w1"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchNextRows(float* w0, float* w1, int c, int columns)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(w0 + columns + c);
            Sse.Prefetch0(w1 + columns + c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float* y, int outputs, int inputRow, int r, int r1, float first, float second)
    {
        y[((long)inputRow * outputs) + r] = first;
        y[((long)inputRow * outputs) + r1] = second;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe float Dot<TLanes, TVector>(float* w, float* x, int columns)
        where TLanes : struct, ILanes<TVector>
        where TVector : struct
    {
        TVector sum = default;
        int c = 0;
        for (; c + TLanes.Count <= columns; c += TLanes.Count)
            sum = TLanes.Fma(TLanes.Load(w + c), TLanes.Load(x + c), sum);
        return Tail(TLanes.Sum(sum), w, x, c, columns);
    }

    // Inlined: a call after the loop would keep the vector accumulators live across it, and the JIT then spills them to
    // the stack at every iteration (all vector registers are caller-saved): multi-row products ran 3-4x slower.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float Tail(float sum, float* w, float* x, int from, int columns)
    {
        for (int c = from; c < columns; c++)
            sum += w[c] * x[c];
        return sum;
    }
}
