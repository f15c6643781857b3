using static TorchSharp.torch;

namespace FunctionsLlm.Tests;

/// <summary>Tensor comparisons for tests, computed in fp64 with every temporary owned.</summary>
internal static class TensorAssert
{
    /// <summary>max |a − b| over every element (same shape required).</summary>
    public static double MaxDifference(Tensor a, Tensor b)
    {
        Assert.Equal(a.shape, b.shape);
        using var scope = NewDisposeScope();
        return (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max().item<double>();
    }

    /// <summary>max |x| over every element.</summary>
    public static double MaxMagnitude(Tensor x)
    {
        using var scope = NewDisposeScope();
        return x.to(ScalarType.Float64).abs().max().item<double>();
    }

    /// <summary>Same shape and max |actual − expected| ≤ tolerance over every element.</summary>
    public static void Close(Tensor expected, Tensor actual, double tolerance, string what = "")
    {
        double max = MaxDifference(expected, actual);
        Assert.True(max <= tolerance, $"{what}: max |difference| {max:G4} > {tolerance:G4}");
    }

    /// <summary>
    /// <see cref="Close"/> with the tolerance scaled by the expected values' size, max(1, max |expected|): fp32 rounding
    /// grows with the magnitude of what is summed.
    /// </summary>
    public static void CloseRelative(Tensor expected, Tensor actual, double tolerancePerUnit, string what = "") =>
        Close(expected, actual, tolerancePerUnit * Math.Max(1, MaxMagnitude(expected)), what);

    /// <summary>Same shape and every element equal.</summary>
    public static void Equal(Tensor expected, Tensor actual, string what = "")
    {
        Assert.Equal(expected.shape, actual.shape);
        using var same = expected.eq(actual).all();
        Assert.True(same.item<bool>(), $"{what}: tensors differ");
    }
}
