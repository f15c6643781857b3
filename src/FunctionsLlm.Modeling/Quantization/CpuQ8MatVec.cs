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
/// rows each loaded weight block serves eight (or four) of them.
/// </summary>
internal static class CpuQ8MatVec
{
    private const int InputChunk = 16;

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
        // Pooled: a decode step makes dozens of products, and fresh arrays for each would keep the collector busy.
        var xq = ArrayPool<sbyte>.Shared.Rent(inputRows * columns);
        var xd = ArrayPool<float>.Shared.Rent(inputRows * blocks);
        try
        {
            var xs = new ReadOnlySpan<float>(x, inputRows * columns);
            for (int i = 0; i < inputRows; i++)
                Q8Blocks.QuantizeActivations(xs.Slice(i * columns, columns), xq.AsSpan(i * columns, columns), xd.AsSpan(i * blocks, blocks));
            TLanes.PrepareActivations(xq.AsSpan(0, inputRows * columns));
            fixed (sbyte* xqp = xq)
            fixed (float* xdp = xd)
            {
                nint xp = (nint)xqp, xdpp = (nint)xdp;
                int threads = (long)allRows * columns < (1 << 18) ? 1 : Math.Max(1, Math.Min(get_num_threads(), allRows / 64));
                [MethodImpl(MethodImplOptions.AggressiveOptimization)]
                void Part(int part)
                {
                    for (int k = 0; k < weights.Length; k++)
                    {
                        int rows = (int)weights[k].Shape[0], perThread = (rows + threads - 1) / threads;
                        int begin = part * perThread, end = Math.Min(rows, begin + perThread);
                        if (begin < end)
                            Rows<TLanes>(weights[k], (sbyte*)xp, (float*)xdpp, inputRows, (float*)outputs[k], begin, end);
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
        }
    }

    /// <summary>
    /// Rows [<paramref name="begin"/>, <paramref name="end"/>) of y = W x for input rows already quantized to Q8_0 blocks
    /// (<paramref name="xq"/>, <paramref name="xd"/>). A chunk of input rows stays in cache while the weight rows stream
    /// past it; eight (or four) input rows share each loaded weight block. Every output is summed as Q8Blocks.Dot sums
    /// it, in any grouping.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Rows<TLanes>(Q8Weight weight, sbyte* xq, float* xd, int inputRows, float* y, int begin, int end)
        where TLanes : struct, IBlockLanes
    {
        int rows = (int)weight.Shape[0], columns = (int)weight.Shape[1], blocks = columns / Q8Blocks.Size;
        fixed (byte* w = weight.Quants.bytes, wd = weight.Scales.bytes)
        {
            for (int first = 0; first < inputRows; first += InputChunk)
            {
                int last = Math.Min(inputRows, first + InputChunk);
                for (int r = begin; r < end; r++)
                {
                    var wRow = (sbyte*)w + ((long)r * columns);
                    var wScales = (float*)wd + ((long)r * blocks);
                    var output = y + r;
                    int i = first;
                    if (TLanes.IsVectorized)
                    {
                        for (; i + 8 <= last; i += 8)
                            DotGroup<TLanes, Count.Eight>(wRow, wScales, xq + ((long)i * columns), xd + ((long)i * blocks), columns, blocks, output + ((long)i * rows), rows);
                        for (; i + 4 <= last; i += 4)
                            DotGroup<TLanes, Count.Four>(wRow, wScales, xq + ((long)i * columns), xd + ((long)i * blocks), columns, blocks, output + ((long)i * rows), rows);
                        for (; i < last; i++)
                            output[(long)i * rows] = Dot<TLanes>(wRow, wScales, xq + ((long)i * columns), xd + ((long)i * blocks), blocks);
                    }
                    for (; i < last; i++)
                    {
                        output[(long)i * rows] = Q8Blocks.Dot(new ReadOnlySpan<sbyte>(wRow, columns), new ReadOnlySpan<float>(wScales, blocks),
                            new ReadOnlySpan<sbyte>(xq + ((long)i * columns), columns), new ReadOnlySpan<float>(xd + ((long)i * blocks), blocks));
                    }
                }
            }
        }
    }

    /// <summary>
    /// One weight row against four or eight input rows (<typeparamref name="TGroup"/>; <paramref name="x"/> with stride
    /// <paramref name="columns"/>, their scales with stride <paramref name="blocks"/>), each summed as
    /// <see cref="Dot{TLanes}"/>: the weight block and what it contributes to every row's lanes are loaded once for the
    /// group. One offset and one block index address every row, so the loop is the vector work and its loads; each scale
    /// product is the fp32 product of the two scales. The JIT drops the second half for groups of four.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DotGroup<TLanes, TGroup>(sbyte* w, float* wScales, sbyte* x, float* xScales, int columns, int blocks, float* y, int rows)
        where TLanes : struct, IBlockLanes
        where TGroup : struct, ICount
    {
        bool eight = TGroup.Value == 8;
        sbyte* x1 = x + columns, x2 = x1 + columns, x3 = x2 + columns, x4 = x3 + columns, x5 = x4 + columns, x6 = x5 + columns, x7 = x6 + columns;
        float* d1 = xScales + blocks, d2 = d1 + blocks, d3 = d2 + blocks, d4 = d3 + blocks, d5 = d4 + blocks, d6 = d5 + blocks, d7 = d6 + blocks;
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (nint b = 0, at = 0; b < blocks; b++, at += Q8Blocks.Size)
        {
            var wv = Avx.LoadVector256(w + at);
            var prepared = TLanes.Prepare(wv);
            var scale = Vector256.Create(wScales[b]);
            s0 = Fma.MultiplyAdd(scale * Vector256.Create(xScales[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x + at)), s0);
            s1 = Fma.MultiplyAdd(scale * Vector256.Create(d1[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x1 + at)), s1);
            s2 = Fma.MultiplyAdd(scale * Vector256.Create(d2[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x2 + at)), s2);
            s3 = Fma.MultiplyAdd(scale * Vector256.Create(d3[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x3 + at)), s3);
            if (eight)
            {
                s4 = Fma.MultiplyAdd(scale * Vector256.Create(d4[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x4 + at)), s4);
                s5 = Fma.MultiplyAdd(scale * Vector256.Create(d5[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x5 + at)), s5);
                s6 = Fma.MultiplyAdd(scale * Vector256.Create(d6[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x6 + at)), s6);
                s7 = Fma.MultiplyAdd(scale * Vector256.Create(d7[b]), TLanes.Lanes(wv, prepared, Avx.LoadVector256(x7 + at)), s7);
            }
        }
        y[0] = Q8Blocks.HorizontalSum(s0);
        y[rows] = Q8Blocks.HorizontalSum(s1);
        y[2 * rows] = Q8Blocks.HorizontalSum(s2);
        y[3 * rows] = Q8Blocks.HorizontalSum(s3);
        if (eight)
        {
            y[4 * rows] = Q8Blocks.HorizontalSum(s4);
            y[5 * rows] = Q8Blocks.HorizontalSum(s5);
            y[6 * rows] = Q8Blocks.HorizontalSum(s6);
            y[7 * rows] = Q8Blocks.HorizontalSum(s7);
        }
    }

    /// <summary>One weight row against one input row: per block, the lanes by the product of the two scales, fused into 8 fp32 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe float Dot<TLanes>(sbyte* w, float* wScales, sbyte* x, float* xScales, int blocks)
        where TLanes : struct, IBlockLanes
    {
        var sum = Vector256<float>.Zero;
        for (nint b = 0, at = 0; b < blocks; b++, at += Q8Blocks.Size)
        {
            var wv = Avx.LoadVector256(w + at);
            sum = Fma.MultiplyAdd(Vector256.Create(wScales[b] * xScales[b]), TLanes.Lanes(wv, TLanes.Prepare(wv), Avx.LoadVector256(x + at)), sum);
        }
        return Q8Blocks.HorizontalSum(sum);
    }

    /// <summary>
    /// How a CPU sums one block's 32 int8 products into 8 int32 lanes of 4 consecutive products each, as fp32: exact
    /// integers, so every implementation gives the same lanes. <see cref="Prepare"/> is what the weight block contributes
    /// to every input row's lanes, computed once per block.
    /// </summary>
    internal interface IBlockLanes
    {
        static abstract bool IsSupported { get; }

        static abstract bool IsVectorized { get; }

        /// <summary>Puts a product's quantized activations in the form <see cref="Lanes"/> reads.</summary>
        static abstract void PrepareActivations(Span<sbyte> quants);

        static abstract Vector256<sbyte> Prepare(Vector256<sbyte> w);

        static abstract Vector256<float> Lanes(Vector256<sbyte> w, Vector256<sbyte> prepared, Vector256<sbyte> x);
    }

    /// <summary>
    /// AVX-VNNI <c>vpdpbusd</c>, which multiplies unsigned by signed bytes, on activations stored as x + 128: each lane
    /// starts at −128 × the sum of its four weights (prepared once per block) and adds (x + 128) · w, which leaves x · w.
    /// </summary>
    internal readonly struct VnniLanes : IBlockLanes
    {
        public static bool IsSupported => AvxVnni.IsSupported && Fma.IsSupported;

        public static bool IsVectorized => true;

        // Optimized at its first call: it runs over every quantized activation of a product, and the first prompt's
        // products otherwise ran its tier-0 code until on-stack replacement.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void PrepareActivations(Span<sbyte> quants)
        {
            var bytes = System.Runtime.InteropServices.MemoryMarshal.Cast<sbyte, byte>(quants);
            int i = 0;
            for (; i + Vector256<byte>.Count <= bytes.Length; i += Vector256<byte>.Count)
                (Vector256.Create<byte>(bytes[i..]) ^ Vector256.Create((byte)0x80)).CopyTo(bytes[i..]);
            for (; i < bytes.Length; i++)
                bytes[i] ^= 0x80;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<sbyte> Prepare(Vector256<sbyte> w) =>
            (Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.Create((byte)128), w)).AsSByte();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Lanes(Vector256<sbyte> w, Vector256<sbyte> prepared, Vector256<sbyte> x) =>
            Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(prepared.AsInt32(), x.AsByte(), w));
    }

    /// <summary>
    /// AVX2 <c>vpmaddubsw</c>/<c>vpmaddwd</c>, as llama.cpp's AVX2 kernel: |w| as unsigned bytes (prepared once per block)
    /// times x with w's sign, pairs summed to int16 (never saturating: |w|, |x| ≤ 127), then quads to int32.
    /// </summary>
    internal readonly struct Avx2Lanes : IBlockLanes
    {
        public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

        public static bool IsVectorized => true;

        public static void PrepareActivations(Span<sbyte> quants)
        {
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<sbyte> Prepare(Vector256<sbyte> w) => Avx2.Sign(w, w);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Lanes(Vector256<sbyte> w, Vector256<sbyte> prepared, Vector256<sbyte> x) =>
            Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(prepared.AsByte(), Avx2.Sign(x, w)), Vector256.Create((short)1)));
    }

    /// <summary>No AVX2: <see cref="Q8Blocks.Dot"/> row by row.</summary>
    internal readonly struct PortableLanes : IBlockLanes
    {
        public static bool IsSupported => true;

        public static bool IsVectorized => false;

        public static void PrepareActivations(Span<sbyte> quants)
        {
        }

        public static Vector256<sbyte> Prepare(Vector256<sbyte> w) => throw new NotSupportedException();

        public static Vector256<float> Lanes(Vector256<sbyte> w, Vector256<sbyte> prepared, Vector256<sbyte> x) => throw new NotSupportedException();
    }
}
