using System.Runtime.InteropServices;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// Zeroed native memory for a large randomly probed table, on 2 MB pages where Linux allows it: a probe then costs one
/// cache miss instead of also a page-table walk (in a virtual machine, several more misses). Measured in
/// bench/README.md. Elsewhere, plain zeroed native memory.
/// </summary>
internal sealed unsafe partial class LargePageMemory : IDisposable
{
    private const long HugePage = 2 << 20;

    private nint _mapping;
    private readonly nuint _mappingBytes;

    public LargePageMemory(long bytes)
    {
        Bytes = bytes;
        if (OperatingSystem.IsLinux())
        {
            // Anonymous pages are zero until written; one huge page more, so the table can start on a 2 MB boundary.
            _mappingBytes = (nuint)(bytes + HugePage);
            _mapping = Mmap(0, _mappingBytes, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (_mapping == -1)
                throw new OutOfMemoryException($"could not map {bytes:N0} bytes (errno {Marshal.GetLastPInvokeError()})");
            Pointer = (void*)((_mapping + (nint)HugePage - 1) & ~((nint)HugePage - 1));
            _ = Madvise((nint)Pointer, (nuint)bytes, MadvHugePage); // a hint: without it, 4 KB pages
        }
        else
        {
            Pointer = NativeMemory.AllocZeroed((nuint)bytes);
        }
    }

    ~LargePageMemory() => Free();

    public void* Pointer { get; private set; }

    public long Bytes { get; }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (Pointer is null)
            return;
        if (_mapping != 0)
            _ = Munmap(_mapping, _mappingBytes);
        else
            NativeMemory.Free(Pointer);
        Pointer = null;
        _mapping = 0;
    }

    private const int ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20, MadvHugePage = 14;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(nint address, nuint length);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
