using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// A prompt's causal self-attention on the CPU, softmax(q·Kᵀ / √head_dim) V with query i seeing keys 0 … past + i (the
/// cached positions, then the new ones up to its own; past is 0 for a whole prompt, more for a later chunk), in managed
/// 512-bit code: libtorch's causal <c>scaled_dot_product_attention</c> took 6–7 ms a layer of a 512-token prompt on the
/// bench model (~20% of the prefill) for 0.4 GFLOP. Each task is eight consecutive queries of one head: their scores
/// against 16 keys at a time as a tile (the eight queries' elements broadcast against the keys transposed, one
/// accumulator a query), the softmax of each query's row, then the value sums 32 lanes at a time (16 accumulators).
/// Grouped-query heads read their KV head's keys and values in place. The output is already in the (B, T, heads ·
/// head_dim) layout the o projection reads.
/// </summary>
internal static class CpuCausalAttention
{
    private const int Queries = 8;
    private const int KeyLanes = 16;

    /// <summary>
    /// Whether <see cref="Attend"/> takes these (B, heads, T, head_dim) queries and (B, kv_heads, S, head_dim) keys and
    /// values, S ≥ T: fp32 on a CPU with 512-bit vectors, head_dim a multiple of 16, with autograd off (a training
    /// forward keeps libtorch's attention, as <see cref="CpuMatVec"/> keeps its products).
    /// </summary>
    public static bool Applies(Tensor q, Tensor k, Tensor v) =>
        Vector512.IsHardwareAccelerated && !is_grad_enabled()
        && q.device_type == TorchSharp.DeviceType.CPU && q.dtype == ScalarType.Float32 && k.dtype == ScalarType.Float32 && v.dtype == ScalarType.Float32
        && !q.requires_grad && !k.requires_grad && !v.requires_grad
        && q.dim() == 4 && k.dim() == 4 && q.shape[3] % KeyLanes == 0 && q.shape[1] % k.shape[1] == 0
        && k.shape[2] >= q.shape[2] && v.shape[2] == k.shape[2] && q.shape[2] > 1;

    /// <summary>
    /// (B, heads, T, head_dim) queries, (B, kv_heads, S, head_dim) keys and values whose last T positions are the queries'
    /// → (B, T, heads · head_dim).
    /// </summary>
    public static unsafe Tensor Attend(Tensor q, Tensor k, Tensor v)
    {
        int batch = (int)q.shape[0], heads = (int)q.shape[1], length = (int)q.shape[2], headDim = (int)q.shape[3];
        int kvHeads = (int)k.shape[1], keyCount = (int)k.shape[2], past = keyCount - length;
        int padded = (keyCount + KeyLanes - 1) / KeyLanes * KeyLanes;
        using var scope = NewDisposeScope();
        var queries = q.contiguous();
        var keys = k.contiguous();
        var values = v.contiguous();
        var output = empty([batch, length, heads * headDim], ScalarType.Float32).MoveToOuterDisposeScope();
        int threads = Math.Max(1, get_num_threads());
        int blocks = (length + Queries - 1) / Queries, tasks = batch * heads * blocks;
        var transposed = ArrayPool<float>.Shared.Rent(batch * kvHeads * headDim * padded);
        int perThread = (Queries * padded) + (Queries * headDim);
        var scratch = ArrayPool<float>.Shared.Rent(threads * perThread);
        try
        {
            fixed (byte* qb = queries.bytes, kb = keys.bytes, vb = values.bytes, ob = output.bytes)
            fixed (float* kt = transposed, work = scratch)
            {
                nint qp = (nint)qb, kp = (nint)kb, vp = (nint)vb, op = (nint)ob, ktp = (nint)kt, wp = (nint)work;
                KernelThreads.Run(threads, part =>
                {
                    for (int head = part; head < batch * kvHeads; head += threads)
                        Transpose((float*)kp + ((long)head * keyCount * headDim), keyCount, headDim, padded, (float*)ktp + ((long)head * headDim * padded));
                }, KernelThreads.BriefSpin);
                KernelThreads.Run(threads, part =>
                {
                    float* mine = (float*)wp + ((long)part * perThread);
                    // Task i: block i / (B · heads) of head i % (B · heads), so neighbouring tasks cost about the same.
                    for (int task = part; task < tasks; task += threads)
                    {
                        int block = task / (batch * heads), head = task % (batch * heads), b = head / heads, h = head % heads;
                        int kvHead = (b * kvHeads) + (h / (heads / kvHeads));
                        Block((float*)qp + ((((long)head * length) + ((long)block * Queries)) * headDim),
                            (float*)ktp + ((long)kvHead * headDim * padded), (float*)vp + ((long)kvHead * keyCount * headDim),
                            (float*)op + ((((long)b * length) + ((long)block * Queries)) * heads * headDim) + ((long)h * headDim),
                            block * Queries, length, past, headDim, padded, heads * headDim, mine, mine + (Queries * padded));
                    }
                }, KernelThreads.BriefSpin);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(transposed);
            ArrayPool<float>.Shared.Return(scratch);
        }
        return output;
    }

    /// <summary>Keys (length × headDim) into (headDim × padded), zeros past the last key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Transpose(float* keys, int length, int headDim, int padded, float* target)
    {
        for (int d = 0; d < headDim; d++)
        {
            float* row = target + ((long)d * padded);
            for (int s = 0; s < length; s++)
                row[s] = keys[((long)s * headDim) + d];
            for (int s = length; s < padded; s++)
                row[s] = 0;
        }
    }

    /// <summary>
    /// Queries <paramref name="first"/> … first + 7 (those below <paramref name="length"/>; at positions
    /// <paramref name="past"/> + first …) of one head into their rows of the output (stride
    /// <paramref name="outputStride"/>). <paramref name="scores"/> holds eight rows of <paramref name="padded"/> floats,
    /// <paramref name="block"/> the eight queries (zeros past the last).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Block(float* q, float* keysT, float* values, float* output, int first, int length, int past, int headDim,
        int padded, int outputStride, float* scores, float* block)
    {
        int rows = Math.Min(Queries, length - first), seen = past + first + rows;
        new ReadOnlySpan<float>(q, rows * headDim).CopyTo(new Span<float>(block, Queries * headDim));
        new Span<float>(block + (rows * headDim), (Queries - rows) * headDim).Clear();
        float scale = 1f / MathF.Sqrt(headDim);
        for (int s = 0; s < seen; s += KeyLanes)
            Scores(block, keysT + s, headDim, padded, scale, scores + s);
        var sums = stackalloc float[Queries];
        for (int r = 0; r < rows; r++)
            sums[r] = Softmax(scores + ((long)r * padded), past + first + r + 1, seen);
        for (int d = 0; d < headDim; d += 2 * KeyLanes)
        {
            if (d + (2 * KeyLanes) <= headDim)
                ValueSums32(scores, padded, values + d, headDim, seen, rows, sums, output + d, outputStride);
            else
                ValueSums16(scores, padded, values + d, headDim, seen, rows, sums, output + d, outputStride);
        }
    }

    /// <summary>Eight queries' scores against 16 keys (columns of <paramref name="keysT"/>), times the scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Scores(float* block, float* keysT, int headDim, int padded, float scale, float* scores)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        float* q1 = block + headDim, q2 = q1 + headDim, q3 = q2 + headDim, q4 = q3 + headDim, q5 = q4 + headDim, q6 = q5 + headDim, q7 = q6 + headDim;
        for (int d = 0; d < headDim; d++)
        {
            var key = Vector512.Load(keysT + ((long)d * padded));
            a0 = Vector512.FusedMultiplyAdd(Vector512.Create(block[d]), key, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Create(q1[d]), key, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Create(q2[d]), key, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Create(q3[d]), key, a3);
            a4 = Vector512.FusedMultiplyAdd(Vector512.Create(q4[d]), key, a4);
            a5 = Vector512.FusedMultiplyAdd(Vector512.Create(q5[d]), key, a5);
            a6 = Vector512.FusedMultiplyAdd(Vector512.Create(q6[d]), key, a6);
            a7 = Vector512.FusedMultiplyAdd(Vector512.Create(q7[d]), key, a7);
        }
        var s = Vector512.Create(scale);
        (a0 * s).Store(scores);
        (a1 * s).Store(scores + padded);
        (a2 * s).Store(scores + (2 * padded));
        (a3 * s).Store(scores + (3 * padded));
        (a4 * s).Store(scores + (4 * padded));
        (a5 * s).Store(scores + (5 * padded));
        (a6 * s).Store(scores + (6 * padded));
        (a7 * s).Store(scores + (7 * padded));
    }

    /// <summary>
    /// exp(score − max) over a query's first <paramref name="visible"/> keys, zero for the rest up to
    /// <paramref name="seen"/> (so every row of the block sums over the same keys); returns the sum of the exponentials.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float Softmax(float* row, int visible, int seen)
    {
        var maxes = Vector512.Create(float.NegativeInfinity);
        int s = 0;
        for (; s + KeyLanes <= visible; s += KeyLanes)
            maxes = Vector512.Max(maxes, Vector512.Load(row + s));
        float max = Lanes.Max(maxes);
        for (; s < visible; s++)
            max = MathF.Max(max, row[s]);
        var sums = Vector512<float>.Zero;
        var shift = Vector512.Create(max);
        s = 0;
        for (; s + KeyLanes <= visible; s += KeyLanes)
        {
            var e = Vector512.Exp(Vector512.Load(row + s) - shift);
            e.Store(row + s);
            sums += e;
        }
        float sum = Vector512.Sum(sums);
        for (; s < visible; s++)
        {
            row[s] = MathF.Exp(row[s] - max);
            sum += row[s];
        }
        for (; s < seen; s++)
            row[s] = 0;
        return sum;
    }

    /// <summary>Lanes d … d + 31 of each query's Σₛ pₛ vₛ / Σₛ pₛ over the block's <paramref name="seen"/> keys.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ValueSums32(float* scores, int padded, float* values, int headDim, int seen, int rows, float* sums, float* output,
        int outputStride)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
        float* p1 = scores + padded, p2 = p1 + padded, p3 = p2 + padded, p4 = p3 + padded, p5 = p4 + padded, p6 = p5 + padded, p7 = p6 + padded;
        for (int s = 0; s < seen; s++)
        {
            float* value = values + ((long)s * headDim);
            var low = Vector512.Load(value);
            var high = Vector512.Load(value + KeyLanes);
            var w = Vector512.Create(scores[s]);
            a0 = Vector512.FusedMultiplyAdd(w, low, a0);
            b0 = Vector512.FusedMultiplyAdd(w, high, b0);
            w = Vector512.Create(p1[s]);
            a1 = Vector512.FusedMultiplyAdd(w, low, a1);
            b1 = Vector512.FusedMultiplyAdd(w, high, b1);
            w = Vector512.Create(p2[s]);
            a2 = Vector512.FusedMultiplyAdd(w, low, a2);
            b2 = Vector512.FusedMultiplyAdd(w, high, b2);
            w = Vector512.Create(p3[s]);
            a3 = Vector512.FusedMultiplyAdd(w, low, a3);
            b3 = Vector512.FusedMultiplyAdd(w, high, b3);
            w = Vector512.Create(p4[s]);
            a4 = Vector512.FusedMultiplyAdd(w, low, a4);
            b4 = Vector512.FusedMultiplyAdd(w, high, b4);
            w = Vector512.Create(p5[s]);
            a5 = Vector512.FusedMultiplyAdd(w, low, a5);
            b5 = Vector512.FusedMultiplyAdd(w, high, b5);
            w = Vector512.Create(p6[s]);
            a6 = Vector512.FusedMultiplyAdd(w, low, a6);
            b6 = Vector512.FusedMultiplyAdd(w, high, b6);
            w = Vector512.Create(p7[s]);
            a7 = Vector512.FusedMultiplyAdd(w, low, a7);
            b7 = Vector512.FusedMultiplyAdd(w, high, b7);
        }
        Store(a0, b0, sums[0], output, 0, rows);
        Store(a1, b1, sums[1], output + outputStride, 1, rows);
        Store(a2, b2, sums[2], output + (2L * outputStride), 2, rows);
        Store(a3, b3, sums[3], output + (3L * outputStride), 3, rows);
        Store(a4, b4, sums[4], output + (4L * outputStride), 4, rows);
        Store(a5, b5, sums[5], output + (5L * outputStride), 5, rows);
        Store(a6, b6, sums[6], output + (6L * outputStride), 6, rows);
        Store(a7, b7, sums[7], output + (7L * outputStride), 7, rows);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(Vector512<float> low, Vector512<float> high, float sum, float* output, int row, int rows)
    {
        if (row >= rows)
            return;
        var total = Vector512.Create(sum);
        (low / total).Store(output);
        (high / total).Store(output + KeyLanes);
    }

    /// <summary>Lanes d … d + 15, as <see cref="ValueSums32"/> (a head_dim that is an odd multiple of 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ValueSums16(float* scores, int padded, float* values, int headDim, int seen, int rows, float* sums, float* output,
        int outputStride)
    {
        for (int r = 0; r < rows; r++)
        {
            float* p = scores + ((long)r * padded);
            var a = Vector512<float>.Zero;
            for (int s = 0; s < seen; s++)
                a = Vector512.FusedMultiplyAdd(Vector512.Create(p[s]), Vector512.Load(values + ((long)s * headDim)), a);
            (a / Vector512.Create(sums[r])).Store(output + ((long)r * outputStride));
        }
    }
}
