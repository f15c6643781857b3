using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)).</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    public readonly nn.Module<Tensor, Tensor> gate_proj;
    public readonly nn.Module<Tensor, Tensor> up_proj;
    public readonly nn.Module<Tensor, Tensor> down_proj;

    public Mlp(nn.Module<Tensor, Tensor> gate_proj, nn.Module<Tensor, Tensor> up_proj, nn.Module<Tensor, Tensor> down_proj)
        : base(nameof(Mlp))
    {
        this.gate_proj = gate_proj;
        this.up_proj = up_proj;
        this.down_proj = down_proj;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var hidden = nn.functional.silu(gate_proj.forward(x)).mul_(up_proj.forward(x));
        return down_proj.forward(hidden).MoveToOuterDisposeScope();
    }
}
