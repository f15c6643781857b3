using System.Buffers.Binary;
using System.Runtime.InteropServices;
using FunctionsLlm.Modeling.Quantization;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Gguf;

/// <summary>
/// Writes a tensor's values as a GGUF tensor of a given type, row after row: F32 as is; F16 and BF16 rounded to
/// nearest even (as numpy's and torch's casts round); Q8_0 as llama.cpp's reference quantizer writes model files.
/// Rows go through in chunks, so a large embedding table never needs a second full-size copy.
/// </summary>
public static class GgufTensorEncoder
{
    private const long ChunkElements = 1 << 22;

    public static void Write(Tensor values, GgmlType type, Stream stream)
    {
        using var scope = NewDisposeScope();
        long rowLength = values.dim() == 0 ? 1 : values.shape[^1];
        var rows = values.contiguous().view(-1, rowLength);
        long rowsPerChunk = Math.Max(1, ChunkElements / rowLength);
        for (long start = 0; start < rows.shape[0]; start += rowsPerChunk)
        {
            using var chunkScope = NewDisposeScope();
            var chunk = rows.narrow(0, start, Math.Min(rowsPerChunk, rows.shape[0] - start));
            switch (type)
            {
                case GgmlType.F32:
                    stream.Write(chunk.to(ScalarType.Float32).contiguous().bytes);
                    break;
                case GgmlType.F16:
                    stream.Write(chunk.to(ScalarType.Float32).to(ScalarType.Float16).contiguous().bytes);
                    break;
                case GgmlType.BF16:
                    stream.Write(chunk.to(ScalarType.Float32).to(ScalarType.BFloat16).contiguous().bytes);
                    break;
                case GgmlType.Q8_0:
                    WriteQ8(chunk.to(ScalarType.Float32).contiguous(), stream);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(type), type, null);
            }
        }
    }

    /// <summary>Each block: its fp16 scale, then its 32 int8 values.</summary>
    private static void WriteQ8(Tensor rows, Stream stream)
    {
        int rowCount = (int)rows.shape[0], rowLength = (int)rows.shape[1], blocks = rowLength / Q8Blocks.Size;
        int rowBytes = (int)GgmlType.Q8_0.RowBytes(rowLength);
        var output = new byte[(long)rowCount * rowBytes];
        var values = MemoryMarshal.Cast<byte, float>(rows.bytes).ToArray();
        Parallel.For(0, rowCount, r =>
        {
            var quants = new sbyte[rowLength];
            var scales = new float[blocks];
            Q8Blocks.QuantizeWeights(values.AsSpan(r * rowLength, rowLength), quants, scales);
            var row = output.AsSpan(r * rowBytes, rowBytes);
            for (int b = 0; b < blocks; b++)
            {
                var block = row.Slice(b * (2 + Q8Blocks.Size), 2 + Q8Blocks.Size);
                BinaryPrimitives.WriteHalfLittleEndian(block, (Half)scales[b]);
                MemoryMarshal.AsBytes(quants.AsSpan(b * Q8Blocks.Size, Q8Blocks.Size)).CopyTo(block[2..]);
            }
        });
        stream.Write(output);
    }
}
