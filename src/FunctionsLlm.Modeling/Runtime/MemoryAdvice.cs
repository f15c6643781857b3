using System.Runtime.InteropServices;

namespace FunctionsLlm.Modeling.Runtime;

/// <summary>madvise(2) on Linux: hints about ranges of this process's memory; a no-op elsewhere.</summary>
internal static partial class MemoryAdvice
{
    public const long Page = 4096;
    public const long HugePage = 2 << 20;

    /// <summary>Drops the resident pages wholly inside [<paramref name="start"/>, + <paramref name="bytes"/>).</summary>
    public static void DontNeed(nint start, long bytes) => Advise(start, bytes, 4, inner: true);

    /// <summary>Asks for 2 MB pages, where THP allows it, for the pages not yet touched in the range (they cover it).</summary>
    public static void HugePages(nint start, long bytes) => Advise(start, bytes, 14, inner: false);

    private static void Advise(nint start, long bytes, int advice, bool inner)
    {
        if (!OperatingSystem.IsLinux() || bytes <= 0)
            return;
        long first = inner ? (start + Page - 1) / Page * Page : start / Page * Page;
        long end = inner ? (start + bytes) / Page * Page : (start + bytes + Page - 1) / Page * Page;
        if (end > first)
            _ = Madvise((nint)first, (nuint)(end - first), advice);
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);
}
