using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Quantization;

/// <summary>
/// y = W x for a Q8_0 weight and fp32 input rows on the CPU, as llama.cpp computes it: each input row quantized to
/// Q8_0 blocks, then int8 dot products per block (AVX2 <c>vpmaddubsw</c>/<c>vpmaddwd</c>), scaled and summed in fp32
/// (<see cref="Q8Blocks.Dot"/> is the same sum in plain code and the fallback without AVX2). Reading 1 byte per weight
/// instead of 4 is what makes batch-1 decode faster; W's rows are split over torch's thread count.
/// </summary>
internal static class CpuQ8MatVec
{
    public static unsafe Tensor Multiply(Tensor input, Q8Weight weight)
    {
        int rows = (int)weight.Shape[0], columns = (int)weight.Shape[1], blocks = columns / Q8Blocks.Size;
        int inputRows = (int)(input.numel() / columns);
        using var scope = NewDisposeScope();
        var x = input.to(ScalarType.Float32).contiguous();
        var xq = new sbyte[(long)inputRows * columns];
        var xd = new float[(long)inputRows * blocks];
        var xs = MemoryMarshal.Cast<byte, float>(x.bytes);
        for (int i = 0; i < inputRows; i++)
            Q8Blocks.QuantizeActivations(xs.Slice(i * columns, columns), xq.AsSpan(i * columns, columns), xd.AsSpan(i * blocks, blocks));
        var y = empty([.. input.shape[..^1], rows], ScalarType.Float32).MoveToOuterDisposeScope();
        int threads = (long)rows * columns < (1 << 18) ? 1 : Math.Max(1, Math.Min(get_num_threads(), rows / 64));
        fixed (byte* w = weight.Quants.bytes, wd = weight.Scales.bytes, ys = y.bytes)
        fixed (sbyte* xqp = xq)
        fixed (float* xdp = xd)
        {
            nint wp = (nint)w, wdp = (nint)wd, yp = (nint)ys, xp = (nint)xqp, xdpp = (nint)xdp;
            int perThread = (rows + threads - 1) / threads;
            void Slice(int begin, int end)
            {
                for (int r = begin; r < end; r++)
                {
                    var wRow = (sbyte*)wp + ((long)r * columns);
                    var wScales = (float*)wdp + ((long)r * blocks);
                    for (int i = 0; i < inputRows; i++)
                    {
                        ((float*)yp)[((long)i * rows) + r] = Avx2.IsSupported && Fma.IsSupported
                            ? DotAvx2(wRow, wScales, (sbyte*)xp + ((long)i * columns), (float*)xdpp + ((long)i * blocks), blocks)
                            : Q8Blocks.Dot(new ReadOnlySpan<sbyte>(wRow, columns), new ReadOnlySpan<float>(wScales, blocks),
                                new ReadOnlySpan<sbyte>((sbyte*)xp + ((long)i * columns), columns), new ReadOnlySpan<float>((float*)xdpp + ((long)i * blocks), blocks));
                    }
                }
            }
            if (threads == 1)
                Slice(0, rows);
            else
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => Slice(t * perThread, Math.Min(rows, (t + 1) * perThread)));
        }
        return y;
    }

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
