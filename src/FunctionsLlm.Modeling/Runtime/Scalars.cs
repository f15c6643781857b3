using TorchSharp;

namespace FunctionsLlm.Modeling.Runtime;

/// <summary>
/// Scalar constants owned by the process. TorchSharp puts no Scalar in a DisposeScope, so one made implicitly
/// (<c>t * 2.0</c>, or inside TorchSharp's own <c>a + b</c>, which adds with an alpha of 1) is left to the finalizer,
/// which can free it while the native call that reads it runs (issue 23). Constants come from here; other values are
/// made with <c>using var s = value.ToScalar()</c>. The ownership analyzer (build/Analyzers) holds src to both.
/// </summary>
public static class Scalars
{
    public static readonly Scalar Zero = 0.ToScalar();

    /// <summary>Also the alpha of a plain addition: <c>a.add(b, One)</c> for <c>a + b</c>.</summary>
    public static readonly Scalar One = 1.ToScalar();

    public static readonly Scalar True = true.ToScalar();
}
