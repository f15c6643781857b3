using TorchSharp;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// Root-mean-square layer norm as in HF Llama: statistics in at least fp32, the normalised value cast back to the
/// input dtype, then scaled by the weight.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    public readonly TorchSharp.Modules.Parameter weight;
    private readonly double _eps;

    public RmsNorm(Tensor weight, double eps) : base(nameof(RmsNorm))
    {
        this.weight = new TorchSharp.Modules.Parameter(weight, requires_grad: false);
        _eps = eps;
        RegisterComponents();
    }

    internal double Eps => _eps;

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        using var eps = _eps.ToScalar();
        var x = input.dtype is ScalarType.BFloat16 or ScalarType.Float16 ? input.to(ScalarType.Float32) : input;
        var normalised = x * rsqrt(x.mul(x).mean([-1], keepdim: true).add_(eps, One));
        return (weight * normalised.to(input.dtype)).MoveToOuterDisposeScope();
    }
}
