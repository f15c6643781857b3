using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>The step's attention scores: softmax(q·Kᵀ · scale) over one KV head's cached positions.</summary>
internal sealed partial class CpuDecodeStep
{
    // vperm2f128 selectors: the low 128-bit halves of both operands, the high halves of both.
    private const byte LowHalves = 0x20, HighHalves = 0x31;

    /// <summary>
    /// <see cref="Probabilities"/> for a bunch of three queries over the same positions (a decoding row's query heads of one
    /// KV head), each key vector loaded once for the three (<see cref="Dot8Three"/>): every score, maximum and probability
    /// the bits <see cref="Probabilities"/> gives it. The decode step against three passes over the keys (in-process A/B,
    /// 64–720 cached positions): 8 rows 3.9% faster, one row unchanged (bench/README.md). 512-bit CPUs only: the 24 sums
    /// and their operands need 32 vector registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void ThreeProbabilities(Bunch bunch, float* keys, bool* valid, int length, float scale, Span<float> scores)
    {
        var first = scores[..length];
        var second = scores.Slice(length, length);
        var third = scores.Slice(2 * length, length);
        var scales = Vector256.Create(scale);
        var minusInfinity = Vector256.Create(float.NegativeInfinity);
        Vector256<float> maxes0 = minusInfinity, maxes1 = minusInfinity, maxes2 = minusInfinity;
        int p = 0;
        fixed (float* queries = _q)
        {
            float* q0 = queries + bunch[0].At, q1 = queries + bunch[1].At, q2 = queries + bunch[2].At;
            for (; p + 8 <= length; p += 8)
            {
                if (p + KeyPrefetchPositions < length)
                    Prefetch(keys + ((long)(p + KeyPrefetchPositions) * _headDim), 8 * _headDim);
                var (dots0, dots1, dots2) = Dot8Three(q0, q1, q2, keys + ((long)p * _headDim), _headDim);
                var validity = Valid8(valid + p);
                var scaled = Vector256.ConditionalSelect(validity, dots0 * scales, minusInfinity);
                scaled.CopyTo(first.Slice(p, 8));
                maxes0 = Vector256.Max(maxes0, scaled);
                scaled = Vector256.ConditionalSelect(validity, dots1 * scales, minusInfinity);
                scaled.CopyTo(second.Slice(p, 8));
                maxes1 = Vector256.Max(maxes1, scaled);
                scaled = Vector256.ConditionalSelect(validity, dots2 * scales, minusInfinity);
                scaled.CopyTo(third.Slice(p, 8));
                maxes2 = Vector256.Max(maxes2, scaled);
            }
        }
        Normalize(_q.AsSpan(bunch[0].At, _headDim), keys, valid, length, scale, first, p, maxes0);
        Normalize(_q.AsSpan(bunch[1].At, _headDim), keys, valid, length, scale, second, p, maxes1);
        Normalize(_q.AsSpan(bunch[2].At, _headDim), keys, valid, length, scale, third, p, maxes2);
    }

    /// <summary>softmax(q·Kᵀ · scale) into <paramref name="scores"/>: −∞ (then 0) at the positions not valid.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void Probabilities(ReadOnlySpan<float> q, float* keys, bool* valid, int length, float scale, Span<float> scores, bool prefetch)
    {
        int p = 0;
        var scales = Vector256.Create(scale);
        var minusInfinity = Vector256.Create(float.NegativeInfinity);
        var laneMaxes = minusInfinity;
        // Eight positions at a time: eight independent sums (a chain of FMAs each), each in the order Dot sums one; the
        // scale, the validity and the running maximum as vector ops on the eight (with the lane sums in one tree and the
        // value sums on 512-bit lanes: attention at 8 rows and ~156 positions 2.1 -> 1.8 ms a step, the same bits;
        // bench/README.md).
        for (; p + 8 <= length; p += 8)
        {
            if (prefetch && p + KeyPrefetchPositions < length)
                Prefetch(keys + ((long)(p + KeyPrefetchPositions) * _headDim), 8 * _headDim);
            var dots = Dot8(q, keys + ((long)p * _headDim), _headDim);
            var scaled = Vector256.ConditionalSelect(Valid8(valid + p), dots * scales, minusInfinity);
            scaled.CopyTo(scores.Slice(p, 8));
            laneMaxes = Vector256.Max(laneMaxes, scaled);
        }
        Normalize(q, keys, valid, length, scale, scores, p, laneMaxes);
    }

    /// <summary>
    /// The rest of <see cref="Probabilities"/> after its blocks of eight positions (the first <paramref name="from"/>, with
    /// the lanes' running maxima <paramref name="laneMaxes"/>): the positions left one by one, then the softmax.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void Normalize(ReadOnlySpan<float> q, float* keys, bool* valid, int length, float scale, Span<float> scores, int from, Vector256<float> laneMaxes)
    {
        float max = float.NegativeInfinity;
        int p = from;
        for (int k = 0; k < 8; k++)
            max = MathF.Max(max, laneMaxes.GetElement(k));
        for (; p < length; p++)
        {
            scores[p] = valid[p] ? Dot(q, new ReadOnlySpan<float>(keys + ((long)p * _headDim), _headDim)) * scale : float.NegativeInfinity;
            max = MathF.Max(max, scores[p]);
        }
        // Invalid positions hold −∞, whose exp is 0. Eight positions at a time, then the rest one by one.
        var maxes = Vector256.Create(max);
        var sums = Vector256<float>.Zero;
        int v = 0;
        for (; v + 8 <= length; v += 8)
        {
            var e = Vector256.Exp(Vector256.Create<float>(scores.Slice(v, 8)) - maxes);
            e.CopyTo(scores.Slice(v, 8));
            sums += e;
        }
        float sum = Vector256.Sum(sums);
        for (; v < length; v++)
        {
            scores[v] = MathF.Exp(scores[v] - max);
            sum += scores[v];
        }
        var sumVector = Vector256.Create(sum);
        v = 0;
        for (; v + 8 <= length; v += 8)
            (Vector256.Create<float>(scores.Slice(v, 8)) / sumVector).CopyTo(scores.Slice(v, 8));
        for (; v < length; v++)
            scores[v] /= sum;
    }

    /// <summary>All-ones lanes where the eight positions from <paramref name="valid"/> are valid, zero where not.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> Valid8(bool* valid) =>
        ~Vector256.Equals(Avx2.ConvertToVector256Int32((byte*)valid), Vector256<int>.Zero).AsSingle();

    // Inlined into Attend's loop over positions (a method compiled with AggressiveOptimization is not inlined).
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
