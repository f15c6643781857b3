using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FunctionsLlm.Modeling.Runtime;

/// <summary>Reductions across a vector's lanes (a maximum is exact, so the order of the tree does not matter).</summary>
internal static class Lanes
{
    /// <summary>The largest of the eight lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(Vector256<float> lanes)
    {
        var half = Vector128.Max(lanes.GetLower(), lanes.GetUpper());
        return MathF.Max(MathF.Max(half.GetElement(0), half.GetElement(1)), MathF.Max(half.GetElement(2), half.GetElement(3)));
    }

    /// <summary>The largest of the sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(Vector512<float> lanes) => Max(Vector256.Max(lanes.GetLower(), lanes.GetUpper()));
}
