namespace FunctionsLlm.Modeling.Runtime;

/// <summary>
/// A test mode that turns a TorchSharp wrapper left to the finalizer into a crash at once rather than once in a while.
/// With <c>FLM_GC_STRESS=1</c> a background thread runs full blocking collections and the finalizers they queue, in a
/// loop, for the life of the process. A wrapper that nothing owns can then be finalized (its native tensor deleted)
/// while a native call still uses it; with <c>DOTNET_TieredCompilation=0</c> (optimized code from the first call,
/// where the JIT ends a local's life at its last use) that happens within a few training steps. The harness in
/// tests/FunctionsLlm.Cli.Tests (GcStressTests) runs train, merge, eval and serve this way.
/// </summary>
public static class GcStress
{
    public const string Variable = "FLM_GC_STRESS";
    private static int s_started;

    public static bool Requested => Environment.GetEnvironmentVariable(Variable) is "1" or "true";

    /// <summary>Starts the collecting thread once when <see cref="Variable"/> is set; idempotent.</summary>
    public static void StartIfRequested()
    {
        if (!Requested || Interlocked.Exchange(ref s_started, 1) == 1)
            return;
        var thread = new Thread(Collect) { IsBackground = true, Name = "flm-gc-stress" };
        thread.Start();
    }

    private static void Collect()
    {
        while (true)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}
