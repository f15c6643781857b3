using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Modeling.Quantization;
using TorchSharp;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// y = x Wᵀ + b with weights taken from a checkpoint (no random initialisation to throw away), optionally plus a
/// LoRA update scaling · B(A(dropout(x))) as in PEFT. The factors are registered as <c>lora_A</c> / <c>lora_B</c>,
/// so their parameter names are PEFT's saved keys without the <c>base_model.model.</c> prefix. The frozen weight is
/// dense (<see cref="weight"/>), 4-bit (<see cref="Quantized"/>, QLoRA, dequantized when used) or Q8_0 for CPU
/// inference (<see cref="Q8"/>, multiplied as llama.cpp does) or fp32 packed for CPU inference (<see cref="Packed"/>).
/// </summary>
public sealed class LinearLayer : nn.Module<Tensor, Tensor>
{
    /// <summary>The dense weight (out, in); null when the weight is held in 4 bits.</summary>
    public readonly TorchSharp.Modules.Parameter? weight;
    public readonly TorchSharp.Modules.Parameter? bias;

    private Scalar? _loraScaling;

    public LinearLayer(Tensor weight, Tensor? bias) : this(weight.shape, bias)
    {
        this.weight = new TorchSharp.Modules.Parameter(weight, requires_grad: false);
        RegisterComponents();
    }

    /// <summary>A layer whose frozen weight stays in 4 bits; it takes <paramref name="weight"/> over.</summary>
    public LinearLayer(FourBitWeight weight, Tensor? bias) : this(weight.Shape, bias)
    {
        Quantized = weight;
        RegisterComponents();
    }

    /// <summary>A layer whose frozen weight is held in Q8_0 on the CPU; it takes <paramref name="weight"/> over.</summary>
    public LinearLayer(Q8Weight weight, Tensor? bias) : this(weight.Shape, bias)
    {
        Q8 = weight;
        RegisterComponents();
    }

    /// <summary>A layer whose frozen fp32 weight is held packed for CPU inference; it takes <paramref name="weight"/> over.</summary>
    public LinearLayer(PackedWeight weight, Tensor? bias) : this(weight.Shape, bias)
    {
        Packed = weight;
        RegisterComponents();
    }

    private LinearLayer(long[] shape, Tensor? bias) : base(nameof(LinearLayer))
    {
        if (bias is not null && (bias.ndim != 1 || bias.shape[0] != shape[0]))
            throw new ArgumentException($"bias shape [{string.Join(", ", bias.shape)}] does not match weight [{string.Join(", ", shape)}]");
        this.bias = bias is null ? null : new TorchSharp.Modules.Parameter(bias, requires_grad: false);
        InFeatures = shape[1];
        OutFeatures = shape[0];
    }

    /// <summary>The frozen weight in 4 bits (QLoRA), or null when it is dense.</summary>
    public FourBitWeight? Quantized { get; }

    /// <summary>The frozen weight in Q8_0 (CPU inference), or null.</summary>
    public Q8Weight? Q8 { get; }

    /// <summary>The frozen fp32 weight packed for CPU inference, or null.</summary>
    public PackedWeight? Packed { get; }

    public long InFeatures { get; }

    public long OutFeatures { get; }

    public Device Device => weight?.device ?? Quantized?.Device ?? CPU;

    /// <summary>A: (r, in), initialised by the caller.</summary>
    public LoraFactor? lora_A { get; private set; }

    /// <summary>B: (out, r).</summary>
    public LoraFactor? lora_B { get; private set; }

    public double LoraScaling { get; private set; }

    public double LoraDropout { get; private set; }

    /// <summary>The factors of the adapters served unmerged in <see cref="LoraSlots"/>, owned there; null when none adapts this layer.</summary>
    internal LoraBank? Bank { get; set; }

    /// <summary>Switches the adapter off (base model behaviour) without removing it.</summary>
    public bool LoraEnabled { get; set; } = true;

    /// <summary>
    /// Adds zero fp32 factors A (r, in) and B (out, r) on the weight's device, which the caller fills in place (under
    /// no_grad): PEFT's initialisation, or an adapter's saved values. The layer owns them.
    /// </summary>
    public void AttachLora(int rank, double scaling, double dropout)
    {
        if (lora_A is not null)
            throw new InvalidOperationException("this layer already has a LoRA adapter");
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        // Detached: a DisposeScope the caller happens to be in must not take the adapter's parameters.
        lora_A = new LoraFactor(zeros([rank, InFeatures], ScalarType.Float32, Device).DetachFromDisposeScope());
        lora_B = new LoraFactor(zeros([OutFeatures, rank], ScalarType.Float32, Device).DetachFromDisposeScope());
        register_module("lora_A", lora_A);
        register_module("lora_B", lora_B);
        LoraScaling = scaling;
        _loraScaling = scaling.ToScalar();
        LoraDropout = dropout;
    }

    public override Tensor forward(Tensor input)
    {
        var output = Quantized?.Project(input, bias) ?? Q8?.Project(input, bias) ?? Packed?.Project(input, bias) ?? Project(input, weight!, bias);
        if (Bank is not null)
        {
            using var scope = NewDisposeScope();
            if (Bank.Delta(input) is { } delta)
                output.add_(delta.to(output.dtype), One);
        }
        if (lora_A is null || lora_B is null || !LoraEnabled)
            return output;
        using (NewDisposeScope())
        {
            var x = input.to(lora_A.weight.dtype);
            if (LoraDropout > 0 && training)
                x = nn.functional.dropout(x, LoraDropout, training: true);
            var update = nn.functional.linear(nn.functional.linear(x, lora_A.weight), lora_B.weight).mul_(_loraScaling!);
            output.add_(update.to(output.dtype), One);
        }
        return output;
    }

    /// <summary>
    /// Each layer's forward of one input (q, k and v; gate and up). Where every layer is a plain Q8_0 projection (no bias,
    /// adapter or bank) and the input an fp32 CPU tensor, in one product that quantizes the input once
    /// (<see cref="CpuQ8MatVec.Multiply(Tensor, Q8Weight[])"/>); the outputs are the same.
    /// </summary>
    internal static Tensor[] ForwardAll(Tensor input, params nn.Module<Tensor, Tensor>[] layers)
    {
        bool plainQ8 = input.device_type == DeviceType.CPU && input.dtype == ScalarType.Float32 && layers.All(layer =>
            layer is LinearLayer { Q8: not null, bias: null, Bank: null } linear && (linear.lora_A is null || !linear.LoraEnabled));
        return plainQ8 ? CpuQ8MatVec.Multiply(input, [.. layers.Select(layer => ((LinearLayer)layer).Q8!)]) : [.. layers.Select(layer => layer.forward(input))];
    }

    /// <summary>x Wᵀ + b, with the CPU matrix-vector kernel when x is a single fp32 row.</summary>
    public static Tensor Project(Tensor input, Tensor weight, Tensor? bias = null) =>
        CpuMatVec.Applies(input, weight) ? CpuMatVec.Multiply(input, weight, bias) : nn.functional.linear(input, weight, bias);

    /// <summary>W + scaling · B·A computed in fp32 (the weight alone without an adapter; a quantized one dequantized, a packed one unpacked).</summary>
    public Tensor MergedWeight()
    {
        using var scope = NewDisposeScope();
        var merged = Quantized?.Dequantize(ScalarType.Float32) ?? Q8?.Dequantize(ScalarType.Float32) ?? Packed?.Unpack()
            ?? weight!.detach().to(ScalarType.Float32);
        if (lora_A is not null && lora_B is not null)
        {
            var delta = lora_B.weight.detach().to(ScalarType.Float32).matmul(lora_A.weight.detach().to(ScalarType.Float32)).mul_(_loraScaling!);
            merged = merged.add(delta, One);   // out of place: merged may share the weight's memory
        }
        return merged.MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _loraScaling?.Dispose();
            Quantized?.Dispose();
            Q8?.Dispose();
            Packed?.Dispose();
        }
        base.Dispose(disposing);
    }
}
