using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Quantization;

/// <summary>
/// y = W x for a Q8_0 weight and fp32 input rows on the CPU, as llama.cpp computes it: each input row quantized to
/// Q8_0 blocks, then int8 dot products per block (AVX2 <c>vpmaddubsw</c>/<c>vpmaddwd</c>, or AVX-VNNI <c>vpdpbusd</c>
/// where the CPU has it: the same integers in the same lanes, <see cref="IBlockLanes"/>), scaled and summed in fp32
/// (<see cref="Q8Blocks.Dot"/> is the same sum in plain code and the fallback without AVX2). Reading 1 byte per weight
/// instead of 4 is what makes batch-1 decode faster; W's rows are split over torch's thread count. With several input
/// rows each loaded weight block serves up to eight of them, and with eight or more (on AVX-512's registers) two weight
/// rows share each loaded input block.
/// </summary>
internal static partial class CpuQ8MatVec
{
    private const int InputChunk = 16;

    // Input rows from which every kernel thread quantizes a share of them.
    private const int ParallelQuantizeRows = 64;

    public static Tensor Multiply(Tensor input, Q8Weight weight)
    {
        using var scope = NewDisposeScope();
        return Multiply(input, [weight])[0].MoveToOuterDisposeScope();
    }

    /// <summary>
    /// x Wₖᵀ for each of <paramref name="weights"/> (one input width; q, k and v, or gate and up) from a CPU input: x
    /// quantized once and every product in one parallel region. Each output is the one a product alone gives.
    /// </summary>
    public static unsafe Tensor[] Multiply(Tensor input, Q8Weight[] weights)
    {
        using var scope = NewDisposeScope();
        var x = input.to(ScalarType.Float32).contiguous();
        int inputRows = (int)(x.numel() / weights[0].Shape[1]);
        var outputs = weights.Select(w => empty([.. input.shape[..^1], w.Shape[0]], ScalarType.Float32)).ToArray();
        var pointers = new nint[outputs.Length];
        for (int k = 0; k < outputs.Length; k++)
        {
            // CPU tensors' memory is native and never moves: the pointer stays valid after the fixed block.
            fixed (byte* y = outputs[k].bytes)
                pointers[k] = (nint)y;
        }
        fixed (byte* xs = x.bytes)
            Multiply((float*)xs, inputRows, weights, pointers);
        foreach (var output in outputs)
            output.MoveToOuterDisposeScope();
        return outputs;
    }

    /// <summary>y (inputRows, out) = x (inputRows, in) Wᵀ, fp32 in memory that stays put.</summary>
    public static unsafe void Multiply(float* x, int inputRows, Q8Weight weight, float* y) => Multiply(x, inputRows, [weight], [(nint)y]);

    /// <summary>
    /// yₖ (inputRows, outₖ) = x Wₖᵀ for weights of the same input width (q, k and v; gate and up), into
    /// <paramref name="outputs"/>[k]: x is quantized once and all the products run in one parallel region, each thread
    /// taking its part of every weight's rows in turn. Each output is the one a product alone gives.
    /// </summary>
    public static unsafe void Multiply(float* x, int inputRows, Q8Weight[] weights, nint[] outputs)
    {
        if (VnniLanes.IsSupported)
            Multiply<VnniLanes>(x, inputRows, weights, outputs);
        else if (Avx2Lanes.IsSupported)
            Multiply<Avx2Lanes>(x, inputRows, weights, outputs);
        else
            Multiply<PortableLanes>(x, inputRows, weights, outputs);
    }

    /// <summary><see cref="Multiply(float*, int, Q8Weight[], nint[])"/> with the lanes of <typeparamref name="TLanes"/> (which the CPU must support).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Multiply<TLanes>(float* x, int inputRows, Q8Weight[] weights, nint[] outputs)
        where TLanes : struct, IBlockLanes
    {
        int columns = (int)weights[0].Shape[1], blocks = columns / Q8Blocks.Size, allRows = 0;
        if (weights.Length != outputs.Length)
            throw new ArgumentException("each product needs its output");
        foreach (var weight in weights)
        {
            if (weight.Shape[1] != columns)
                throw new ArgumentException($"products with one input need weights of one input width; got {weight.Shape[1]} and {columns}");
            allRows += (int)weight.Shape[0];
        }
        // Pooled: a decode step makes dozens of products, and fresh arrays for each would keep the collector busy. The
        // quantized rows start on a cache line (half their 32-byte blocks straddled two), so one more line is rented.
        var xq = ArrayPool<sbyte>.Shared.Rent((inputRows * columns) + CacheLines.Of<sbyte>());
        var xd = ArrayPool<float>.Shared.Rent(inputRows * blocks);
        // Pairs of weight rows (TwoRowsTimesEight) need AVX-512's 32 vector registers for their sixteen sums and operands:
        // in 16 they spill, and the pairs ran 10-20% slower than one weight row at a time (kernels bench with
        // DOTNET_EnableAVX512=0). Only they read the scales by block.
        bool pairs = TLanes.IsVectorized && Avx512F.VL.IsSupported && inputRows >= 8;
        var xdByBlock = pairs ? ArrayPool<float>.Shared.Rent(inputRows * blocks) : null;
        try
        {
            fixed (sbyte* xqBase = xq)
            fixed (float* xdp = xd, xdbp = xdByBlock)
            {
                sbyte* xqp = CacheLines.NextLine(xqBase);
                nint xp = (nint)xqp, xdpp = (nint)xdp, xdbpp = (nint)xdbp, xf = (nint)x;
                int threads = (long)allRows * columns < (1 << 18) ? 1 : Math.Max(1, Math.Min(get_num_threads(), allRows / 64));
                // A prompt's rows are quantized by every kernel thread, a share each (on this thread alone they were 2% of a
                // 512-token Q8_0 prefill's samples while the other core waited: 3-6% faster, in-process A/B); a decode step's
                // few rows on this thread.
                int quantizers = inputRows >= ParallelQuantizeRows ? threads : 1, perQuantizer = (inputRows + quantizers - 1) / quantizers;
                [MethodImpl(MethodImplOptions.AggressiveOptimization)]
                void Quantize(int part)
                {
                    int begin = part * perQuantizer, end = Math.Min(inputRows, begin + perQuantizer);
                    if (begin >= end)
                        return;
                    var xs = new ReadOnlySpan<float>((float*)xf + ((long)begin * columns), (end - begin) * columns);
                    var quantized = new Span<sbyte>((sbyte*)xp + ((long)begin * columns), (end - begin) * columns);
                    var scales = new Span<float>((float*)xdpp + ((long)begin * blocks), (end - begin) * blocks);
                    for (int i = 0; i < end - begin; i++)
                        Q8Blocks.QuantizeActivations(xs.Slice(i * columns, columns), quantized.Slice(i * columns, columns), scales.Slice(i * blocks, blocks));
                    TLanes.PrepareActivations(quantized);
                }
                if (quantizers == 1)
                    Quantize(0);
                else
                    KernelThreads.Run(quantizers, Quantize, Decoder.CpuMatVec.SpinAfter(inputRows));
                if (xdByBlock is not null)
                    ScalesByBlock(xd, inputRows, blocks, xdByBlock);
                [MethodImpl(MethodImplOptions.AggressiveOptimization)]
                void Part(int part)
                {
                    for (int k = 0; k < weights.Length; k++)
                    {
                        int rows = (int)weights[k].Shape[0], perThread = (rows + threads - 1) / threads;
                        int begin = part * perThread, end = Math.Min(rows, begin + perThread);
                        if (begin < end)
                            Rows<TLanes>(weights[k], (sbyte*)xp, (float*)xdpp, (float*)xdbpp, inputRows, (float*)outputs[k], begin, end);
                    }
                }
                if (threads == 1)
                    Part(0);
                else
                    KernelThreads.Run(threads, Part, Decoder.CpuMatVec.SpinAfter(inputRows));
            }
        }
        finally
        {
            ArrayPool<sbyte>.Shared.Return(xq);
            ArrayPool<float>.Shared.Return(xd);
            if (xdByBlock is not null)
                ArrayPool<float>.Shared.Return(xdByBlock);
        }
    }

    /// <summary>
    /// The activation scales of each full group of eight input rows block by block (<c>[group][block][row]</c>), so
    /// that one vector multiply gives a weight block's scale products with all eight.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScalesByBlock(float[] xd, int inputRows, int blocks, float[] byBlock)
    {
        for (int group = 0; group + 8 <= inputRows; group += 8)
        {
            for (int b = 0; b < blocks; b++)
            {
                for (int i = 0; i < 8; i++)
                    byBlock[(group * blocks) + (b * 8) + i] = xd[((group + i) * blocks) + b];
            }
        }
    }

    /// <summary>
    /// Rows [<paramref name="begin"/>, <paramref name="end"/>) of y = W x for input rows already quantized to Q8_0 blocks
    /// (<paramref name="xq"/>, <paramref name="xd"/>; <paramref name="xdByBlock"/> the groups of eight's scales by block,
    /// null where pairs of weight rows do not run).
    /// A chunk of input rows stays in cache while the weight rows stream past it; pairs of weight rows take groups of
    /// eight input rows, each loaded input block serving both. Every output is summed as Q8Blocks.Dot sums it, in any
    /// grouping.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Rows<TLanes>(Q8Weight weight, sbyte* xq, float* xd, float* xdByBlock, int inputRows, float* y, int begin, int end)
        where TLanes : struct, IBlockLanes
    {
        int rows = (int)weight.Shape[0], columns = (int)weight.Shape[1], blocks = columns / Q8Blocks.Size;
        bool pairs = xdByBlock != null;
        var scaleProducts = pairs ? ArrayPool<float>.Shared.Rent(16 * blocks) : [];
        try
        {
            fixed (byte* w = weight.Quants.bytes, wd = weight.Scales.bytes)
            fixed (float* products = scaleProducts)
            {
                for (int first = 0; first < inputRows; first += InputChunk)
                {
                    int last = Math.Min(inputRows, first + InputChunk), r = begin;
                    if (pairs && last - first >= 8)
                    {
                        for (; r + 2 <= end; r += 2)
                        {
                            var wRow = (sbyte*)w + ((long)r * columns);
                            var wScales = (float*)wd + ((long)r * blocks);
                            int i = first;
                            for (; i + 8 <= last; i += 8)
                            {
                                // The pairs read VNNI's lanes by an offset (VnniOffsetLanes); the JIT keeps one branch per TLanes.
                                if (typeof(TLanes) == typeof(VnniLanes))
                                    TwoRowsTimesEight<VnniOffsetLanes>(wRow, wScales, xq + ((long)i * columns), xdByBlock + ((long)i * blocks), products, columns, blocks, y + ((long)i * rows) + r, rows);
                                else
                                    TwoRowsTimesEight<TLanes>(wRow, wScales, xq + ((long)i * columns), xdByBlock + ((long)i * blocks), products, columns, blocks, y + ((long)i * rows) + r, rows);
                            }
                            Row<TLanes>(wRow, wScales, xq, xd, columns, blocks, y + r, rows, i, last);
                            Row<TLanes>(wRow + columns, wScales + blocks, xq, xd, columns, blocks, y + r + 1, rows, i, last);
                        }
                    }
                    for (; r < end; r++)
                        Row<TLanes>((sbyte*)w + ((long)r * columns), (float*)wd + ((long)r * blocks), xq, xd, columns, blocks, y + r, rows, first, last);
                }
            }
        }
        finally
        {
            if (pairs)
                ArrayPool<float>.Shared.Return(scaleProducts);
        }
    }

    /// <summary>
    /// One weight row against input rows [<paramref name="first"/>, <paramref name="last"/>): eight at a time, then the
    /// one to seven left as one group (a group of five costs little more than one of four; one at a time, each row
    /// would repeat the weight block's preparation and wait on its own FMA chain).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Row<TLanes>(sbyte* wRow, float* wScales, sbyte* xq, float* xd, int columns, int blocks, float* output, int rows, int first, int last)
        where TLanes : struct, IBlockLanes
    {
        int i = first;
        if (TLanes.IsVectorized)
        {
            for (; i + 8 <= last; i += 8)
                DotGroup<TLanes, Count.Eight>(wRow, wScales, xq + ((long)i * columns), xd + ((long)i * blocks), columns, blocks, output + ((long)i * rows), rows);
            var x = xq + ((long)i * columns);
            var d = xd + ((long)i * blocks);
            var y = output + ((long)i * rows);
            switch (last - i)
            {
                case 7: DotGroup<TLanes, Count.Seven>(wRow, wScales, x, d, columns, blocks, y, rows); break;
                case 6: DotGroup<TLanes, Count.Six>(wRow, wScales, x, d, columns, blocks, y, rows); break;
                case 5: DotGroup<TLanes, Count.Five>(wRow, wScales, x, d, columns, blocks, y, rows); break;
                case 4: DotGroup<TLanes, Count.Four>(wRow, wScales, x, d, columns, blocks, y, rows); break;
                case 3: DotGroup<TLanes, Count.Three>(wRow, wScales, x, d, columns, blocks, y, rows); break;
                case 2: DotGroup<TLanes, Count.Two>(wRow, wScales, x, d, columns, blocks, y, rows); break;
                case 1: DotGroup<TLanes, Count.One>(wRow, wScales, x, d, columns, blocks, y, rows); break;
            }
            return;
        }
        for (; i < last; i++)
        {
            output[(long)i * rows] = Q8Blocks.Dot(new ReadOnlySpan<sbyte>(wRow, columns), new ReadOnlySpan<float>(wScales, blocks),
                new ReadOnlySpan<sbyte>(xq + ((long)i * columns), columns), new ReadOnlySpan<float>(xd + ((long)i * blocks), blocks));
        }
    }

    /// <summary>
    /// Two consecutive weight rows (<paramref name="w"/> and the next, their scales likewise) against eight input rows,
    /// each of the sixteen outputs summed as <see cref="Q8Blocks.Dot"/>: each input block is loaded once for both weight
    /// rows, and the scale products (the same fp32 products of the two scales) are made beforehand, sixteen a block in
    /// two vector multiplies, into <paramref name="products"/>, so the loop is a <c>vpdpbusd</c> and an FMA per block and
    /// output (both on the same two pipes; the multiply inside the loop was a third there). It asks for the next pair's
    /// block as it goes: in a decode step (weights from DRAM, ~50 instructions per 64 bytes of them) that took the 8-row
    /// Q8_0 step from 9.2-9.3 to 8.0-8.5 ms (builds alternating); prompts unchanged.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void TwoRowsTimesEight<TLanes>(sbyte* w, float* wScales, sbyte* x, float* xScalesByBlock, float* products, int columns, int blocks, float* y, int rows)
        where TLanes : struct, IBlockLanes
    {
        for (nint b = 0; b < blocks; b++)
        {
            var xScales = Avx.LoadVector256(xScalesByBlock + (b * 8));
            Avx.Store(products + (b * 16), Vector256.Create(wScales[b]) * xScales);
            Avx.Store(products + (b * 16) + 8, Vector256.Create(wScales[blocks + b]) * xScales);
        }
        sbyte* w1 = w + columns;
        sbyte* x1 = x + columns, x2 = x1 + columns, x3 = x2 + columns, x4 = x3 + columns, x5 = x4 + columns, x6 = x5 + columns, x7 = x6 + columns;
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        Vector256<float> t0 = default, t1 = default, t2 = default, t3 = default, t4 = default, t5 = default, t6 = default, t7 = default;
        float* p = products;
        for (nint at = 0; at < columns; at += Q8Blocks.Size, p += 16)
        {
            Sse.Prefetch0(w + (2 * columns) + at);
            Sse.Prefetch0(w + (3 * columns) + at);
            var wv = Avx.LoadVector256(w + at);
            var prepared = TLanes.Prepare(wv);
            var wv1 = Avx.LoadVector256(w1 + at);
            var prepared1 = TLanes.Prepare(wv1);
            var xv = Avx.LoadVector256(x + at);
            s0 = Fma.MultiplyAdd(Vector256.Create(p[0]), TLanes.Lanes(wv, prepared, xv), s0);
            t0 = Fma.MultiplyAdd(Vector256.Create(p[8]), TLanes.Lanes(wv1, prepared1, xv), t0);
            xv = Avx.LoadVector256(x1 + at);
            s1 = Fma.MultiplyAdd(Vector256.Create(p[1]), TLanes.Lanes(wv, prepared, xv), s1);
            t1 = Fma.MultiplyAdd(Vector256.Create(p[9]), TLanes.Lanes(wv1, prepared1, xv), t1);
            xv = Avx.LoadVector256(x2 + at);
            s2 = Fma.MultiplyAdd(Vector256.Create(p[2]), TLanes.Lanes(wv, prepared, xv), s2);
            t2 = Fma.MultiplyAdd(Vector256.Create(p[10]), TLanes.Lanes(wv1, prepared1, xv), t2);
            xv = Avx.LoadVector256(x3 + at);
            s3 = Fma.MultiplyAdd(Vector256.Create(p[3]), TLanes.Lanes(wv, prepared, xv), s3);
            t3 = Fma.MultiplyAdd(Vector256.Create(p[11]), TLanes.Lanes(wv1, prepared1, xv), t3);
            xv = Avx.LoadVector256(x4 + at);
            s4 = Fma.MultiplyAdd(Vector256.Create(p[4]), TLanes.Lanes(wv, prepared, xv), s4);
            t4 = Fma.MultiplyAdd(Vector256.Create(p[12]), TLanes.Lanes(wv1, prepared1, xv), t4);
            xv = Avx.LoadVector256(x5 + at);
            s5 = Fma.MultiplyAdd(Vector256.Create(p[5]), TLanes.Lanes(wv, prepared, xv), s5);
            t5 = Fma.MultiplyAdd(Vector256.Create(p[13]), TLanes.Lanes(wv1, prepared1, xv), t5);
            xv = Avx.LoadVector256(x6 + at);
            s6 = Fma.MultiplyAdd(Vector256.Create(p[6]), TLanes.Lanes(wv, prepared, xv), s6);
            t6 = Fma.MultiplyAdd(Vector256.Create(p[14]), TLanes.Lanes(wv1, prepared1, xv), t6);
            xv = Avx.LoadVector256(x7 + at);
            s7 = Fma.MultiplyAdd(Vector256.Create(p[7]), TLanes.Lanes(wv, prepared, xv), s7);
            t7 = Fma.MultiplyAdd(Vector256.Create(p[15]), TLanes.Lanes(wv1, prepared1, xv), t7);
        }
        y[0] = Q8Blocks.HorizontalSum(s0);
        y[rows] = Q8Blocks.HorizontalSum(s1);
        y[2 * rows] = Q8Blocks.HorizontalSum(s2);
        y[3 * rows] = Q8Blocks.HorizontalSum(s3);
        y[4 * rows] = Q8Blocks.HorizontalSum(s4);
        y[5 * rows] = Q8Blocks.HorizontalSum(s5);
        y[6 * rows] = Q8Blocks.HorizontalSum(s6);
        y[7 * rows] = Q8Blocks.HorizontalSum(s7);
        y[1] = Q8Blocks.HorizontalSum(t0);
        y[rows + 1] = Q8Blocks.HorizontalSum(t1);
        y[(2 * rows) + 1] = Q8Blocks.HorizontalSum(t2);
        y[(3 * rows) + 1] = Q8Blocks.HorizontalSum(t3);
        y[(4 * rows) + 1] = Q8Blocks.HorizontalSum(t4);
        y[(5 * rows) + 1] = Q8Blocks.HorizontalSum(t5);
        y[(6 * rows) + 1] = Q8Blocks.HorizontalSum(t6);
        y[(7 * rows) + 1] = Q8Blocks.HorizontalSum(t7);
    }

    /// <summary>
    /// One weight row against one to eight input rows (<typeparamref name="TGroup"/>; <paramref name="x"/> with stride
    /// <paramref name="columns"/>, their scales with stride <paramref name="blocks"/>), each summed as
    /// <see cref="Q8Blocks.Dot"/> sums it (per block, the lanes by the fp32 product of the two scales, fused into 8 fp32
    /// sums): the weight block and what it contributes to every row's lanes are loaded once for the group. One offset and
    /// one block index address every row, so the loop is the vector work and its loads. The JIT drops the rows past the
    /// group's count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DotGroup<TLanes, TGroup>(sbyte* w, float* wScales, sbyte* x, float* xScales, int columns, int blocks, float* y, int rows)
        where TLanes : struct, IBlockLanes
        where TGroup : struct, ICount
    {
        int n = TGroup.Value;
        sbyte* x1 = x + columns, x2 = x1 + columns, x3 = x2 + columns, x4 = x3 + columns, x5 = x4 + columns, x6 = x5 + columns, x7 = x6 + columns;
        float* d1 = xScales + blocks, d2 = d1 + blocks, d3 = d2 + blocks, d4 = d3 + blocks, d5 = d4 + blocks, d6 = d5 + blocks, d7 = d6 + blocks;
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (nint b = 0, at = 0; b < blocks; b++, at += Q8Blocks.Size)
        {
            var wv = Avx.LoadVector256(w + at);
            var prepared = TLanes.Prepare(wv);
            var scale = Vector256.Create(wScales[b]);
            s0 = Fma.MultiplyAdd(scale * Vector256.Create(xScales[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x + at)), s0);
            if (n > 1)
                s1 = Fma.MultiplyAdd(scale * Vector256.Create(d1[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x1 + at)), s1);
            if (n > 2)
                s2 = Fma.MultiplyAdd(scale * Vector256.Create(d2[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x2 + at)), s2);
            if (n > 3)
                s3 = Fma.MultiplyAdd(scale * Vector256.Create(d3[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x3 + at)), s3);
            if (n > 4)
                s4 = Fma.MultiplyAdd(scale * Vector256.Create(d4[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x4 + at)), s4);
            if (n > 5)
                s5 = Fma.MultiplyAdd(scale * Vector256.Create(d5[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x5 + at)), s5);
            if (n > 6)
                s6 = Fma.MultiplyAdd(scale * Vector256.Create(d6[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x6 + at)), s6);
            if (n > 7)
                s7 = Fma.MultiplyAdd(scale * Vector256.Create(d7[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x7 + at)), s7);
        }
        y[0] = Q8Blocks.HorizontalSum(s0);
        if (n > 1)
            y[rows] = Q8Blocks.HorizontalSum(s1);
        if (n > 2)
            y[2 * rows] = Q8Blocks.HorizontalSum(s2);
        if (n > 3)
            y[3 * rows] = Q8Blocks.HorizontalSum(s3);
        if (n > 4)
            y[4 * rows] = Q8Blocks.HorizontalSum(s4);
        if (n > 5)
            y[5 * rows] = Q8Blocks.HorizontalSum(s5);
        if (n > 6)
            y[6 * rows] = Q8Blocks.HorizontalSum(s6);
        if (n > 7)
            y[7 * rows] = Q8Blocks.HorizontalSum(s7);
    }
}
