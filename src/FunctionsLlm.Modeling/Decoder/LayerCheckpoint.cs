using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// Activation (gradient) checkpointing of one decoder layer, as torch.utils.checkpoint's reentrant form: forward runs
/// without a graph and keeps only the layer's input (and the shared rotary tables and mask); backward runs the layer
/// again with the random state it had (LoRA dropout draws the same masks, provided nothing else in the process draws
/// from libtorch's global CPU generator meanwhile: a trainer runs one job) and back-propagates through that, which adds
/// the LoRA factors' gradients and gives the input's. A layer's activations then live only while its backward runs.
/// </summary>
internal sealed class LayerCheckpoint : autograd.SingleTensorFunction<LayerCheckpoint>
{
    private const string LayerKey = "layer", CausalKey = "causal", RandomStateKey = "random";

    // The input gradient handed back to libtorch, which copies it only after backward returns: kept (per autograd
    // thread) until the next backward call on that thread, so no finalizer can free it first.
    [ThreadStatic]
    private static Tensor? _returned;

    public override string Name => nameof(LayerCheckpoint);

    /// <summary>The layer's output for <paramref name="x"/>, with a graph that recomputes the layer in backward.</summary>
    public static Tensor Apply(DecoderLayer layer, Tensor x, AttentionInputs inputs)
    {
        if (inputs.Cache is not null)
            throw new InvalidOperationException("a checkpointed layer computes without a KV cache (training)");
        if (x.device.type != TorchSharp.DeviceType.CPU && layer.HasLoraDropout)
        {
            throw new NotSupportedException("gradient checkpointing with LoRA dropout needs the dropout's random state, which " +
                "TorchSharp exposes for the CPU only: train on CUDA with --lora-dropout 0, or without --gradient-checkpointing");
        }
        // libtorch records the function only when an input needs a gradient; the first layer's input (a frozen
        // embedding's output) does not, but the LoRA factors inside need the backward pass (transformers'
        // enable_input_require_grads does the same)
        if (!x.requires_grad)
            x.requires_grad_(true);
        return apply(x, layer, inputs.Cos, inputs.Sin, inputs.Mask!, inputs.IsCausal);
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var layer = (DecoderLayer)vars[1];
        var (cos, sin, mask, isCausal) = ((Tensor)vars[2], (Tensor)vars[3], vars[4] as Tensor, (bool)vars[5]);
        ctx.save_for_backward([x, cos, sin, mask!]);
        ctx.save_data(LayerKey, layer);
        ctx.save_data(CausalKey, isCausal);
        using (var state = random.get_rng_state())
            ctx.save_data(RandomStateKey, state.data<byte>().ToArray());
        return layer.Forward(x, new AttentionInputs(cos, sin, mask, isCausal, null));
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        _returned?.Dispose();
        _returned = null;
        var layer = (DecoderLayer)ctx.get_data(LayerKey);
        using (var scope = NewDisposeScope())
        {
            var saved = ctx.get_saved_variables();
            var state = tensor((byte[])ctx.get_data(RandomStateKey));
            var x = saved[0].detach().requires_grad_(true);
            using var current = random.get_rng_state();
            random.set_rng_state(state);
            using (enable_grad())
            {
                var y = layer.Forward(x, new AttentionInputs(saved[1], saved[2], saved[3], (bool)ctx.get_data(CausalKey), null));
                y.backward([grad_output]);
            }
            random.set_rng_state(current);
            using var grad = x.grad!;
            _returned = grad.detach().DetachFromDisposeScope();
        }
        grad_output.Dispose();
        return [_returned, null!, null!, null!, null!, null!];
    }
}
