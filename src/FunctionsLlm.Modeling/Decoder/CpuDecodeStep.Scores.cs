using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>The step's attention scores: q·Kᵀ for one query or three against eight cached keys at a time.</summary>
internal sealed partial class CpuDecodeStep
{
    // vperm2f128 selectors: the low 128-bit halves of both operands, the high halves of both.
    private const byte LowHalves = 0x20, HighHalves = 0x31;

    /// <summary>All-ones lanes where the eight positions from <paramref name="valid"/> are valid, zero where not.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> Valid8(bool* valid) =>
        ~Vector256.Equals(Avx2.ConvertToVector256Int32((byte*)valid), Vector256<int>.Zero).AsSingle();

    // Inlined into Attend's last positions (a method compiled with AggressiveOptimization is not inlined).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = Vector256<float>.Zero;
        int i = 0;
        for (; i + 8 <= a.Length; i += 8)
            sum = Vector256.FusedMultiplyAdd(Vector256.Create<float>(a.Slice(i, 8)), Vector256.Create<float>(b.Slice(i, 8)), sum);
        float total = Vector256.Sum(sum);
        for (; i < a.Length; i++)
            total += a[i] * b[i];
        return total;
    }

    /// <summary>
    /// q against eight consecutive keys (rows of <paramref name="length"/> floats from <paramref name="keys"/>, a multiple of
    /// 8), each summed as <see cref="Dot"/> sums: 8 lanes of FMAs, then the lanes as <see cref="Vector256.Sum{T}"/> adds them
    /// (within each 128-bit half adjacent lanes, then the pairs; then the halves), all eight sums in one transposed tree.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector256<float> Dot8(ReadOnlySpan<float> q, float* keys, int length)
    {
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        float* k1 = keys + length, k2 = k1 + length, k3 = k2 + length, k4 = k3 + length, k5 = k4 + length, k6 = k5 + length, k7 = k6 + length;
        for (int i = 0; i < length; i += 8)
        {
            var x = Vector256.Create<float>(q.Slice(i, 8));
            s0 = Vector256.FusedMultiplyAdd(x, Vector256.Load(keys + i), s0);
            s1 = Vector256.FusedMultiplyAdd(x, Vector256.Load(k1 + i), s1);
            s2 = Vector256.FusedMultiplyAdd(x, Vector256.Load(k2 + i), s2);
            s3 = Vector256.FusedMultiplyAdd(x, Vector256.Load(k3 + i), s3);
            s4 = Vector256.FusedMultiplyAdd(x, Vector256.Load(k4 + i), s4);
            s5 = Vector256.FusedMultiplyAdd(x, Vector256.Load(k5 + i), s5);
            s6 = Vector256.FusedMultiplyAdd(x, Vector256.Load(k6 + i), s6);
            s7 = Vector256.FusedMultiplyAdd(x, Vector256.Load(k7 + i), s7);
        }
        return Tree(s0, s1, s2, s3, s4, s5, s6, s7);
    }

    /// <summary>
    /// <see cref="Dot8"/> for three queries against the same eight keys, each key vector loaded once for the three: each of
    /// the 24 sums gets the same FMAs in the same order, and the same tree.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe (Vector256<float>, Vector256<float>, Vector256<float>) Dot8Three(float* q0, float* q1, float* q2, float* keys, int length)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        float* k1 = keys + length, k2 = k1 + length, k3 = k2 + length, k4 = k3 + length, k5 = k4 + length, k6 = k5 + length, k7 = k6 + length;
        for (int i = 0; i < length; i += 8)
        {
            var x0 = Vector256.Load(q0 + i);
            var x1 = Vector256.Load(q1 + i);
            var x2 = Vector256.Load(q2 + i);
            var k = Vector256.Load(keys + i);
            (a0, b0, c0) = (Vector256.FusedMultiplyAdd(x0, k, a0), Vector256.FusedMultiplyAdd(x1, k, b0), Vector256.FusedMultiplyAdd(x2, k, c0));
            k = Vector256.Load(k1 + i);
            (a1, b1, c1) = (Vector256.FusedMultiplyAdd(x0, k, a1), Vector256.FusedMultiplyAdd(x1, k, b1), Vector256.FusedMultiplyAdd(x2, k, c1));
            k = Vector256.Load(k2 + i);
            (a2, b2, c2) = (Vector256.FusedMultiplyAdd(x0, k, a2), Vector256.FusedMultiplyAdd(x1, k, b2), Vector256.FusedMultiplyAdd(x2, k, c2));
            k = Vector256.Load(k3 + i);
            (a3, b3, c3) = (Vector256.FusedMultiplyAdd(x0, k, a3), Vector256.FusedMultiplyAdd(x1, k, b3), Vector256.FusedMultiplyAdd(x2, k, c3));
            k = Vector256.Load(k4 + i);
            (a4, b4, c4) = (Vector256.FusedMultiplyAdd(x0, k, a4), Vector256.FusedMultiplyAdd(x1, k, b4), Vector256.FusedMultiplyAdd(x2, k, c4));
            k = Vector256.Load(k5 + i);
            (a5, b5, c5) = (Vector256.FusedMultiplyAdd(x0, k, a5), Vector256.FusedMultiplyAdd(x1, k, b5), Vector256.FusedMultiplyAdd(x2, k, c5));
            k = Vector256.Load(k6 + i);
            (a6, b6, c6) = (Vector256.FusedMultiplyAdd(x0, k, a6), Vector256.FusedMultiplyAdd(x1, k, b6), Vector256.FusedMultiplyAdd(x2, k, c6));
            k = Vector256.Load(k7 + i);
            (a7, b7, c7) = (Vector256.FusedMultiplyAdd(x0, k, a7), Vector256.FusedMultiplyAdd(x1, k, b7), Vector256.FusedMultiplyAdd(x2, k, c7));
        }
        return (Tree(a0, a1, a2, a3, a4, a5, a6, a7), Tree(b0, b1, b2, b3, b4, b5, b6, b7), Tree(c0, c1, c2, c3, c4, c5, c6, c7));
    }

    /// <summary>Eight sums' lanes added as <see cref="Vector256.Sum{T}"/> adds them, all eight in one transposed tree.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Tree(Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3,
        Vector256<float> s4, Vector256<float> s5, Vector256<float> s6, Vector256<float> s7)
    {
        var first = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3));
        var second = Avx.HorizontalAdd(Avx.HorizontalAdd(s4, s5), Avx.HorizontalAdd(s6, s7));
        return Avx.Permute2x128(first, second, LowHalves) + Avx.Permute2x128(first, second, HighHalves);
    }
}
