using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Modeling.Quantization;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Decoder;

// LoRA dropout and the recompute's replay draw from libtorch's process-wide generator: nothing may draw from it meanwhile.
[CollectionDefinition(nameof(GradientCheckpointingTests), DisableParallelization = true)]
public sealed class GradientCheckpointingRuns;

/// <summary>
/// A checkpointed forward (each layer recomputed in backward) gives libtorch's own gradients of the plain forward:
/// the same LoRA gradients, LoRA dropout masks included, and leaves the random state where the plain step leaves it.
/// </summary>
[Collection(nameof(GradientCheckpointingTests))]
public sealed class GradientCheckpointingTests
{
    private static readonly ModelLoadOptions Cpu32 = new(CPU, ScalarType.Float32);

    [Theory]
    [InlineData("tiny-llama", false)]
    [InlineData("tiny-qwen3", true)]
    [InlineData("tiny-glm4", false)]
    public void Checkpointed_layers_give_the_gradients_of_the_plain_forward(string name, bool fourBit)
    {
        using var model = ModelLoader.Load(FixtureModel.Get(name).Directory, fourBit ? Cpu32 with { Quantize = FourBitOptions.Nf4 } : Cpu32);
        LoraInjector.Inject(model, new LoraConfig { R = 4, LoraAlpha = 8, LoraDropout = 0.1, TargetModules = [LoraConfig.AllLinear] }, new Generator(1));
        RandomAdapter.Perturb(model, 0.05, new Generator(2));
        model.train();
        // two rows, the second left-padded: the padding mask goes through the checkpoint too
        using var ids = tensor(new long[] { 5, 17, 200, 3, 99, 45, 7, 300, 0, 0, 11, 12, 13, 14, 15, 16 }, [2, 8]);
        using var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1 }, [2, 8]);

        var (plain, plainState) = Gradients(model, ids, mask, checkpointing: false);
        var (checkpointed, checkpointedState) = Gradients(model, ids, mask, checkpointing: true);

        Assert.Equal(plain.Keys.Order(), checkpointed.Keys.Order());
        Assert.NotEmpty(plain);
        foreach (var (parameter, gradient) in plain)
            TensorAssert.Close(gradient, checkpointed[parameter], 1e-6, parameter);
        Assert.Equal(plainState, checkpointedState);
        foreach (var gradient in plain.Values.Concat(checkpointed.Values))
            gradient.Dispose();
    }

    // The LoRA gradients of one forward and backward from a fixed random state, and the random state after it.
    private static (Dictionary<string, Tensor> Gradients, byte[] State) Gradients(CausalLM model, Tensor ids, Tensor mask, bool checkpointing)
    {
        model.GradientCheckpointing = checkpointing;
        manual_seed(7).Dispose();
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        using (var scope = NewDisposeScope())
        {
            foreach (var (_, parameter) in trainable)
                parameter.grad = null;
            var logits = model.Forward(ids, attentionMask: mask);
            logits.pow(2).mean().backward();
        }
        using var state = random.get_rng_state();
        return (trainable.ToDictionary(p => p.name, p => p.parameter.grad!.clone().DetachFromDisposeScope()), state.data<byte>().ToArray());
    }
}
