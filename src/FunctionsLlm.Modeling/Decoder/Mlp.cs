using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// SwiGLU feed-forward: down(silu(gate(x)) · up(x)), with gate and up as two projections, or as one
/// <c>gate_up_proj</c> whose first half of outputs is the gate (GLM).
/// </summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    public readonly nn.Module<Tensor, Tensor>? gate_proj;
    public readonly nn.Module<Tensor, Tensor>? up_proj;
    public readonly nn.Module<Tensor, Tensor>? gate_up_proj;
    public readonly nn.Module<Tensor, Tensor> down_proj;

    public Mlp(nn.Module<Tensor, Tensor> gate_proj, nn.Module<Tensor, Tensor> up_proj, nn.Module<Tensor, Tensor> down_proj)
        : this(gate_proj, up_proj, null, down_proj)
    {
    }

    private Mlp(nn.Module<Tensor, Tensor>? gate_proj, nn.Module<Tensor, Tensor>? up_proj, nn.Module<Tensor, Tensor>? gate_up_proj,
        nn.Module<Tensor, Tensor> down_proj)
        : base(nameof(Mlp))
    {
        this.gate_proj = gate_proj;
        this.up_proj = up_proj;
        this.gate_up_proj = gate_up_proj;
        this.down_proj = down_proj;
        RegisterComponents();
    }

    /// <summary>GLM's layout: <paramref name="gate_up_proj"/> is [2 × intermediate, hidden], gate rows first.</summary>
    public static Mlp Fused(nn.Module<Tensor, Tensor> gate_up_proj, nn.Module<Tensor, Tensor> down_proj) =>
        new(null, null, gate_up_proj, down_proj);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor hidden;
        if (gate_up_proj is not null)
        {
            var halves = gate_up_proj.forward(x).chunk(2, -1);
            hidden = nn.functional.silu(halves[0]).mul_(halves[1]);
        }
        else if (!is_grad_enabled())
        {
            // Inference: SiLU in place (autograd would need its input) and up freed once multiplied, so a long prompt holds
            // one (tokens × intermediate) tensor to the scope's end, not three: a 2,000-token prefill 617-688 -> 909-941
            // tokens/s (bench/README.md).
            var gateUp = LinearLayer.ForwardAll(x, gate_proj!, up_proj!);
            hidden = nn.functional.silu(gateUp[0], inplace: true);
            using var up = gateUp[1];
            hidden.mul_(up);
        }
        else
        {
            hidden = nn.functional.silu(gate_proj!.forward(x)).mul_(up_proj!.forward(x));
        }
        return down_proj.forward(hidden).MoveToOuterDisposeScope();
    }
}
