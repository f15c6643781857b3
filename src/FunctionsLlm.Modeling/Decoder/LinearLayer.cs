using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>y = x Wᵀ + b with weights taken from a checkpoint (no random initialisation to throw away).</summary>
public sealed class LinearLayer : nn.Module<Tensor, Tensor>
{
    public readonly TorchSharp.Modules.Parameter weight;
    public readonly TorchSharp.Modules.Parameter? bias;

    public LinearLayer(Tensor weight, Tensor? bias) : base(nameof(LinearLayer))
    {
        if (bias is not null && (bias.ndim != 1 || bias.shape[0] != weight.shape[0]))
            throw new ArgumentException($"bias shape [{string.Join(", ", bias.shape)}] does not match weight [{string.Join(", ", weight.shape)}]");
        this.weight = new TorchSharp.Modules.Parameter(weight, requires_grad: false);
        this.bias = bias is null ? null : new TorchSharp.Modules.Parameter(bias, requires_grad: false);
        RegisterComponents();
    }

    public long InFeatures => weight.shape[1];

    public long OutFeatures => weight.shape[0];

    public override Tensor forward(Tensor input) => nn.functional.linear(input, weight, bias);
}
