using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>The step's single-query attention over one KV head's cached positions.</summary>
internal sealed partial class CpuDecodeStep
{
    // A long cache's keys and values come from DRAM (a decode step's weights have pushed them out of cache), and the
    // hardware prefetcher stays too close behind the dot products: asking this many positions ahead took attention at
    // 1,024 cached positions from 2.05-2.15 to 1.53-1.68 ms a step for one row, 14.5-16.8 to 12.1-12.6 for eight, the
    // whole 8-row step ~4% (bench/README.md); 8 to 64 positions ahead measured alike, 64 cached positions no change.
    private const int KeyPrefetchPositions = 16, ValuePrefetchPositions = 8;

    /// <summary>softmax(q·Kᵀ · scale) V over the valid ones of the first <paramref name="length"/> cached positions of one KV head.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void Attend(ReadOnlySpan<float> q, float* keys, float* values, bool* valid, int length, float scale, float[] buffer,
        Span<float> output)
    {
        var scores = buffer.AsSpan(0, length);
        float max = float.NegativeInfinity;
        int p = 0;
        // Eight positions at a time: eight independent sums (a chain of FMAs each), each in the order Dot sums one.
        for (; p + 8 <= length; p += 8)
        {
            if (p + KeyPrefetchPositions < length)
                Prefetch(keys + ((long)(p + KeyPrefetchPositions) * _headDim), 8 * _headDim);
            Dot8(q, keys + ((long)p * _headDim), _headDim, scores.Slice(p, 8));
            for (int k = p; k < p + 8; k++)
            {
                scores[k] = valid[k] ? scores[k] * scale : float.NegativeInfinity;
                max = MathF.Max(max, scores[k]);
            }
        }
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
        // Output lanes in registers, 64 at a time (the rest 8 at a time), each summed over the positions in order (as one FMA
        // a position): eight independent FMA chains a position, where four left half the FMA slots waiting on their latency.
        int d = 0;
        for (; d + 64 <= _headDim; d += 64)
            ValueSums64(scores, values + d, valid, length, output.Slice(d, 64));
        for (; d < _headDim; d += 8)
        {
            Vector256<float> a = default;
            for (int s = 0; s < length; s++)
            {
                if (valid[s])
                    a = Vector256.FusedMultiplyAdd(Vector256.Create(scores[s]), Vector256.Load(values + ((long)s * _headDim) + d), a);
            }
            a.CopyTo(output.Slice(d, 8));
        }
    }

    /// <summary>Σ scores[s] · values[s][0..64) over the valid positions s in order, one FMA a position for each lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void ValueSums64(ReadOnlySpan<float> scores, float* values, bool* valid, int length, Span<float> output)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int s = 0; s < length; s++)
        {
            float* value = values + ((long)s * _headDim);
            if (s + ValuePrefetchPositions < length)
                Prefetch(value + ((long)ValuePrefetchPositions * _headDim), 64);
            if (!valid[s])
                continue;
            var weight = Vector256.Create(scores[s]);
            a0 = Vector256.FusedMultiplyAdd(weight, Vector256.Load(value), a0);
            a1 = Vector256.FusedMultiplyAdd(weight, Vector256.Load(value + 8), a1);
            a2 = Vector256.FusedMultiplyAdd(weight, Vector256.Load(value + 16), a2);
            a3 = Vector256.FusedMultiplyAdd(weight, Vector256.Load(value + 24), a3);
            a4 = Vector256.FusedMultiplyAdd(weight, Vector256.Load(value + 32), a4);
            a5 = Vector256.FusedMultiplyAdd(weight, Vector256.Load(value + 40), a5);
            a6 = Vector256.FusedMultiplyAdd(weight, Vector256.Load(value + 48), a6);
            a7 = Vector256.FusedMultiplyAdd(weight, Vector256.Load(value + 56), a7);
        }
        a0.CopyTo(output[..8]);
        a1.CopyTo(output.Slice(8, 8));
        a2.CopyTo(output.Slice(16, 8));
        a3.CopyTo(output.Slice(24, 8));
        a4.CopyTo(output.Slice(32, 8));
        a5.CopyTo(output.Slice(40, 8));
        a6.CopyTo(output.Slice(48, 8));
        a7.CopyTo(output.Slice(56, 8));
    }

    /// <summary>Asks for the cache lines of <paramref name="count"/> floats from <paramref name="from"/> (64-byte lines).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(float* from, int count)
    {
        if (!Sse.IsSupported)
            return;
        for (int k = 0; k < count; k += 16)
            Sse.Prefetch0(from + k);
    }

    // Inlined into Attend's loop over positions (a method compiled with AggressiveOptimization is not inlined).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
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

    /// <summary>q against eight consecutive keys (rows of <paramref name="length"/> floats from <paramref name="keys"/>) into <paramref name="dots"/>, each summed as <see cref="Dot"/> sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Dot8(ReadOnlySpan<float> q, float* keys, int length, Span<float> dots)
    {
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        float* k1 = keys + length, k2 = k1 + length, k3 = k2 + length, k4 = k3 + length, k5 = k4 + length, k6 = k5 + length, k7 = k6 + length;
        int i = 0;
        for (; i + 8 <= length; i += 8)
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
        (dots[0], dots[1], dots[2], dots[3]) = (Vector256.Sum(s0), Vector256.Sum(s1), Vector256.Sum(s2), Vector256.Sum(s3));
        (dots[4], dots[5], dots[6], dots[7]) = (Vector256.Sum(s4), Vector256.Sum(s5), Vector256.Sum(s6), Vector256.Sum(s7));
        for (; i < length; i++)
        {
            dots[0] += q[i] * keys[i];
            dots[1] += q[i] * k1[i];
            dots[2] += q[i] * k2[i];
            dots[3] += q[i] * k3[i];
            dots[4] += q[i] * k4[i];
            dots[5] += q[i] * k5[i];
            dots[6] += q[i] * k6[i];
            dots[7] += q[i] * k7[i];
        }
    }
}
