namespace FunctionsLlm.Modeling.Runtime;

/// <summary>
/// Where a kernel's scratch should start: on a 64-byte cache line, so that no 512-bit (or aligned 256-bit) load of it
/// straddles two lines (<see cref="AlignedFloats"/> says what straddling cost). A rented array gets one line more than it
/// needs and is used from <see cref="NextLine{T}"/> of its pinned start.
/// </summary>
internal static class CacheLines
{
    public const int Bytes = 64;

    /// <summary>The first address at or after <paramref name="pointer"/> on a line boundary.</summary>
    public static unsafe T* NextLine<T>(T* pointer) where T : unmanaged => (T*)(((nint)pointer + Bytes - 1) & ~(nint)(Bytes - 1));

    /// <summary>How many <typeparamref name="T"/> fill a line: what a rented array needs beyond its length.</summary>
    public static unsafe int Of<T>() where T : unmanaged => Bytes / sizeof(T);
}
