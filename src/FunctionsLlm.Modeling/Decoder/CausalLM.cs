using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Runtime;
using TorchSharp;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// A decoder-only language model of the llama / qwen2 / qwen3 / mistral families, laid out like HF's
/// *ForCausalLM so parameter names equal checkpoint keys. Build with <see cref="ModelLoader"/>.
/// </summary>
public sealed class CausalLM : nn.Module
{
    public readonly DecoderStack model;
    public readonly nn.Module<Tensor, Tensor>? lm_head;

    private readonly RotaryEmbedding _rotary;
    private readonly CpuDecodeStep? _decodeStep;

    internal CausalLM(ModelConfig config, GenerationConfig generation, DecoderStack model, nn.Module<Tensor, Tensor>? lm_head,
        Device device, ScalarType dtype)
        : base(nameof(CausalLM))
    {
        if (lm_head is null && !config.TieWordEmbeddings)
            throw new ArgumentException("lm_head is required unless tie_word_embeddings is set", nameof(lm_head));
        Config = config;
        GenerationConfig = generation;
        this.model = model;
        this.lm_head = lm_head;
        Device = device;
        DType = dtype;
        _rotary = new RotaryEmbedding(config, device, dtype);
        RegisterComponents();
        _decodeStep = CpuDecodeStep.For(this);
    }

    public ModelConfig Config { get; }

    public GenerationConfig GenerationConfig { get; }

    public Device Device { get; }

    /// <summary>The dtype weights are held and computed in (fp32 on CPU, bf16 on CUDA by default).</summary>
    public ScalarType DType { get; }

    /// <summary>End-of-sequence ids: generation_config.json first, config.json otherwise.</summary>
    public IReadOnlyList<int> EosTokenIds => GenerationConfig.EosTokenId ?? Config.EosTokenId ?? [];

    /// <summary>
    /// In training, keep only each layer's input and recompute the layer in backward (<see cref="LayerCheckpoint"/>):
    /// activation memory of one layer instead of all, for about a third more compute.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>
    /// CPU fp32 decoding (one token per row, up to 16 rows) of plain llama/mistral/qwen2/qwen3 layers runs in managed
    /// code (<see cref="CpuDecodeStep"/>) instead of libtorch's small ops; false always takes the libtorch path.
    /// </summary>
    public bool ManagedDecode { get; set; } = true;

    public KvCache CreateCache(int batch, int capacity) => new(Config, batch, capacity, Device, DType);

    /// <summary>
    /// Logits (B, T, vocab) in fp32 for (B, T) int64 token ids, or (B, 1, vocab) for the last position only.
    /// <paramref name="attentionMask"/> (B, T), 1 for real tokens and 0 for padding (left padding for batched
    /// generation), as in HF. With a cache the tokens continue what it holds, and it is advanced by T.
    /// </summary>
    public Tensor Forward(Tensor inputIds, KvCache? cache = null, Tensor? attentionMask = null, bool lastPositionOnly = false)
    {
        if (inputIds.ndim != 2)
            throw new ArgumentException($"input ids must be (batch, tokens), got [{string.Join(", ", inputIds.shape)}]", nameof(inputIds));
        int batch = (int)inputIds.shape[0], t = (int)inputIds.shape[1];
        int past = cache?.Length ?? 0;
        if (cache is not null && (cache.Batch != batch || past + t > cache.Capacity))
            throw new ArgumentException($"the cache holds {cache.Batch} sequences with room for {cache.Capacity - past} more positions; got {batch} × {t}");
        bool ragged = cache is { IsRagged: true };
        if (ragged && (t != 1 || attentionMask is not null))
            throw new ArgumentException($"the cache's rows differ in length: only one new token per row, without a mask, is accepted; got {batch} × {t}");

        if (ManagedDecode && _decodeStep is not null && _decodeStep.Applies(inputIds, cache, attentionMask)
            && inputIds.data<long>().ToArray() is var tokens && tokens.All(t => t >= 0 && t < Config.VocabSize))
            return _decodeStep.Step(tokens, cache!, _rotary);

        using var scope = NewDisposeScope();
        var ids = inputIds.to(ScalarType.Int64, Device);
        var valid = attentionMask?.to(ScalarType.Bool, Device);
        bool newHasPadding = valid is not null && !valid.all().item<bool>();
        if (!newHasPadding)
            valid = null;

        var offset = cache?.NextPosition.unsqueeze(1) ?? zeros([batch, 1], ScalarType.Int64, Device);
        var positions = valid is null
            ? Range(0, t).unsqueeze(0).add(offset, One)
            : valid.to(ScalarType.Int64).cumsum(1).sub_(One).clamp_min_(Zero).add_(offset, One);   // (B, T)
        int maxPosition = (cache is null ? 0 : past) + t - 1;
        var (cos, sin) = _rotary.For(positions, maxPosition);

        bool isCausal = false, plainCausal = false;
        var mask = ragged ? cache!.BeginRaggedStep() : AttentionMask(cache, past, t, valid, out isCausal, out plainCausal);
        var inputs = new AttentionInputs(cos, sin, mask, isCausal, cache, plainCausal);

        var x = model.embed_tokens.forward(ids).to(DType);
        bool checkpoint = GradientCheckpointing && training && is_grad_enabled() && cache is null;
        foreach (var layer in model.layers)
        {
            var output = checkpoint ? LayerCheckpoint.Apply(layer, x, inputs) : layer.Forward(x, inputs);
            // Each layer's input goes as soon as the layer is done (autograd keeps what it saved): left to the scope, they
            // split the heap that a long prompt's activations come back to (a fifth fewer page faults in a first prefill).
            if (!checkpoint)
                x.Dispose();
            x = output;
        }
        x = model.norm.forward(lastPositionOnly ? x.narrow(1, t - 1, 1) : x);
        var logits = lm_head is null ? LinearLayer.Project(x, model.embed_tokens.weight) : lm_head.forward(x);

        cache?.Advance(t, valid, newHasPadding);
        return logits.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>The most tokens a <see cref="ForwardRagged"/> pass takes, over all its rows.</summary>
    public const int MaxRaggedTokens = CpuMatVec.MaxInputRows;

    /// <summary>
    /// Whether <see cref="ForwardRagged"/> can run <paramref name="counts"/>[r] new tokens for row r of
    /// <paramref name="cache"/> in one pass: the managed CPU step (fp32 CPU weights of a plain architecture), at least one
    /// token per row and <see cref="MaxRaggedTokens"/> in all, no gradient. Served adapters (banks) are selected per token
    /// (one entry per token, row after row), and the head must have none.
    /// </summary>
    public bool CanForwardRagged(int[] counts, KvCache cache) =>
        ManagedDecode && _decodeStep is not null && _decodeStep.AppliesRagged(counts, cache);

    /// <summary>
    /// One pass in which row r of <paramref name="cache"/> takes <paramref name="counts"/>[r] new tokens
    /// (<paramref name="tokens"/> row after row): a prompt's next chunk in one row next to one token in each decoding row,
    /// so the chunk rides along with the decode step instead of a pass of its own. Logits (rows, 1, vocab) of each row's
    /// last new token; the cache advanced by each row's count. Check <see cref="CanForwardRagged"/> first.
    /// </summary>
    public Tensor ForwardRagged(long[] tokens, int[] counts, KvCache cache)
    {
        if (!CanForwardRagged(counts, cache) || tokens.Length != counts.Sum() || tokens.Any(t => t < 0 || t >= Config.VocabSize))
            throw new ArgumentException($"a ragged pass needs the managed CPU step, 1 to 16 tokens per row within the vocabulary and {counts.Sum()} token ids; got {tokens.Length}");
        return _decodeStep!.StepRagged(tokens, counts, cache, _rotary);
    }

    /// <summary>
    /// (B, 1, T, S) bool, or null when plain causal (or, for one token, unmasked) attention is exact;
    /// <paramref name="plainCausal"/> where several new tokens need no more than causal attention after the cached keys.
    /// </summary>
    private Tensor? AttentionMask(KvCache? cache, int past, int t, Tensor? valid, out bool isCausal, out bool plainCausal)
    {
        using var scope = NewDisposeScope();
        int s = past + t;
        bool padded = valid is not null || (cache?.HasPadding ?? false);
        bool windowed = Config.AttentionWindow is { } window && s > window;
        isCausal = false;
        plainCausal = !padded && !windowed && t > 1;
        if (!padded && !windowed)
        {
            if (t == 1)
                return null;
            if (past == 0)
            {
                isCausal = true;
                return null;
            }
        }
        var queryPositions = Range(past, s).unsqueeze(1);                                  // (T, 1)
        var keyPositions = Range(0, s).unsqueeze(0);                                        // (1, S)
        var allowed = keyPositions <= queryPositions;                                       // (T, S)
        if (windowed)
        {
            using var windowSize = Config.AttentionWindow!.Value.ToScalar();
            allowed = allowed.logical_and((queryPositions - keyPositions).lt(windowSize));
        }
        var mask = allowed.unsqueeze(0).unsqueeze(0);                                       // (1, 1, T, S)
        if (padded)
        {
            int batch = cache?.Batch ?? (int)valid!.shape[0];
            var newValid = valid ?? ones([batch, t], ScalarType.Bool, Device);
            var keyValid = cache is null ? newValid : cat([cache.Valid.narrow(1, 0, past), newValid], 1);   // (B, S)
            // A padding query may see no real key; letting every query see itself keeps softmax finite.
            var self = (keyPositions == queryPositions).unsqueeze(0).unsqueeze(0);
            mask = mask.logical_and(keyValid.unsqueeze(1).unsqueeze(1)).logical_or(self);  // (B, 1, T, S)
        }
        return mask.MoveToOuterDisposeScope();
    }

    /// <summary>start, start + 1, …, stop − 1 (int64) on the model's device.</summary>
    private Tensor Range(long start, long stop)
    {
        using var first = start.ToScalar();
        using var end = stop.ToScalar();
        return arange(first, end, One, ScalarType.Int64, Device);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _rotary.Dispose();
        base.Dispose(disposing);
    }
}
