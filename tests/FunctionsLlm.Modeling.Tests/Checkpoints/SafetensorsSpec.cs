using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;

namespace FunctionsLlm.Modeling.Tests.Checkpoints;

/// <summary>
/// The safetensors format as the spec states it, coded here independently of the production reader and writer:
/// builds files byte by byte and takes them apart again, so tests compare against the spec, not against themselves.
/// </summary>
internal static class SafetensorsSpec
{
    /// <summary>u64 LE header length, the header (padded with spaces so the data starts 8-aligned when asked), the data.</summary>
    public static byte[] Build(string headerJson, byte[] data, bool pad = true)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var padding = pad ? (8 - header.Length % 8) % 8 : 0;
        var file = new byte[8 + header.Length + padding + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)(header.Length + padding));
        header.CopyTo(file, 8);
        file.AsSpan(8 + header.Length, padding).Fill((byte)' ');
        data.CopyTo(file, 8 + header.Length + padding);
        return file;
    }

    /// <summary>The header length N, the header text, and the absolute offset of the data section (8 + N).</summary>
    public static (long Length, string Json, long DataStart) Header(byte[] file)
    {
        var length = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (length, Encoding.UTF8.GetString(file, 8, (int)length), 8 + length);
    }

    /// <summary>Header entries (without <c>__metadata__</c>) in file order.</summary>
    public static List<Entry> Entries(byte[] file)
    {
        using var document = JsonDocument.Parse(Header(file).Json);
        var entries = new List<Entry>();
        foreach (var property in document.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__")
                continue;
            var value = property.Value;
            var offsets = value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            entries.Add(new Entry(
                property.Name,
                value.GetProperty("dtype").GetString()!,
                [.. value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64())],
                offsets[0],
                offsets[1]));
        }
        return entries;
    }

    public static Dictionary<string, string> Metadata(byte[] file)
    {
        using var document = JsonDocument.Parse(Header(file).Json);
        return document.RootElement.TryGetProperty("__metadata__", out var metadata)
            ? metadata.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!)
            : [];
    }

    /// <summary>The bytes of <paramref name="entry"/> in <paramref name="file"/>.</summary>
    public static byte[] Data(byte[] file, Entry entry) =>
        file.AsSpan((int)(Header(file).DataStart + entry.Begin), (int)(entry.End - entry.Begin)).ToArray();

    /// <summary>bfloat16 is the top half of a float32.</summary>
    public static float Bf16ToFloat(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>A tensor's bytes as stored (contiguous CPU tensors only).</summary>
    public static byte[] RawBytes(torch.Tensor tensor) => tensor.bytes.ToArray();

    /// <summary>A tensor of <paramref name="type"/> holding exactly <paramref name="bytes"/>.</summary>
    public static torch.Tensor FromRawBytes(byte[] bytes, torch.ScalarType type, params long[] shape)
    {
        var tensor = torch.empty(shape, type);
        tensor.bytes = bytes;
        return tensor;
    }

    internal sealed record Entry(string Name, string DType, long[] Shape, long Begin, long End);
}
