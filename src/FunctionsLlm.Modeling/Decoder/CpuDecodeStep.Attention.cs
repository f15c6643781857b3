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
    // Without it the 8-row step took 13-27% longer.
    private const int PrefetchPositions = 16;

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
    /// softmax(q·Kᵀ · scale) V for each query of <paramref name="bunch"/> over its valid cached positions, into the step's
    /// attended outputs: one pass over the keys and values, eight positions at a time, each query keeping its running
    /// maximum, its sums of exponentials and its weighted values (rescaled when a block raises the maximum; divided by the
    /// sum at the end). Against scores for every position first, then their softmax, then the values: the 8-row decode step
    /// 2.6-2.9% faster, one row 0.5-1% (in-process A/B over 64-720 cached positions, bench/README.md), with no buffer of
    /// scores and the block's keys and values read together. A bunch of three is scored in one pass over the keys
    /// (<see cref="Dot8Three"/>); the values are read once for the bunch. A query's arithmetic depends only on its own
    /// positions (blocks start at position 0; a block past a query's length is not its block), so it gets the same bits
    /// in any bunch or batch. <paramref name="scratch"/> holds <see cref="ScratchFloats"/> floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void Attend(Bunch bunch, float* keys, float* values, bool* valid, float scale, AlignedFloats scratch)
    {
        int count = bunch.Count, longest = bunch.Longest, headDim = _headDim;
        var scales = Vector256.Create(scale);
        var softmax = stackalloc OnlineSoftmax[Bunch.Most];
        var reads = stackalloc int[Bunch.Most];
        fixed (float* queries = _q, weighted = scratch)
        {
            float* weights = weighted + (Bunch.Most * headDim);   // each query's eight weights of the block
            new Span<float>(weighted, count * headDim).Clear();
            for (int k = 0; k < count; k++)
                softmax[k] = new OnlineSoftmax(float.NegativeInfinity, Vector256<float>.Zero);
            bool together = Vector512.IsHardwareAccelerated && count == 3;
            int p = 0;
            for (; p + 8 <= longest; p += 8)
            {
                if (p + PrefetchPositions < longest)
                {
                    Prefetch(keys + ((long)(p + PrefetchPositions) * headDim), 8 * headDim);
                    Prefetch(values + ((long)(p + PrefetchPositions) * headDim), 8 * headDim);
                }
                var validity = Valid8(valid + p);
                float* block = keys + ((long)p * headDim);
                if (together)
                {
                    var (dots0, dots1, dots2) = Dot8Three(queries + bunch[0].At, queries + bunch[1].At, queries + bunch[2].At, block, headDim);
                    reads[0] = Weigh(softmax, dots0 * scales, validity, bunch[0].Length - p, weights, weighted, headDim);
                    reads[1] = Weigh(softmax + 1, dots1 * scales, validity, bunch[1].Length - p, weights + 8, weighted + headDim, headDim);
                    reads[2] = Weigh(softmax + 2, dots2 * scales, validity, bunch[2].Length - p, weights + 16, weighted + (2 * headDim), headDim);
                }
                else
                {
                    for (int k = 0; k < count; k++)
                    {
                        reads[k] = bunch[k].Length <= p ? 0 : Weigh(softmax + k, Dot8(new ReadOnlySpan<float>(queries + bunch[k].At, headDim), block, headDim) * scales,
                            validity, bunch[k].Length - p, weights + (8 * k), weighted + (k * headDim), headDim);
                    }
                }
                AddValues(count, reads, weights, values + ((long)p * headDim), Vector256.ExtractMostSignificantBits(validity) == 0xFF ? null : valid + p, weighted);
            }
            if (p < longest)
            {
                // The last positions, fewer than eight: scored one by one (as Dot8 scores each), the block's other lanes −∞.
                var tail = stackalloc float[8];
                bool allValid = true;
                for (int s = p; s < longest; s++)
                    allValid &= valid[s];
                for (int k = 0; k < count; k++)
                {
                    if (bunch[k].Length <= p)
                    {
                        reads[k] = 0;
                        continue;
                    }
                    var q = new ReadOnlySpan<float>(queries + bunch[k].At, headDim);
                    for (int s = 0; s < 8; s++)
                        tail[s] = p + s < bunch[k].Length && valid[p + s] ? Dot(q, new ReadOnlySpan<float>(keys + ((long)(p + s) * headDim), headDim)) : float.NegativeInfinity;
                    reads[k] = Weigh(softmax + k, Vector256.Load(tail) * scales, Vector256<float>.AllBitsSet, bunch[k].Length - p, weights + (8 * k), weighted + (k * headDim), headDim);
                }
                AddValues(count, reads, weights, values + ((long)p * headDim), allValid ? null : valid + p, weighted);
            }
            for (int k = 0; k < count; k++)
            {
                float* sums = weighted + (k * headDim);
                var totals = Vector256.Create(Vector256.Sum(softmax[k].Sums));
                var attended = _attended.AsSpan(bunch[k].At, headDim);
                for (int d = 0; d < headDim; d += 8)
                    (Vector256.Load(sums + d) / totals).CopyTo(attended.Slice(d, 8));
            }
        }
    }

    /// <summary>The floats of scratch <see cref="Attend"/> needs: the bunch's weighted sums and each query's block weights.</summary>
    private int ScratchFloats => Bunch.Most * (_headDim + 8);

    /// <summary>A query's running maximum of its scaled scores and its eight lanes' sums of exp(score − maximum).</summary>
    private record struct OnlineSoftmax(float Max, Vector256<float> Sums);

    /// <summary>
    /// A block's eight scaled scores into a query's online softmax: lanes at or past <paramref name="remaining"/> (its
    /// positions left) or not valid are −∞; when the block's largest raises the maximum, the sums so far and the weighted
    /// values <paramref name="weighted"/> are rescaled by exp(old − new); the block's exp(score − maximum) go to
    /// <paramref name="weights"/>. Returns how many of the block's positions the query reads (0 if none is valid).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe int Weigh(OnlineSoftmax* softmax, Vector256<float> scaled, Vector256<float> validity, int remaining, float* weights, float* weighted, int headDim)
    {
        var inRange = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(remaining)).AsSingle();
        var minusInfinity = Vector256.Create(float.NegativeInfinity);
        var masked = Vector256.ConditionalSelect(validity & inRange, scaled, minusInfinity);
        float blockMax = Lanes.Max(masked);
        if (blockMax == float.NegativeInfinity)
            return 0;
        if (blockMax > softmax->Max)
        {
            // exp(−∞) = 0 at the query's first valid block: nothing summed yet.
            float factor = MathF.Exp(softmax->Max - blockMax);
            softmax->Sums *= factor;
            var factors = Vector256.Create(factor);
            for (int d = 0; d < headDim; d += 8)
                (Vector256.Load(weighted + d) * factors).Store(weighted + d);
            softmax->Max = blockMax;
        }
        var e = Vector256.Exp(masked - Vector256.Create(softmax->Max));
        softmax->Sums += e;
        e.Store(weights);
        return Math.Min(8, remaining);
    }

    /// <summary>
    /// Adds a block's values, weighted, to each query's sums: query k the first <paramref name="reads"/>[k] positions,
    /// each one FMA a lane in position order, skipping the positions not valid (<paramref name="valid"/>, null when all
    /// are). 512-bit lanes where the CPU has them, each loaded value serving every query of the bunch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void AddValues(int count, int* reads, float* weights, float* values, bool* valid, float* sums)
    {
        if (count == 3)
            AddValues<Count.Three>(reads, weights, values, valid, sums);
        else if (count == 2)
            AddValues<Count.Two>(reads, weights, values, valid, sums);
        else
            AddValues<Count.One>(reads, weights, values, valid, sums);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void AddValues<TQueries>(int* reads, float* weights, float* values, bool* valid, float* sums)
        where TQueries : struct, ICount
    {
        int count = TQueries.Value, headDim = _headDim;
        int reads0 = reads[0], reads1 = count > 1 ? reads[1] : 0, reads2 = count > 2 ? reads[2] : 0;
        int positions = Math.Max(reads0, Math.Max(reads1, reads2));
        float* sums1 = sums + headDim, sums2 = sums1 + headDim;
        int d = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; d + 16 <= headDim; d += 16)
            {
                var a0 = Vector512.Load(sums + d);
                var a1 = count > 1 ? Vector512.Load(sums1 + d) : default;
                var a2 = count > 2 ? Vector512.Load(sums2 + d) : default;
                for (int j = 0; j < positions; j++)
                {
                    if (valid is not null && !valid[j])
                        continue;
                    var v = Vector512.Load(values + ((long)j * headDim) + d);
                    if (j < reads0)
                        a0 = Vector512.FusedMultiplyAdd(Vector512.Create(weights[j]), v, a0);
                    if (count > 1 && j < reads1)
                        a1 = Vector512.FusedMultiplyAdd(Vector512.Create(weights[8 + j]), v, a1);
                    if (count > 2 && j < reads2)
                        a2 = Vector512.FusedMultiplyAdd(Vector512.Create(weights[16 + j]), v, a2);
                }
                a0.Store(sums + d);
                if (count > 1)
                    a1.Store(sums1 + d);
                if (count > 2)
                    a2.Store(sums2 + d);
            }
        }
        for (; d < headDim; d += 8)
        {
            var a0 = Vector256.Load(sums + d);
            var a1 = count > 1 ? Vector256.Load(sums1 + d) : default;
            var a2 = count > 2 ? Vector256.Load(sums2 + d) : default;
            for (int j = 0; j < positions; j++)
            {
                if (valid is not null && !valid[j])
                    continue;
                var v = Vector256.Load(values + ((long)j * headDim) + d);
                if (j < reads0)
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(weights[j]), v, a0);
                if (count > 1 && j < reads1)
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Create(weights[8 + j]), v, a1);
                if (count > 2 && j < reads2)
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Create(weights[16 + j]), v, a2);
            }
            a0.Store(sums + d);
            if (count > 1)
                a1.Store(sums1 + d);
            if (count > 2)
                a2.Store(sums2 + d);
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
}
