using static TorchSharp.torch;

namespace FunctionsLlm.Tests;

/// <summary>
/// Counts the TorchSharp tensors an action leaves to the finalizer: wrappers that became garbage without being
/// disposed. Each one could have been freed in the middle of a native call (issue 23). The count is exact whatever
/// the JIT does with local lifetimes, since every local of the action is dead once it returns.
/// </summary>
internal static class UnownedTensors
{
    /// <summary>Tests that count must not overlap with other tests creating tensors (Tensor.TotalCount is process-wide).</summary>
    public const string Collection = "Counts TorchSharp tensors alone";

    public static long During(Action action)
    {
        Settle();
        action();
        long live = Tensor.TotalCount;
        Settle();
        return live - Tensor.TotalCount;
    }

    private static void Settle()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}

[CollectionDefinition(UnownedTensors.Collection, DisableParallelization = true)]
public sealed class UnownedTensorsCollection;
