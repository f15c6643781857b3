using System.Runtime.InteropServices;
using TorchSharp;

namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>
/// A safetensors file, header validated on <see cref="Open"/>, data memory-mapped (copy-on-write, never written back).
/// <see cref="Read"/> returns CPU views over the mapping; they hold the mapping alive, so they stay valid after
/// this object is disposed.
/// </summary>
/// <remarks>
/// TorchSharp has no <c>Tensor.view(dtype)</c>, so the file is mapped once per dtype actually read (with
/// <c>torch.from_file</c>, lazily): a tensor whose offset is a multiple of its element size is a slice of that
/// mapping. Mappings of the same file share the page cache, so this costs address space, not memory. A misaligned
/// tensor (legal, written by some tools) is copied out of the byte mapping instead.
/// Replacing the file by rename (as <see cref="SafetensorsWriter"/> does) is safe while it is mapped; truncating it
/// in place is not (the OS faults on pages past the new end).
/// </remarks>
public sealed class SafetensorsFile : IDisposable
{
    private readonly SafetensorsHeader _header;
    private readonly Dictionary<SafetensorsDType, torch.Tensor> _mappings = [];
    private readonly Lock _lock = new();
    private Microsoft.Win32.SafeHandles.SafeFileHandle? _handle;
    private bool _disposed;

    private SafetensorsFile(string path, SafetensorsHeader header)
    {
        Path = path;
        _header = header;
    }

    public string Path { get; }

    /// <summary>Header entries, in header order.</summary>
    public IReadOnlyDictionary<string, TensorInfo> Tensors => _header.Tensors;

    /// <summary>The header's <c>__metadata__</c>; empty if it has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _header.Metadata;

    /// <summary>Validates the header (see <see cref="CheckpointException"/> for what is checked) and maps the file.</summary>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        path = System.IO.Path.GetFullPath(path);
        if (!File.Exists(path))
            throw new CheckpointException(path, "file not found");
        var header = SafetensorsHeader.Read(path);
        var file = new SafetensorsFile(path, header);
        try
        {
            file.Map(SafetensorsDType.U8); // now, so that an unmappable file fails here, not on first read
        }
        catch
        {
            file.Dispose();
            throw;
        }
        return file;
    }

    /// <summary>
    /// Tensor <paramref name="name"/> in the file's dtype and shape: a zero-copy CPU view over the mapping when aligned,
    /// otherwise a copy. Writes to it never reach the file. The caller owns (and disposes) the result.
    /// </summary>
    public torch.Tensor Read(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_header.Tensors.TryGetValue(name, out var info))
            throw new CheckpointException(Path, $"no tensor named '{name}'");

        var elementSize = info.DType.ElementSize();
        var offset = _header.DataStart + info.Begin;
        if (offset % elementSize == 0)
        {
            using var slice = MappedRange(info.DType, offset / elementSize, info.ElementCount);
            return slice.view(info.Shape);
        }

        using var bytes = MappedRange(SafetensorsDType.U8, offset, info.ByteLength);
        var copy = torch.empty(info.Shape, info.DType.ToScalarType());
        try
        {
            TensorBytes.CopyInto(bytes, copy);
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Bytes [<paramref name="offset"/>, + the destination's length) of tensor <paramref name="name"/>'s data, read from the
    /// file (not the mapping) into <paramref name="destination"/>: a loader copying weights into memory of its own takes
    /// no page fault per 4 KB of the file that way.
    /// </summary>
    public void ReadBytes(string name, long offset, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_header.Tensors.TryGetValue(name, out var info))
            throw new CheckpointException(Path, $"no tensor named '{name}'");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + destination.Length, info.ByteLength, nameof(offset));
        lock (_lock)
        {
            _handle ??= File.OpenHandle(Path);
            long at = _header.DataStart + info.Begin + offset;
            while (!destination.IsEmpty)
            {
                int read = RandomAccess.Read(_handle, destination, at);
                if (read == 0)
                    throw new CheckpointException(Path, $"the file ends inside tensor '{name}'");
                destination = destination[read..];
                at += read;
            }
        }
    }

    /// <summary>
    /// Drops the resident pages wholly inside tensor <paramref name="name"/>'s bytes, or inside those of its rows (first
    /// dimension) [<paramref name="firstRow"/>, <paramref name="firstRow"/> + <paramref name="rowCount"/>) (MADV_DONTNEED on
    /// the private, unwritten mapping).
    /// </summary>
    public void Release(string name, long firstRow = 0, long rowCount = -1)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!OperatingSystem.IsLinux() || !_header.Tensors.TryGetValue(name, out var info))
            return;
        long rowBytes = info.Shape.Length == 0 || info.Shape[0] == 0 ? info.ByteLength : info.ByteLength / info.Shape[0];
        long from = Math.Min(firstRow * rowBytes, info.ByteLength);
        long byteLength = rowCount < 0 ? info.ByteLength - from : Math.Min(rowCount * rowBytes, info.ByteLength - from);
        lock (_lock)
        {
            foreach (var (dtype, mapping) in _mappings)   // each maps the whole file from its start
            {
                long size = dtype.ElementSize(), at = _header.DataStart + info.Begin + from;
                long firstElement = at / size, elements = Math.Min(((at + byteLength + size - 1) / size) - firstElement, mapping.shape[0] - firstElement);
                if (elements <= 0 || elements * size > int.MaxValue)
                    continue;   // the pages stay until the mapping goes; only memory, never correctness
                using var view = mapping.narrow(0, firstElement, elements);
                unsafe
                {
                    fixed (byte* pointer = view.bytes)
                    {
                        Runtime.MemoryAdvice.DontNeed((nint)pointer + (nint)(at - (firstElement * size)), byteLength);
                    }
                }
            }
        }
    }

    /// <summary>Elements [start, start + length) of the whole file read as <paramref name="dtype"/>: a view the caller owns.</summary>
    private torch.Tensor MappedRange(SafetensorsDType dtype, long start, long length)
    {
        lock (_lock)
        {
            Map(dtype);
            return _mappings[dtype].narrow(0, start, length);
        }
    }

    /// <summary>Maps the whole file as a 1-D tensor of <paramref name="dtype"/> (trailing bytes short of an element left out), once.</summary>
    private void Map(SafetensorsDType dtype)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_mappings.ContainsKey(dtype))
                return;
            var elements = _header.FileLength / dtype.ElementSize();
            try
            {
                // Owned by this object, not by whatever dispose scope the caller of Read happens to be in.
                _mappings.Add(dtype, torch.from_file(Path, shared: false, size: elements, dtype: dtype.ToScalarType()).DetachFromDisposeScope());
            }
            catch (ExternalException e)
            {
                throw new CheckpointException(Path, $"cannot memory-map the file: {e.Message}", e);
            }
        }
    }

    /// <summary>Drops this object's references to the mappings; tensors already read keep theirs.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            foreach (var mapping in _mappings.Values)
                mapping.Dispose();
            _mappings.Clear();
            _handle?.Dispose();
        }
    }
}
