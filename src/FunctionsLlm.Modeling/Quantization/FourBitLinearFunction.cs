using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Quantization;

/// <summary>
/// y = x Wᵀ for a 4-bit W, as bitsandbytes' <c>MatMul4Bit</c>: backward gives dL/dx = dL/dy · W with W dequantized
/// again, so no layer's dequantized weight lives from forward to backward. W is frozen: it gets no gradient.
/// </summary>
internal sealed class FourBitLinearFunction : autograd.SingleTensorFunction<FourBitLinearFunction>
{
    // The gradient handed back to libtorch, which copies it only after backward returns: kept (per autograd thread)
    // until the next backward call on that thread, so no finalizer can free it first.
    [ThreadStatic]
    private static Tensor? _returned;

    private const string WeightKey = "weight";

    public override string Name => nameof(FourBitLinearFunction);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var input = (Tensor)vars[0];
        var weight = (FourBitWeight)vars[1];
        ctx.save_data(WeightKey, weight);
        using var dense = weight.Dequantize(input.dtype);
        return nn.functional.linear(input, dense);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        _returned?.Dispose();
        _returned = null;
        var weight = (FourBitWeight)ctx.get_data(WeightKey);
        using (NewDisposeScope())
        {
            using var dense = weight.Dequantize(grad_output.dtype);
            _returned = grad_output.matmul(dense).DetachFromDisposeScope();   // (…, out) · (out, in)
        }
        grad_output.Dispose();
        return [_returned, null!];
    }
}
