using TorchSharp;

namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>
/// The raw bytes of contiguous CPU tensors, in chunks (TorchSharp's <c>Tensor.bytes</c> span is limited to 2 GiB),
/// without converting the dtype: a BF16 tensor gives its 16-bit patterns as stored.
/// </summary>
internal static class TensorBytes
{
    /// <summary>Largest span handed out at once; small enough that tests cross chunk boundaries cheaply.</summary>
    public const long ChunkBytes = 1 << 20;

    public delegate void ChunkAction(Span<byte> chunk, long byteOffset);

    /// <summary>Calls <paramref name="action"/> for consecutive byte ranges covering all of <paramref name="tensor"/>.</summary>
    public static void ForEachChunk(torch.Tensor tensor, ChunkAction action)
    {
        if (tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
            throw new ArgumentException("Raw bytes need a contiguous CPU tensor.", nameof(tensor));
        var total = tensor.numel() * tensor.element_size();
        if (total == 0)
            return;
        if (total <= ChunkBytes)
        {
            action(tensor.bytes, 0);
            return;
        }
        var elementSize = tensor.element_size();
        var elementsPerChunk = Math.Max(1, ChunkBytes / elementSize);
        using var flat = tensor.view(-1);
        var count = flat.shape[0];
        for (long start = 0; start < count; start += elementsPerChunk)
        {
            using var piece = flat.narrow(0, start, Math.Min(elementsPerChunk, count - start));
            action(piece.bytes, start * elementSize);
        }
    }

    public static void WriteTo(Stream stream, torch.Tensor tensor) =>
        ForEachChunk(tensor, (chunk, _) => stream.Write(chunk));

    /// <summary>Copies the raw bytes of 1-D U8 <paramref name="source"/> into <paramref name="destination"/> of any dtype.</summary>
    public static void CopyInto(torch.Tensor source, torch.Tensor destination)
    {
        if (source.dtype != torch.ScalarType.Byte || source.dim() != 1)
            throw new ArgumentException("Source must be a 1-D byte tensor.", nameof(source));
        if (source.shape[0] != destination.numel() * destination.element_size())
            throw new ArgumentException("Source and destination sizes differ.", nameof(source));
        ForEachChunk(destination, (chunk, offset) =>
        {
            using var slice = source.narrow(0, offset, chunk.Length);
            slice.bytes.CopyTo(chunk);
        });
    }
}
