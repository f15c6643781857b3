using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// Pre-norm transformer block: h = x + attn(norm(x)); out = h + mlp(norm(h)). glm4 also normalises each sublayer's
/// output before its residual add: h = x + norm(attn(norm(x))); out = h + norm(mlp(norm(h))).
/// </summary>
public sealed class DecoderLayer : nn.Module
{
    public readonly RmsNorm input_layernorm;
    public readonly Attention self_attn;
    public readonly RmsNorm? post_self_attn_layernorm;
    public readonly RmsNorm post_attention_layernorm;
    public readonly Mlp mlp;
    public readonly RmsNorm? post_mlp_layernorm;

    public DecoderLayer(RmsNorm input_layernorm, Attention self_attn, RmsNorm post_attention_layernorm, Mlp mlp,
        RmsNorm? post_self_attn_layernorm = null, RmsNorm? post_mlp_layernorm = null)
        : base(nameof(DecoderLayer))
    {
        this.input_layernorm = input_layernorm;
        this.self_attn = self_attn;
        this.post_self_attn_layernorm = post_self_attn_layernorm;
        this.post_attention_layernorm = post_attention_layernorm;
        this.mlp = mlp;
        this.post_mlp_layernorm = post_mlp_layernorm;
        RegisterComponents();
    }

    /// <summary>In training mode, some adapted linear layer draws a LoRA dropout mask.</summary>
    internal bool HasLoraDropout => training && modules().OfType<LinearLayer>().Any(l => l.lora_A is not null && l.LoraDropout > 0);

    internal Tensor Forward(Tensor x, AttentionInputs inputs)
    {
        using var scope = NewDisposeScope();
        var attended = self_attn.Forward(input_layernorm.forward(x), inputs);
        var h = x.add(post_self_attn_layernorm?.forward(attended) ?? attended, One);
        var fed = mlp.forward(post_attention_layernorm.forward(h));
        // Out of place: the norm keeps h for its backward pass.
        return h.add(post_mlp_layernorm?.forward(fed) ?? fed, One).MoveToOuterDisposeScope();
    }
}
