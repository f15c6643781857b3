using System.Runtime.InteropServices;

namespace FunctionsLlm.Modeling.Runtime;

/// <summary>
/// Process-wide native settings, applied before libtorch is first used (call <see cref="Configure"/> first thing;
/// <c>ModelLoader</c> does). Each is skipped when the user set the corresponding environment variable.
/// <list type="bullet">
/// <item>glibc's malloc keeps freed libtorch blocks in its heap, so RSS climbs with every optimiser step even when
/// every tensor is disposed; serving blocks ≥ 128 KiB from mmap returns them to the OS and keeps RSS flat.</item>
/// <item>libtorch's OpenMP workers spin after each parallel region and take the second core from the batch-1 decode
/// kernel (<c>CpuMatVec</c>); OMP_WAIT_POLICY=PASSIVE lets them sleep (faster decode, prefill unchanged: measured in
/// bench/README.md). libgomp reads it when it is loaded, hence before libtorch.</item>
/// </list>
/// </summary>
public static partial class NativeRuntime
{
    private const int MmapThresholdParameter = -3; // M_MMAP_THRESHOLD
    private const int MmapThresholdBytes = 128 * 1024;
    private static int s_configured;

    /// <summary>Idempotent; a no-op off Linux (except for the <see cref="GcStress"/> test mode).</summary>
    public static void Configure()
    {
        GcStress.StartIfRequested();
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref s_configured, 1) == 1)
            return;
        if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is null)
            _ = Mallopt(MmapThresholdParameter, MmapThresholdBytes);
        // The native environment, not .NET's copy: libgomp reads it with getenv.
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
            _ = SetEnv("OMP_WAIT_POLICY", "PASSIVE", 0);
    }

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int Mallopt(int parameter, int value);

    [LibraryImport("libc.so.6", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
