using System.Runtime.InteropServices;

namespace FunctionsLlm.Modeling.Runtime;

/// <summary>
/// Process-wide native settings, applied before libtorch is first used (call <see cref="Configure"/> first thing;
/// <c>ModelLoader</c> does). Each is skipped when the user set the corresponding environment variable.
/// <list type="bullet">
/// <item>glibc's malloc serves libtorch's tensors from its heap up to 64 MiB (M_MMAP_THRESHOLD) and keeps up to 256 MiB
/// of freed heap (M_TRIM_THRESHOLD) instead of giving it back. A fresh mapping per tensor, which our earlier 128 KiB
/// threshold gave every activation, costs a page fault per 4 KiB on first touch and an unmap on dispose: that halved
/// prefill and made a training step 2–4× slower. Resident memory stays flat after warm-up, at the working set's
/// high-water mark rather than below it between steps (bench/README.md, "Allocator settings"). The threshold is when
/// glibc trims, not how much it keeps: once the free top of a heap reaches it, all but 128 KiB goes back. At 32 MiB a
/// served batch of eight 64-token prompts (~50 MB of activations, freed together) went back every time, and the next
/// batch paid 8,000–13,000 first-touch faults at ~10 µs each on the engine thread's heap: 300–390 ms against 235–250
/// (bench/README.md, "Prefill's page faults in serving").</item>
/// <item>libtorch's OpenMP workers spin after each parallel region and take the second core from the batch-1 decode
/// kernel (<c>CpuMatVec</c>); OMP_WAIT_POLICY=PASSIVE lets them sleep (faster decode, prefill unchanged: measured in
/// bench/README.md). libgomp reads it when it is loaded, hence before libtorch.</item>
/// </list>
/// </summary>
public static partial class NativeRuntime
{
    private const int TrimThresholdParameter = -1; // M_TRIM_THRESHOLD
    private const int MmapThresholdParameter = -3; // M_MMAP_THRESHOLD
    private const int MmapThresholdBytes = 64 << 20;
    private const int TrimThresholdBytes = 256 << 20;
    private static int s_configured;

    /// <summary>Idempotent; a no-op off Linux (except for the <see cref="GcStress"/> test mode).</summary>
    public static void Configure()
    {
        GcStress.StartIfRequested();
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref s_configured, 1) == 1)
            return;
        if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is null)
            _ = Mallopt(MmapThresholdParameter, MmapThresholdBytes);
        if (Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is null)
            _ = Mallopt(TrimThresholdParameter, TrimThresholdBytes);
        // The native environment, not .NET's copy: libgomp reads it with getenv.
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
            _ = SetEnv("OMP_WAIT_POLICY", "PASSIVE", 0);
    }

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int Mallopt(int parameter, int value);

    [LibraryImport("libc.so.6", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
