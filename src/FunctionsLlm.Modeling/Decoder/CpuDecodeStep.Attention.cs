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
        // Four positions at a time: four independent sums, each in the order Dot sums one.
        for (; p + 4 <= length; p += 4)
        {
            if (p + KeyPrefetchPositions < length)
                Prefetch(keys + ((long)(p + KeyPrefetchPositions) * _headDim), 4 * _headDim);
            Dot4(q, keys + ((long)p * _headDim), _headDim, out float s0, out float s1, out float s2, out float s3);
            scores[p] = valid[p] ? s0 * scale : float.NegativeInfinity;
            scores[p + 1] = valid[p + 1] ? s1 * scale : float.NegativeInfinity;
            scores[p + 2] = valid[p + 2] ? s2 * scale : float.NegativeInfinity;
            scores[p + 3] = valid[p + 3] ? s3 * scale : float.NegativeInfinity;
            max = MathF.Max(MathF.Max(max, MathF.Max(scores[p], scores[p + 1])), MathF.Max(scores[p + 2], scores[p + 3]));
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
        // Output lanes in registers, 32 at a time, each summed over the positions in order (as one FMA a position).
        int d = 0;
        for (; d + 32 <= _headDim; d += 32)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int s = 0; s < length; s++)
            {
                if (s + ValuePrefetchPositions < length)
                    Prefetch(values + ((long)(s + ValuePrefetchPositions) * _headDim) + d, 32);
                if (!valid[s])
                    continue;
                var weight = Vector256.Create(scores[s]);
                float* value = values + ((long)s * _headDim) + d;
                a0 = Vector256.FusedMultiplyAdd(weight, Vector256.Load(value), a0);
                a1 = Vector256.FusedMultiplyAdd(weight, Vector256.Load(value + 8), a1);
                a2 = Vector256.FusedMultiplyAdd(weight, Vector256.Load(value + 16), a2);
                a3 = Vector256.FusedMultiplyAdd(weight, Vector256.Load(value + 24), a3);
            }
            a0.CopyTo(output.Slice(d, 8));
            a1.CopyTo(output.Slice(d + 8, 8));
            a2.CopyTo(output.Slice(d + 16, 8));
            a3.CopyTo(output.Slice(d + 24, 8));
        }
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

    /// <summary>q against four consecutive keys (rows of <paramref name="length"/> floats from <paramref name="keys"/>), each summed as <see cref="Dot"/> sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Dot4(ReadOnlySpan<float> q, float* keys, int length, out float d0, out float d1, out float d2, out float d3)
    {
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        float* k1 = keys + length, k2 = k1 + length, k3 = k2 + length;
        int i = 0;
        for (; i + 8 <= length; i += 8)
        {
            var x = Vector256.Create<float>(q.Slice(i, 8));
            s0 = Vector256.FusedMultiplyAdd(x, Vector256.Load(keys + i), s0);
            s1 = Vector256.FusedMultiplyAdd(x, Vector256.Load(k1 + i), s1);
            s2 = Vector256.FusedMultiplyAdd(x, Vector256.Load(k2 + i), s2);
            s3 = Vector256.FusedMultiplyAdd(x, Vector256.Load(k3 + i), s3);
        }
        d0 = Vector256.Sum(s0);
        d1 = Vector256.Sum(s1);
        d2 = Vector256.Sum(s2);
        d3 = Vector256.Sum(s3);
        for (; i < length; i++)
        {
            d0 += q[i] * keys[i];
            d1 += q[i] * k1[i];
            d2 += q[i] * k2[i];
            d3 += q[i] * k3[i];
        }
    }
}
