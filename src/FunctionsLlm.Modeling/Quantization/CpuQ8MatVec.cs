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
/// where the CPU has it: the same integers in the same lanes), scaled and summed in fp32
/// (<see cref="Q8Blocks.Dot"/> is the same sum in plain code and the fallback without AVX2). Reading 1 byte per weight
/// instead of 4 is what makes batch-1 decode faster; W's rows are split over torch's thread count.
/// </summary>
internal static class CpuQ8MatVec
{
    private const int InputChunk = 16;

    public static unsafe Tensor Multiply(Tensor input, Q8Weight weight)
    {
        int rows = (int)weight.Shape[0], columns = (int)weight.Shape[1];
        int inputRows = (int)(input.numel() / columns);
        using var scope = NewDisposeScope();
        var x = input.to(ScalarType.Float32).contiguous();
        var y = empty([.. input.shape[..^1], rows], ScalarType.Float32).MoveToOuterDisposeScope();
        fixed (byte* xs = x.bytes, ys = y.bytes)
            Multiply((float*)xs, inputRows, weight, (float*)ys);
        return y;
    }

    /// <summary>y (inputRows, out) = x (inputRows, in) Wᵀ, fp32 in memory that stays put.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Multiply(float* x, int inputRows, Q8Weight weight, float* y)
    {
        int columns = (int)weight.Shape[1], blocks = columns / Q8Blocks.Size;
        // Pooled: a decode step makes ~85 products, and fresh arrays for each would keep the collector busy.
        var xq = ArrayPool<sbyte>.Shared.Rent(inputRows * columns);
        var xd = ArrayPool<float>.Shared.Rent(inputRows * blocks);
        try
        {
            var xs = new ReadOnlySpan<float>(x, inputRows * columns);
            for (int i = 0; i < inputRows; i++)
                Q8Blocks.QuantizeActivations(xs.Slice(i * columns, columns), xq.AsSpan(i * columns, columns), xd.AsSpan(i * blocks, blocks));
            if (AvxVnni.IsSupported)
                ToUnsigned(xq.AsSpan(0, inputRows * columns));
            Multiply(xq, xd, inputRows, weight, y);
        }
        finally
        {
            ArrayPool<sbyte>.Shared.Return(xq);
            ArrayPool<float>.Shared.Return(xd);
        }
    }

    /// <summary>y = W x for input rows already quantized to Q8_0 blocks (<paramref name="xq"/>, <paramref name="xd"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Multiply(sbyte[] xq, float[] xd, int inputRows, Q8Weight weight, float* y)
    {
        int rows = (int)weight.Shape[0], columns = (int)weight.Shape[1], blocks = columns / Q8Blocks.Size;
        int threads = (long)rows * columns < (1 << 18) ? 1 : Math.Max(1, Math.Min(get_num_threads(), rows / 64));
        fixed (byte* w = weight.Quants.bytes, wd = weight.Scales.bytes)
        fixed (sbyte* xqp = xq)
        fixed (float* xdp = xd)
        {
            nint wp = (nint)w, wdp = (nint)wd, yp = (nint)y, xp = (nint)xqp, xdpp = (nint)xdp;
            int perThread = (rows + threads - 1) / threads;
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            void Slice(int begin, int end)
            {
                // A chunk of input rows stays in cache while the slice's weight rows stream past it; four input rows
                // share each loaded weight block. Every output is summed as Q8Blocks.Dot sums it, in any grouping.
                for (int first = 0; first < inputRows; first += InputChunk)
                {
                    int last = Math.Min(inputRows, first + InputChunk);
                    for (int r = begin; r < end; r++)
                    {
                        var wRow = (sbyte*)wp + ((long)r * columns);
                        var wScales = (float*)wdp + ((long)r * blocks);
                        int i = first;
                        if (AvxVnni.IsSupported && Fma.IsSupported)
                        {
                            for (; i + 4 <= last; i += 4)
                                Dot4Vnni(wRow, wScales, (byte*)xp + ((long)i * columns), (float*)xdpp + ((long)i * blocks), columns, blocks, (float*)yp + ((long)i * rows) + r, rows);
                        }
                        else if (Avx2.IsSupported && Fma.IsSupported)
                        {
                            for (; i + 4 <= last; i += 4)
                                Dot4Avx2(wRow, wScales, (sbyte*)xp + ((long)i * columns), (float*)xdpp + ((long)i * blocks), columns, blocks, (float*)yp + ((long)i * rows) + r, rows);
                        }
                        for (; i < last; i++)
                        {
                            var xRow = (sbyte*)xp + ((long)i * columns);
                            var xScales = (float*)xdpp + ((long)i * blocks);
                            ((float*)yp)[((long)i * rows) + r] = AvxVnni.IsSupported && Fma.IsSupported
                                ? DotVnni(wRow, wScales, (byte*)xRow, xScales, blocks)
                                : Avx2.IsSupported && Fma.IsSupported
                                ? DotAvx2(wRow, wScales, xRow, xScales, blocks)
                                : Q8Blocks.Dot(new ReadOnlySpan<sbyte>(wRow, columns), new ReadOnlySpan<float>(wScales, blocks),
                                    new ReadOnlySpan<sbyte>(xRow, columns), new ReadOnlySpan<float>(xScales, blocks));
                        }
                    }
                }
            }
            if (threads == 1)
                Slice(0, rows);
            else
                KernelThreads.Run(threads, t => Slice(t * perThread, Math.Min(rows, (t + 1) * perThread)));
        }
    }

    /// <summary>
    /// Activations in the form the VNNI kernels read: each int8 plus 128, an unsigned byte (<c>vpdpbusd</c> multiplies
    /// unsigned by signed bytes). The kernels take 128 × the weights' sum back off in the same int32 lanes.
    /// </summary>
    private static void ToUnsigned(Span<sbyte> quants)
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.Cast<sbyte, byte>(quants);
        int i = 0;
        for (; i + Vector256<byte>.Count <= bytes.Length; i += Vector256<byte>.Count)
            (Vector256.Create<byte>(bytes[i..]) ^ Vector256.Create((byte)0x80)).CopyTo(bytes[i..]);
        for (; i < bytes.Length; i++)
            bytes[i] ^= 0x80;
    }

    /// <summary>
    /// <see cref="Dot4Avx2"/> with <c>vpdpbusd</c> (AVX-VNNI): the lanes start at −128 × the sum of the block's four weights
    /// in each and add (x + 128) · w, so they hold the same exact integers, and the fp32 sums are the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Dot4Vnni(sbyte* w, float* wScales, byte* x, float* xScales, int columns, int blocks, float* y, int rows)
    {
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        for (int b = 0; b < blocks; b++)
        {
            int at = b * Q8Blocks.Size;
            var wv = Avx.LoadVector256(w + at);
            var start = VnniLaneStart(wv);
            float scale = wScales[b];
            s0 = Fma.MultiplyAdd(Vector256.Create(scale * xScales[b]), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(start, Avx.LoadVector256(x + at), wv)), s0);
            s1 = Fma.MultiplyAdd(Vector256.Create(scale * xScales[blocks + b]), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(start, Avx.LoadVector256(x + columns + at), wv)), s1);
            s2 = Fma.MultiplyAdd(Vector256.Create(scale * xScales[(2 * blocks) + b]), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(start, Avx.LoadVector256(x + (2 * columns) + at), wv)), s2);
            s3 = Fma.MultiplyAdd(Vector256.Create(scale * xScales[(3 * blocks) + b]), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(start, Avx.LoadVector256(x + (3 * columns) + at), wv)), s3);
        }
        y[0] = Q8Blocks.HorizontalSum(s0);
        y[rows] = Q8Blocks.HorizontalSum(s1);
        y[2 * rows] = Q8Blocks.HorizontalSum(s2);
        y[3 * rows] = Q8Blocks.HorizontalSum(s3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe float DotVnni(sbyte* w, float* wScales, byte* x, float* xScales, int blocks)
    {
        var sum = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++)
        {
            var wv = Avx.LoadVector256(w + (b * Q8Blocks.Size));
            var quads = AvxVnni.MultiplyWideningAndAdd(VnniLaneStart(wv), Avx.LoadVector256(x + (b * Q8Blocks.Size)), wv);
            sum = Fma.MultiplyAdd(Vector256.Create(wScales[b] * xScales[b]), Avx.ConvertToVector256Single(quads), sum);
        }
        return Q8Blocks.HorizontalSum(sum);
    }

    /// <summary>−128 × the sum of each lane's four weights of a block: where a VNNI lane starts, so that adding (x + 128) · w leaves x · w.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> VnniLaneStart(Vector256<sbyte> w) =>
        Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.Create((byte)128), w);

    /// <summary>One weight row against four input rows (<paramref name="x"/>, stride <paramref name="columns"/>), each summed as <see cref="DotAvx2"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Dot4Avx2(sbyte* w, float* wScales, sbyte* x, float* xScales, int columns, int blocks, float* y, int rows)
    {
        var ones = Vector256.Create((short)1);
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        for (int b = 0; b < blocks; b++)
        {
            int at = b * Q8Blocks.Size;
            var wv = Avx.LoadVector256(w + at);
            var magnitude = Avx2.Sign(wv, wv).AsByte();
            float scale = wScales[b];
            s0 = Fma.MultiplyAdd(Vector256.Create(scale * xScales[b]), Sum(magnitude, wv, Avx.LoadVector256(x + at), ones), s0);
            s1 = Fma.MultiplyAdd(Vector256.Create(scale * xScales[blocks + b]), Sum(magnitude, wv, Avx.LoadVector256(x + columns + at), ones), s1);
            s2 = Fma.MultiplyAdd(Vector256.Create(scale * xScales[(2 * blocks) + b]), Sum(magnitude, wv, Avx.LoadVector256(x + (2 * columns) + at), ones), s2);
            s3 = Fma.MultiplyAdd(Vector256.Create(scale * xScales[(3 * blocks) + b]), Sum(magnitude, wv, Avx.LoadVector256(x + (3 * columns) + at), ones), s3);
        }
        y[0] = Q8Blocks.HorizontalSum(s0);
        y[rows] = Q8Blocks.HorizontalSum(s1);
        y[2 * rows] = Q8Blocks.HorizontalSum(s2);
        y[3 * rows] = Q8Blocks.HorizontalSum(s3);
    }

    /// <summary>The 8 lane sums (4 exact int8 products each) of one block, as fp32.</summary>
    private static Vector256<float> Sum(Vector256<byte> wMagnitude, Vector256<sbyte> w, Vector256<sbyte> x, Vector256<short> ones) =>
        Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(wMagnitude, Avx2.Sign(x, w)), ones));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe float DotAvx2(sbyte* w, float* wScales, sbyte* x, float* xScales, int blocks)
    {
        var ones = Vector256.Create((short)1);
        var sum = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++)
        {
            var wv = Avx.LoadVector256(w + (b * Q8Blocks.Size));
            var xv = Avx.LoadVector256(x + (b * Q8Blocks.Size));
            // |w| as unsigned times x with w's sign: vpmaddubsw's operands; pairs then quads summed exactly in int32.
            var pairs = Avx2.MultiplyAddAdjacent(Avx2.Sign(wv, wv).AsByte(), Avx2.Sign(xv, wv));
            var quads = Avx2.MultiplyAddAdjacent(pairs, ones);
            var scale = Vector256.Create(wScales[b] * xScales[b]);
            sum = Fma.MultiplyAdd(scale, Avx.ConvertToVector256Single(quads), sum);
        }
        return Q8Blocks.HorizontalSum(sum);
    }
}
