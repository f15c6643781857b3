using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Lora;

/// <summary>One trainable LoRA matrix held as a module with a <c>weight</c>, like PEFT's bias-free nn.Linear.</summary>
public sealed class LoraFactor : nn.Module
{
    public readonly TorchSharp.Modules.Parameter weight;

    public LoraFactor(Tensor weight) : base(nameof(LoraFactor))
    {
        this.weight = new TorchSharp.Modules.Parameter(weight, requires_grad: true);
        RegisterComponents();
    }
}
