using FunctionsLlm.Modeling.Config;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// Grouped-query self-attention with rotary positions (rotate-half, or interleaved and partial for GLM), optional
/// q/k/v biases (qwen2, GLM) and per-head q/k RMSNorm (qwen3). Query head h reads key/value head h / (heads / kv_heads), as HF's repeat_kv.
/// </summary>
public sealed class Attention : nn.Module
{
    public readonly nn.Module<Tensor, Tensor> q_proj;
    public readonly nn.Module<Tensor, Tensor> k_proj;
    public readonly nn.Module<Tensor, Tensor> v_proj;
    public readonly nn.Module<Tensor, Tensor> o_proj;
    public readonly RmsNorm? q_norm;
    public readonly RmsNorm? k_norm;

    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;
    private readonly int _layer;
    private readonly bool _interleavedRotary;

    public Attention(ModelConfig config, int layer, nn.Module<Tensor, Tensor> q_proj, nn.Module<Tensor, Tensor> k_proj,
        nn.Module<Tensor, Tensor> v_proj, nn.Module<Tensor, Tensor> o_proj, RmsNorm? q_norm, RmsNorm? k_norm)
        : base(nameof(Attention))
    {
        this.q_proj = q_proj;
        this.k_proj = k_proj;
        this.v_proj = v_proj;
        this.o_proj = o_proj;
        this.q_norm = q_norm;
        this.k_norm = k_norm;
        _heads = config.NumAttentionHeads;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        _layer = layer;
        _interleavedRotary = config.InterleavedRotary;
        RegisterComponents();
    }

    /// <summary>(B, T, hidden) → (B, T, hidden).</summary>
    internal Tensor Forward(Tensor x, AttentionInputs inputs)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var projected = LinearLayer.ForwardAll(x, q_proj, k_proj, v_proj);
        var q = projected[0].view(b, t, _heads, _headDim);     // (B, T, nh, hd)
        var k = projected[1].view(b, t, _kvHeads, _headDim);   // (B, T, nkv, hd)
        var v = projected[2].view(b, t, _kvHeads, _headDim);
        if (q_norm is not null && k_norm is not null)
        {
            q = q_norm.forward(q);
            k = k_norm.forward(k);
        }
        q = Rotate(q, inputs);   // (B, nh, T, hd)
        k = Rotate(k, inputs);   // (B, nkv, T, hd)
        v = v.transpose(1, 2);
        if (inputs.Cache is { } cache)
            (k, v) = cache.Append(_layer, k, v);                                 // (B, nkv, S, hd)

        Tensor attended;
        int groups = _heads / _kvHeads;
        if (inputs.PlainCausal && CpuCausalAttention.Applies(q, k, v))
        {
            // A prompt or a later chunk of one on the CPU without gradients: managed attention, already in the o
            // projection's layout.
            return o_proj.forward(CpuCausalAttention.Attend(q, k, v)).MoveToOuterDisposeScope();
        }
        if (t == 1 && groups > 1)
        {
            // One new token: fold each group's queries into the row axis so keys/values are read once, not repeated.
            var folded = q.reshape(b, _kvHeads, groups, _headDim);               // (B, nkv, g, hd)
            attended = nn.functional.scaled_dot_product_attention(folded, k, v, inputs.Mask)
                .reshape(b, _heads, 1, _headDim);
        }
        else if (groups > 1 && inputs.Mask is { } mask && inputs.Cache is not null)
        {
            // Serving, queries under an explicit mask (a prefill chunk after cached keys, padded prompts): fold each group's
            // queries into the row axis as for one token, each copy of the mask rows serving its group, rather than copying
            // the whole cache's K and V per query head. Training (no cache) keeps the path its results were measured with.
            var folded = q.reshape(b, _kvHeads, groups * t, _headDim);           // (B, nkv, g·T, hd)
            using var foldedMask = mask.repeat(1, 1, groups, 1);                 // (B, 1, g·T, S)
            attended = nn.functional.scaled_dot_product_attention(folded, k, v, foldedMask)
                .reshape(b, _heads, t, _headDim);
        }
        else
        {
            if (groups > 1)
            {
                long s = k.shape[2];
                k = k.unsqueeze(2).expand(b, _kvHeads, groups, s, _headDim).reshape(b, _heads, s, _headDim);
                v = v.unsqueeze(2).expand(b, _kvHeads, groups, s, _headDim).reshape(b, _heads, s, _headDim);
            }
            attended = nn.functional.scaled_dot_product_attention(q, k, v, inputs.Mask, is_casual: inputs.IsCausal);
        }
        var merged = attended.transpose(1, 2).reshape(b, t, _heads * _headDim);  // (B, T, nh·hd)
        return o_proj.forward(merged).MoveToOuterDisposeScope();
    }

    /// <summary>(B, T, heads, hd) → rotary applied, (B, heads, T, hd): in one managed pass where it applies.</summary>
    private Tensor Rotate(Tensor x, AttentionInputs inputs)
    {
        if (CpuRotary.Applies(x, inputs.Cos, _interleavedRotary))
            return CpuRotary.HeadsFirst(x, inputs.Cos, inputs.Sin);
        using var headsFirst = x.transpose(1, 2);
        return RotaryEmbedding.Apply(headsFirst, inputs.Cos, inputs.Sin, _interleavedRotary);
    }
}
