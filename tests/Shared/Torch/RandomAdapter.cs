using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using static TorchSharp.torch;

namespace FunctionsLlm.Tests;

/// <summary>
/// Gives an injected adapter random factors: after injection B is zero and the adapter changes nothing, which would
/// make a merge or save/load test pass vacuously.
/// </summary>
internal static class RandomAdapter
{
    /// <summary>Adds scale · N(0, 1) to every trainable parameter, in the order of their names.</summary>
    public static void Perturb(nn.Module model, double scale, Generator generator)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (_, parameter) in model.named_parameters().Where(p => p.parameter.requires_grad).OrderBy(p => p.name, StringComparer.Ordinal))
            parameter.add_(randn(parameter.shape, generator: generator).mul_(scale));
    }

    /// <summary>Writes a PEFT adapter for the model in <paramref name="baseDir"/> with PEFT's initialisation plus scale · N(0, 1).</summary>
    public static LoraConfig Write(string baseDir, string adapterDir, LoraConfig config, int seed, double scale = 0.05)
    {
        using var model = ModelLoader.Load(baseDir, new ModelLoadOptions(CPU, ScalarType.Float32));
        using var generator = new Generator((ulong)seed);
        LoraInjector.Inject(model, config, generator);
        Perturb(model, scale, generator);
        PeftAdapter.Save(model, config, adapterDir);
        return config;
    }
}
