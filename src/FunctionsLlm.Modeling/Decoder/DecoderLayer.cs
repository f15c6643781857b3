using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>Pre-norm transformer block: h = x + attn(norm(x)); out = h + mlp(norm(h)).</summary>
public sealed class DecoderLayer : nn.Module
{
    public readonly RmsNorm input_layernorm;
    public readonly Attention self_attn;
    public readonly RmsNorm post_attention_layernorm;
    public readonly Mlp mlp;

    public DecoderLayer(RmsNorm input_layernorm, Attention self_attn, RmsNorm post_attention_layernorm, Mlp mlp)
        : base(nameof(DecoderLayer))
    {
        this.input_layernorm = input_layernorm;
        this.self_attn = self_attn;
        this.post_attention_layernorm = post_attention_layernorm;
        this.mlp = mlp;
        RegisterComponents();
    }

    internal Tensor Forward(Tensor x, AttentionInputs inputs)
    {
        using var scope = NewDisposeScope();
        var h = x.add(self_attn.Forward(input_layernorm.forward(x), inputs), One);
        // Out of place: the norm keeps h for its backward pass.
        return h.add(mlp.forward(post_attention_layernorm.forward(h)), One).MoveToOuterDisposeScope();
    }
}
