using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FunctionsLlm.Modeling.Quantization;
using FunctionsLlm.Modeling.Runtime;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// One new token for each of up to <see cref="CpuMatVec.MaxInputRows"/> sequences through the whole model in managed
/// SIMD code: decoding on the CPU in fp32, where libtorch spent about as long dispatching ~600 small ops (norms, rotary,
/// single-query attention, residuals) as the products take (bench/README.md). The products run on
/// <see cref="CpuMatVec"/> / <see cref="CpuQ8MatVec"/> (and an adapter bank's on its own kernel) as before; everything
/// between them is done row by row in scratch buffers, so a row gets the same bits alone and in any batch. Rows may
/// differ in length and hold padding (the cache's valid positions are attended). Logits agree with the libtorch path to
/// fp32 rounding. Only plain llama / mistral / qwen2 / qwen3 layers qualify (<see cref="For"/>, <see cref="Applies"/>);
/// everything else takes the libtorch path.
/// </summary>
internal sealed partial class CpuDecodeStep
{
    private readonly CausalLM _model;
    private readonly LinearLayer[] _linears;   // the model's structure is fixed; adapters attach inside these layers
    private readonly int _hidden, _heads, _kvHeads, _headDim, _intermediate, _vocab;
    private int _rows;   // input rows of the products: the pass's tokens, then its cache rows for the head
    private AlignedFloats _x = AlignedFloats.Empty, _h = AlignedFloats.Empty, _q = AlignedFloats.Empty, _k = AlignedFloats.Empty,
        _v = AlignedFloats.Empty, _attended = AlignedFloats.Empty, _out = AlignedFloats.Empty, _gate = AlignedFloats.Empty,
        _up = AlignedFloats.Empty;
    private readonly List<AlignedFloats> _scratch = [];   // Attend's, one per kernel thread attending
    private readonly List<Bunch> _bunches = [];    // a layer's queries, as Bunches groups them

    // Below this many (query head, cached position) pairs in a step, attention runs on the calling thread alone: waking a
    // second one costs about what it saves (the threshold one row of 64 positions met in the 12-head bench model before).
    private const long AttentionSplit = 64 * 12;

    private CpuDecodeStep(CausalLM model)
    {
        var c = model.Config;
        _model = model;
        _linears = [.. model.modules().OfType<LinearLayer>()];
        _hidden = (int)c.HiddenSize;
        _heads = c.NumAttentionHeads;
        _kvHeads = c.NumKeyValueHeads;
        _headDim = c.HeadDim;
        _intermediate = (int)c.IntermediateSize;
        _vocab = (int)c.VocabSize;
    }

    /// <summary>A step for <paramref name="model"/> when its architecture qualifies, else null.</summary>
    public static CpuDecodeStep? For(CausalLM model)
    {
        var c = model.Config;
        bool plain = model.Device.type == TorchSharp.DeviceType.CPU && model.DType == ScalarType.Float32
            && Vector256.IsHardwareAccelerated && !c.InterleavedRotary && c.RotaryDim == c.HeadDim && !c.SublayerOutputNorms
            && c.HeadDim % 8 == 0;
        return plain ? new CpuDecodeStep(model) : null;
    }

    /// <summary>One int64 token per row for at most 16 rows, no mask, no gradient, no training adapter.</summary>
    public bool Applies(Tensor inputIds, KvCache? cache, Tensor? attentionMask) =>
        cache is not null && attentionMask is null && inputIds.shape[1] == 1 && inputIds.shape[0] == cache.Batch
        && cache.Batch <= CpuMatVec.MaxInputRows && inputIds.dtype == ScalarType.Int64
        && inputIds.device_type == TorchSharp.DeviceType.CPU && !_model.training && !is_grad_enabled()
        && (_model.Config.AttentionWindow is not { } window || cache.Length + 1 <= window)
        && _linears.All(Plain);

    // Adapters served from banks are fine (their update runs on the matrix-vector kernel too); a trained adapter is not.
    private static bool Plain(LinearLayer layer) =>
        layer.lora_A is null && layer.Quantized is null
        && (layer.Q8 is not null || layer.Packed is not null || layer.weight is { } w && w.dtype == ScalarType.Float32 && w.is_contiguous());

    /// <summary>
    /// Several tokens for some rows in one pass (a prompt's chunk next to decoding rows): <paramref name="counts"/>[r] new
    /// tokens for cache row r, at least one each, at most <see cref="CpuMatVec.MaxInputRows"/> in all. Adapter banks pick
    /// their adapter per input row of a product, so the caller selects one per token; the head, which sees one row per
    /// cache row, must have no bank.
    /// </summary>
    public bool AppliesRagged(int[] counts, KvCache cache) =>
        counts.Length == cache.Batch && counts.All(c => c >= 1) && counts.Sum() <= CpuMatVec.MaxInputRows
        && Enumerable.Range(0, cache.Batch).All(r => cache.RowLength(r) + counts[r] <= cache.Capacity
            && (_model.Config.AttentionWindow is not { } window || cache.RowLength(r) + counts[r] <= window))
        && !_model.training && !is_grad_enabled() && _linears.All(Plain) && _model.lm_head is not LinearLayer { Bank: not null };

    /// <summary>Logits (rows, 1, vocab) of each row's next token, and the cache advanced by one position per row.</summary>
    public Tensor Step(long[] tokens, KvCache cache, RotaryEmbedding rotary)
    {
        lock (this)
            return StepLocked(tokens, [.. Enumerable.Repeat(1, tokens.Length)], cache, rotary);
    }

    /// <summary>
    /// <paramref name="counts"/>[r] tokens for row r (<paramref name="tokens"/> row after row, see <see cref="AppliesRagged"/>):
    /// logits (rows, 1, vocab) of each row's last one, and every row advanced by its count. A token attends to its row's
    /// cached positions and to the tokens before it in this pass, so a row's tokens in one pass are its prefill.
    /// </summary>
    public Tensor StepRagged(long[] tokens, int[] counts, KvCache cache, RotaryEmbedding rotary)
    {
        lock (this)
            return StepLocked(tokens, counts, cache, rotary);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe Tensor StepLocked(long[] tokens, int[] counts, KvCache cache, RotaryEmbedding rotary)
    {
        Size(tokens.Length);
        var stack = _model.model;
        fixed (byte* embeddings = stack.embed_tokens.weight.bytes)
        {
            for (int j = 0; j < _rows; j++)
                new ReadOnlySpan<float>((float*)embeddings + (tokens[j] * _hidden), _hidden).CopyTo(_x.AsSpan(j * _hidden, _hidden));
        }
        // Token j of a row writes its key and value at the row's length + j and reads every valid position up to there.
        var cacheRows = new int[_rows];
        var slots = new int[_rows];
        var positions = new long[_rows];
        var lastTokens = new int[counts.Length];
        fixed (byte* next = cache.NextPosition.bytes, valid = cache.Valid.bytes)
        {
            for (int r = 0, j = 0; r < counts.Length; r++)
            {
                for (int k = 0; k < counts[r]; k++, j++)
                {
                    cacheRows[j] = r;
                    slots[j] = cache.RowLength(r) + k;
                    positions[j] = ((long*)next)[r] + k;
                    ((bool*)valid)[((long)r * cache.Capacity) + slots[j]] = true;
                }
                lastTokens[r] = j - 1;
            }
            rotary.Cover((int)positions.Max());
            fixed (byte* cos = rotary.CosTable.bytes, sin = rotary.SinTable.bytes)
            {
                for (int i = 0; i < stack.layers.Count; i++)
                    Layer(stack.layers[i], i, cache, cacheRows, slots, positions, (float*)cos, (float*)sin, (bool*)valid);
            }
        }
        // Only each row's last token goes on to the head, whose product writes straight into the returned tensor.
        _rows = counts.Length;
        for (int r = 0; r < _rows; r++)
            Norm(_x.AsSpan(lastTokens[r] * _hidden, _hidden), stack.norm, _h.AsSpan(r * _hidden, _hidden));
        var logits = empty([_rows, 1, _vocab], ScalarType.Float32, CPU);
        try
        {
            var output = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(logits.bytes);
            if (_model.lm_head is LinearLayer head)
            {
                Project(head, _h, output);
            }
            else
            {
                fixed (byte* table = stack.embed_tokens.weight.bytes)
                fixed (float* h = _h, o = output)
                    CpuMatVec.Multiply(h, _rows, (float*)table, _vocab, _hidden, o);
            }
        }
        catch
        {
            logits.Dispose();
            throw;
        }
        cache.AdvanceRows(counts);
        return logits;
    }

    private void Size(int rows)
    {
        _rows = rows;
        if (_x.Length >= rows * _hidden)
            return;
        _x = new AlignedFloats(rows * _hidden);
        _h = new AlignedFloats(rows * _hidden);
        _q = new AlignedFloats(rows * _heads * _headDim);
        _k = new AlignedFloats(rows * _kvHeads * _headDim);
        _v = new AlignedFloats(rows * _kvHeads * _headDim);
        _attended = new AlignedFloats(rows * _heads * _headDim);
        _out = new AlignedFloats(rows * _hidden);
        _gate = new AlignedFloats(rows * 2 * _intermediate);
        _up = new AlignedFloats(rows * _intermediate);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void Layer(DecoderLayer layer, int index, KvCache cache, int[] cacheRows, int[] slots, long[] positions, float* cos, float* sin, bool* valid)
    {
        var attention = layer.self_attn;
        int qWidth = _heads * _headDim, kvWidth = _kvHeads * _headDim;
        for (int r = 0; r < _rows; r++)
            Norm(_x.AsSpan(r * _hidden, _hidden), layer.input_layernorm, _h.AsSpan(r * _hidden, _hidden));
        ProjectTogether((LinearLayer)attention.q_proj, _q, (LinearLayer)attention.k_proj, _k, (LinearLayer)attention.v_proj, _v);
        for (int r = 0; r < _rows; r++)
        {
            float* rowCos = cos + (positions[r] * _headDim), rowSin = sin + (positions[r] * _headDim);
            for (int head = 0; head < _heads; head++)
            {
                var q = _q.AsSpan((r * qWidth) + (head * _headDim), _headDim);
                if (attention.q_norm is { } qNorm)
                    Norm(q, qNorm, q);
                Rotate(q, rowCos, rowSin);
            }
            for (int head = 0; head < _kvHeads; head++)
            {
                var k = _k.AsSpan((r * kvWidth) + (head * _headDim), _headDim);
                if (attention.k_norm is { } kNorm)
                    Norm(k, kNorm, k);
                Rotate(k, rowCos, rowSin);
            }
        }
        int capacity = cache.Capacity, groups = _heads / _kvHeads;
        float scale = 1f / MathF.Sqrt(_headDim);
        fixed (byte* keyBytes = cache.Keys[index].bytes, valueBytes = cache.Values[index].bytes)
        {
            nint keyBase = (nint)keyBytes, valueBase = (nint)valueBytes, validBase = (nint)valid;
            for (int r = 0; r < _rows; r++)
            {
                for (int kv = 0; kv < _kvHeads; kv++)
                {
                    long slot = (((((long)cacheRows[r] * _kvHeads) + kv) * capacity) + slots[r]) * _headDim;
                    _k.AsSpan((r * kvWidth) + (kv * _headDim), _headDim).CopyTo(new Span<float>((float*)keyBase + slot, _headDim));
                    _v.AsSpan((r * kvWidth) + (kv * _headDim), _headDim).CopyTo(new Span<float>((float*)valueBase + slot, _headDim));
                }
            }
            // The queries of each KV head of a cache row (its query heads, times the row's tokens in this pass: a chunk
            // riding along has several) in bunches of up to three that read the keys and values together, the bunches
            // of every row spread over the kernel threads in one call, each thread with its own scratch, taking the
            // next bunch when done with one (against every thread's fixed share: 8-row steps 2.6–3.7% faster over 64–720
            // positions, in-process A/B). A query's arithmetic is the same however they are bunched and spread.
            var bunches = Bunches(cacheRows, slots, groups);
            int parts = Math.Min(get_num_threads(), bunches.Count);
            long attendedPositions = 0;
            for (int r = 0; r < _rows; r++)
                attendedPositions += slots[r] + 1;
            parts = attendedPositions * _heads >= AttentionSplit ? parts : 1;
            while (_scratch.Count < parts)
                _scratch.Add(new AlignedFloats(ScratchFloats));
            int taken = 0;
            KernelThreads.Run(parts, part =>
            {
                for (int b; (b = Interlocked.Increment(ref taken) - 1) < bunches.Count;)
                    AttendBunch(bunches[b], part);
            });

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            void AttendBunch(Bunch bunch, int part)
            {
                long at = (((long)bunch.CacheRow * _kvHeads) + bunch.KvHead) * capacity * _headDim;
                bool* rowValid = (bool*)validBase + ((long)bunch.CacheRow * capacity);
                Attend(bunch, (float*)keyBase + at, (float*)valueBase + at, rowValid, scale, _scratch[part]);
            }
        }
        Project((LinearLayer)attention.o_proj, _attended, _out);
        Add(_x.AsSpan(0, _rows * _hidden), _out.AsSpan(0, _rows * _hidden));

        for (int r = 0; r < _rows; r++)
            Norm(_x.AsSpan(r * _hidden, _hidden), layer.post_attention_layernorm, _h.AsSpan(r * _hidden, _hidden));
        var mlp = layer.mlp;
        if (mlp.gate_up_proj is LinearLayer fused)
        {
            Project(fused, _h, _gate);
            for (int r = 0; r < _rows; r++)
            {
                var both = _gate.AsSpan(r * 2 * _intermediate, 2 * _intermediate);
                Swiglu(both[.._intermediate], both[_intermediate..], _up.AsSpan(r * _intermediate, _intermediate));
            }
        }
        else
        {
            ProjectTogether((LinearLayer)mlp.gate_proj!, _gate, (LinearLayer)mlp.up_proj!, _up);
            for (int r = 0; r < _rows; r++)
                Swiglu(_gate.AsSpan(r * _intermediate, _intermediate), _up.AsSpan(r * _intermediate, _intermediate), _up.AsSpan(r * _intermediate, _intermediate));
        }
        Project((LinearLayer)mlp.down_proj, _up, _out);
        Add(_x.AsSpan(0, _rows * _hidden), _out.AsSpan(0, _rows * _hidden));
    }

    /// <summary>
    /// silu(gate) · up, into <paramref name="output"/> (which may be <paramref name="up"/>): one row, eight lanes at a time
    /// from its start, so an element gets the same bits in any batch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Swiglu(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> output)
    {
        int i = 0;
        for (; i + 8 <= gate.Length; i += 8)
        {
            var g = Vector256.Create<float>(gate.Slice(i, 8));
            (g / (Vector256<float>.One + Vector256.Exp(-g)) * Vector256.Create<float>(up.Slice(i, 8))).CopyTo(output.Slice(i, 8));
        }
        for (; i < gate.Length; i++)
            output[i] = gate[i] / (1f + MathF.Exp(-gate[i])) * up[i];
    }

    /// <summary>HF's rotate-half rotary: (x₁cos − x₂sin, x₂cos + x₁sin) for element i and i + d/2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void Rotate(Span<float> x, float* cos, float* sin)
    {
        int half = _headDim / 2, i = 0;
        for (; i + 8 <= half; i += 8)
        {
            var first = Vector256.Create<float>(x.Slice(i, 8));
            var second = Vector256.Create<float>(x.Slice(i + half, 8));
            ((first * Vector256.Load(cos + i)) - (second * Vector256.Load(sin + i))).CopyTo(x.Slice(i, 8));
            ((second * Vector256.Load(cos + i + half)) + (first * Vector256.Load(sin + i + half))).CopyTo(x.Slice(i + half, 8));
        }
        for (; i < half; i++)
        {
            float first = x[i], second = x[i + half];
            x[i] = (first * cos[i]) - (second * sin[i]);
            x[i + half] = (second * cos[i + half]) + (first * sin[i + half]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Norm(ReadOnlySpan<float> x, RmsNorm norm, Span<float> output)
    {
        var squares = Vector256<float>.Zero;
        int i = 0;
        for (; i + 8 <= x.Length; i += 8)
        {
            var v = Vector256.Create<float>(x.Slice(i, 8));
            squares = Vector256.FusedMultiplyAdd(v, v, squares);
        }
        float sum = Vector256.Sum(squares);
        for (; i < x.Length; i++)
            sum += x[i] * x[i];
        float inverse = 1f / MathF.Sqrt((sum / x.Length) + (float)norm.Eps);
        var inverses = Vector256.Create(inverse);
        fixed (byte* weightBytes = norm.weight.bytes)
        {
            float* weight = (float*)weightBytes;
            i = 0;
            for (; i + 8 <= x.Length; i += 8)
                (Vector256.Load(weight + i) * (Vector256.Create<float>(x.Slice(i, 8)) * inverses)).CopyTo(output.Slice(i, 8));
            for (; i < x.Length; i++)
                output[i] = weight[i] * (x[i] * inverse);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Add(Span<float> x, ReadOnlySpan<float> y)
    {
        int i = 0;
        for (; i + 8 <= x.Length; i += 8)
            (Vector256.Create<float>(x.Slice(i, 8)) + Vector256.Create<float>(y.Slice(i, 8))).CopyTo(x.Slice(i, 8));
        for (; i < x.Length; i++)
            x[i] += y[i];
    }
}
