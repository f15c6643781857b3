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
}
