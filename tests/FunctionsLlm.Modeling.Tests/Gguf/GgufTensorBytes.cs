using System.Text;

namespace FunctionsLlm.Modeling.Tests.Gguf;

/// <summary>
/// Reads a GGUF file's tensor infos and the bytes of its tensors (not its metadata values, which are skipped), to
/// compare two files tensor by tensor. Follows the GGUF v3 layout: header, key/values, tensor infos, aligned data.
/// </summary>
internal static class GgufTensorBytes
{
    public static Dictionary<string, (uint Type, long[] Dims, byte[] Data)> Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        Assert.Equal(0x46554747u, reader.ReadUInt32());
        Assert.Equal(3u, reader.ReadUInt32());
        long tensors = (long)reader.ReadUInt64(), keys = (long)reader.ReadUInt64();
        uint alignment = 32;
        for (long k = 0; k < keys; k++)
        {
            string key = ReadString(reader);
            uint type = reader.ReadUInt32();
            if (key == "general.alignment")
                alignment = reader.ReadUInt32();
            else
                SkipValue(reader, type);
        }
        var infos = new List<(string Name, long[] Dims, uint Type, long Offset)>();
        for (long t = 0; t < tensors; t++)
        {
            string name = ReadString(reader);
            var dims = new long[reader.ReadUInt32()];
            for (int d = 0; d < dims.Length; d++)
                dims[d] = (long)reader.ReadUInt64();
            infos.Add((name, dims, reader.ReadUInt32(), (long)reader.ReadUInt64()));
        }
        long dataStart = (stream.Position + alignment - 1) / alignment * alignment;
        var result = new Dictionary<string, (uint, long[], byte[])>(StringComparer.Ordinal);
        foreach (var (name, dims, type, offset) in infos.OrderBy(i => i.Offset))
        {
            long elements = dims.Aggregate(1L, (a, b) => a * b);
            long bytes = type switch { 0 => elements * 4, 1 or 30 => elements * 2, 8 => elements / 32 * 34, _ => throw new NotSupportedException($"type {type}") };
            stream.Position = dataStart + offset;
            result[name] = (type, dims, reader.ReadBytes((int)bytes));
        }
        return result;
    }

    private static string ReadString(BinaryReader reader) => Encoding.UTF8.GetString(reader.ReadBytes((int)reader.ReadUInt64()));

    private static void SkipValue(BinaryReader reader, uint type)
    {
        switch (type)
        {
            case 0 or 1 or 7: reader.ReadByte(); break;
            case 2 or 3: reader.ReadUInt16(); break;
            case 4 or 5 or 6: reader.ReadUInt32(); break;
            case 10 or 11 or 12: reader.ReadUInt64(); break;
            case 8: ReadString(reader); break;
            case 9:
                uint elementType = reader.ReadUInt32();
                ulong count = reader.ReadUInt64();
                for (ulong i = 0; i < count; i++)
                    SkipValue(reader, elementType);
                break;
            default: throw new NotSupportedException($"GGUF value type {type}");
        }
    }
}
