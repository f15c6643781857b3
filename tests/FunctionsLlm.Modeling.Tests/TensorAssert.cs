using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests;

internal static class TensorAssert
{
    /// <summary>Same shape and max |actual − expected| ≤ tolerance over every element.</summary>
    public static void Close(Tensor expected, Tensor actual, double tolerance, string what = "")
    {
        Assert.Equal(expected.shape, actual.shape);
        using var difference = (actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max();
        double max = difference.item<double>();
        Assert.True(max <= tolerance, $"{what}: max |difference| {max:G4} > {tolerance:G4}");
    }

    public static void Equal(Tensor expected, Tensor actual, string what = "")
    {
        Assert.Equal(expected.shape, actual.shape);
        using var same = expected.eq(actual).all();
        Assert.True(same.item<bool>(), $"{what}: tensors differ");
    }
}
