using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FunctionsLlm.Modeling.Runtime;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>The step's single-query attention over one KV head's cached positions.</summary>
internal sealed partial class CpuDecodeStep
{
    // A long cache's keys and values come from DRAM (a decode step's weights have pushed them out of cache), and the
    // hardware prefetcher stays too close behind the dot products: asking this many positions ahead took attention at
    // 1,024 cached positions from 2.05-2.15 to 1.53-1.68 ms a step for one row, 14.5-16.8 to 12.1-12.6 for eight, the
    // whole 8-row step ~4% (bench/README.md); 8 to 64 positions ahead measured alike, 64 cached positions no change.
    private const int KeyPrefetchPositions = 16, ValuePrefetchPositions = 8;

    // vperm2f128 selectors: the low 128-bit halves of both operands, the high halves of both.
    private const byte LowHalves = 0x20, HighHalves = 0x31;

    /// <summary>
    /// A query of a step's attention: one query head of one token, at <see cref="At"/> in the step's queries and in its
    /// attended outputs, over the first <see cref="Length"/> cached positions of its row.
    /// </summary>
    private readonly record struct Query(int At, int Length);

    /// <summary>Up to <see cref="Most"/> queries of one KV head of one cache row, which read its keys and values together.</summary>
    private readonly struct Bunch
    {
        public const int Most = 3;

        private readonly Query _first, _second, _third;

        public Bunch(int cacheRow, int kvHead, ReadOnlySpan<Query> queries)
        {
            (CacheRow, KvHead, Count) = (cacheRow, kvHead, queries.Length);
            _first = queries[0];
            _second = queries.Length > 1 ? queries[1] : default;
            _third = queries.Length > 2 ? queries[2] : default;
            Longest = Math.Max(_first.Length, Math.Max(_second.Length, _third.Length));
        }

        public int CacheRow { get; }

        public int KvHead { get; }

        public int Count { get; }

        /// <summary>The most positions any of the queries reads.</summary>
        public int Longest { get; }

        public Query this[int k] => k switch { 0 => _first, 1 => _second, _ => _third };
    }

    /// <summary>
    /// The step's queries in bunches: for each cache row (its tokens are consecutive rows of the step) and KV head, the
    /// query heads of that KV head for each of the row's tokens in turn, three at a time.
    /// </summary>
    private List<Bunch> Bunches(int[] cacheRows, int[] slots, int groups)
    {
        _bunches.Clear();
        Span<Query> pending = stackalloc Query[Bunch.Most];
        for (int first = 0, end; first < _rows; first = end)
        {
            for (end = first + 1; end < _rows && cacheRows[end] == cacheRows[first]; end++)
            {
            }
            for (int kv = 0; kv < _kvHeads; kv++)
            {
                int n = 0;
                for (int token = first; token < end; token++)
                {
                    for (int head = kv * groups; head < (kv + 1) * groups; head++)
                    {
                        pending[n++] = new Query(((token * _heads) + head) * _headDim, slots[token] + 1);
                        if (n == Bunch.Most)
                        {
                            _bunches.Add(new Bunch(cacheRows[first], kv, pending));
                            n = 0;
                        }
                    }
                }
                if (n > 0)
                    _bunches.Add(new Bunch(cacheRows[first], kv, pending[..n]));
            }
        }
        return _bunches;
    }

    /// <summary>
    /// softmax(q·Kᵀ · scale) V for each query of <paramref name="bunch"/> over the valid ones of its cached positions of one
    /// KV head, into the step's attended outputs. Each query's scores are its own pass over the keys (the first asks for
    /// them ahead; the others find them in cache), the bunch's longest length apart in <paramref name="buffer"/>; the
    /// values are read once for the bunch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void Attend(Bunch bunch, float* keys, float* values, bool* valid, float scale, AlignedFloats buffer)
    {
        int stride = bunch.Longest;
        var scores = buffer.AsSpan(0, Bunch.Most * stride);
        if (Vector512.IsHardwareAccelerated && bunch.Count == 3 && bunch[0].Length == stride && bunch[1].Length == stride && bunch[2].Length == stride)
        {
            ThreeProbabilities(bunch, keys, valid, stride, scale, scores);
        }
        else
        {
            for (int k = 0; k < bunch.Count; k++)
                Probabilities(_q.AsSpan(bunch[k].At, _headDim), keys, valid, bunch[k].Length, scale, scores.Slice(k * stride, bunch[k].Length), prefetch: k == 0);
        }
        WeightedValues(bunch, scores, stride, values, valid);
    }

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

    /// <summary>
    /// Each query's Σ scores[s] · values[s] over its valid positions s in order (as one FMA a position for every output
    /// lane): 64 lanes at a time in registers, then the rest 8 at a time. On 512-bit lanes the bunch's queries share each
    /// loaded value and interleave their FMA chains (one query's four chains left the FMAs waiting on their latency and
    /// read the values once a query).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void WeightedValues(Bunch bunch, ReadOnlySpan<float> scores, int stride, float* values, bool* valid)
    {
        int d = 0;
        for (; d + 64 <= _headDim; d += 64)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                if (bunch.Count == 3)
                    ValueSums64Wide<Count.Three>(bunch, scores, stride, values + d, valid, d);
                else if (bunch.Count == 2)
                    ValueSums64Wide<Count.Two>(bunch, scores, stride, values + d, valid, d);
                else
                    ValueSums64Wide<Count.One>(bunch, scores, stride, values + d, valid, d);
                continue;
            }
            for (int k = 0; k < bunch.Count; k++)
                ValueSums64(scores.Slice(k * stride, bunch[k].Length), values + d, valid, bunch[k].Length, _attended.AsSpan(bunch[k].At + d, 64));
        }
        for (; d < _headDim; d += 8)
        {
            for (int k = 0; k < bunch.Count; k++)
            {
                var queryScores = scores.Slice(k * stride, bunch[k].Length);
                Vector256<float> a = default;
                for (int s = 0; s < queryScores.Length; s++)
                {
                    if (valid[s])
                        a = Vector256.FusedMultiplyAdd(Vector256.Create(queryScores[s]), Vector256.Load(values + ((long)s * _headDim) + d), a);
                }
                a.CopyTo(_attended.AsSpan(bunch[k].At + d, 8));
            }
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

    /// <summary>
    /// <see cref="ValueSums64"/> on 512-bit lanes for the <typeparamref name="TQueries"/> queries of
    /// <paramref name="bunch"/> (each over its own positions), into lanes [<paramref name="at"/>, +64) of each query's
    /// output: each output lane gets the same FMAs in the same order as <see cref="ValueSums64"/> gives it, each loaded
    /// value serving every query that reads it. The JIT drops the queries beyond the count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void ValueSums64Wide<TQueries>(Bunch bunch, ReadOnlySpan<float> scores, int stride, float* values, bool* valid, int at)
        where TQueries : struct, ICount
    {
        int count = TQueries.Value;
        int firstLength = bunch[0].Length, secondLength = count > 1 ? bunch[1].Length : 0, thirdLength = count > 2 ? bunch[2].Length : 0;
        int longest = bunch.Longest;
        var first = scores[..firstLength];
        var second = scores.Slice(stride, secondLength);
        var third = scores.Slice(2 * stride, thirdLength);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int s = 0; s < longest; s++)
        {
            float* value = values + ((long)s * _headDim);
            if (s + ValuePrefetchPositions < longest)
                Prefetch(value + ((long)ValuePrefetchPositions * _headDim), 64);
            if (!valid[s])
                continue;
            var v0 = Vector512.Load(value);
            var v1 = Vector512.Load(value + 16);
            var v2 = Vector512.Load(value + 32);
            var v3 = Vector512.Load(value + 48);
            if (s < firstLength)
            {
                var weight = Vector512.Create(first[s]);
                a0 = Vector512.FusedMultiplyAdd(weight, v0, a0);
                a1 = Vector512.FusedMultiplyAdd(weight, v1, a1);
                a2 = Vector512.FusedMultiplyAdd(weight, v2, a2);
                a3 = Vector512.FusedMultiplyAdd(weight, v3, a3);
            }
            if (count > 1 && s < secondLength)
            {
                var weight = Vector512.Create(second[s]);
                b0 = Vector512.FusedMultiplyAdd(weight, v0, b0);
                b1 = Vector512.FusedMultiplyAdd(weight, v1, b1);
                b2 = Vector512.FusedMultiplyAdd(weight, v2, b2);
                b3 = Vector512.FusedMultiplyAdd(weight, v3, b3);
            }
            if (count > 2 && s < thirdLength)
            {
                var weight = Vector512.Create(third[s]);
                c0 = Vector512.FusedMultiplyAdd(weight, v0, c0);
                c1 = Vector512.FusedMultiplyAdd(weight, v1, c1);
                c2 = Vector512.FusedMultiplyAdd(weight, v2, c2);
                c3 = Vector512.FusedMultiplyAdd(weight, v3, c3);
            }
        }
        Store(a0, a1, a2, a3, _attended.AsSpan(bunch[0].At + at, 64));
        if (count > 1)
            Store(b0, b1, b2, b3, _attended.AsSpan(bunch[1].At + at, 64));
        if (count > 2)
            Store(c0, c1, c2, c3, _attended.AsSpan(bunch[2].At + at, 64));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3, Span<float> output)
    {
        a0.CopyTo(output[..16]);
        a1.CopyTo(output.Slice(16, 16));
        a2.CopyTo(output.Slice(32, 16));
        a3.CopyTo(output.Slice(48, 16));
    }

    /// <summary>All-ones lanes where the eight positions from <paramref name="valid"/> are valid, zero where not.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> Valid8(bool* valid) =>
        ~Vector256.Equals(Avx2.ConvertToVector256Int32((byte*)valid), Vector256<int>.Zero).AsSingle();

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
