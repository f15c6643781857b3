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
    /// KV head, into the step's attended outputs. A bunch of three queries over the same positions is scored in one pass
    /// over the keys (<see cref="ThreeProbabilities"/>); otherwise each query's scores are its own pass (the first asks for
    /// the keys ahead; the others find them in cache). Scores lie the bunch's longest length apart in
    /// <paramref name="buffer"/>; the values are read once for the bunch.
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

    /// <summary>Asks for the cache lines of <paramref name="count"/> floats from <paramref name="from"/> (64-byte lines).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(float* from, int count)
    {
        if (!Sse.IsSupported)
            return;
        for (int k = 0; k < count; k += 16)
            Sse.Prefetch0(from + k);
    }
}
