using System.Text;
using FunctionsLlm.Modeling.Checkpoints;

namespace FunctionsLlm.Modeling.Gguf;

/// <summary>
/// Writes a GGUF v3 file (ggml's single-file model format): header, typed key/value metadata, tensor infos, then
/// the tensor data, each tensor at a multiple of <see cref="Alignment"/> from the start of the data section.
/// All numbers little-endian; strings are a uint64 byte length then UTF-8 without a terminator.
/// Tensor dims are given in GGUF order: the fastest-varying first, so a PyTorch (out, in) weight is [in, out].
/// </summary>
public sealed class GgufWriter
{
    public const int Alignment = 32;
    private const uint Magic = 0x46554747; // "GGUF" read as a little-endian uint32
    private const uint Version = 3;

    private readonly List<(string Key, Action<BinaryWriter> WriteValue)> _metadata = [];
    private readonly List<(string Name, long[] Dims, GgmlType Type, Action<Stream> WriteData)> _tensors = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public void Add(string key, string value) => AddMetadata(key, w => { w.Write((uint)ValueType.String); WriteString(w, value); });

    public void Add(string key, uint value) => AddMetadata(key, w => { w.Write((uint)ValueType.UInt32); w.Write(value); });

    public void Add(string key, int value) => AddMetadata(key, w => { w.Write((uint)ValueType.Int32); w.Write(value); });

    public void Add(string key, float value) => AddMetadata(key, w => { w.Write((uint)ValueType.Float32); w.Write(value); });

    public void Add(string key, bool value) => AddMetadata(key, w => { w.Write((uint)ValueType.Bool); w.Write(value); });

    public void Add(string key, IReadOnlyList<string> values) => AddArray(key, ValueType.String, values.Count, w =>
    {
        foreach (var value in values)
            WriteString(w, value);
    });

    public void Add(string key, IReadOnlyList<int> values) => AddArray(key, ValueType.Int32, values.Count, w =>
    {
        foreach (var value in values)
            w.Write(value);
    });

    public void Add(string key, IReadOnlyList<float> values) => AddArray(key, ValueType.Float32, values.Count, w =>
    {
        foreach (var value in values)
            w.Write(value);
    });

    /// <summary>A tensor of <paramref name="type"/>; <paramref name="writeData"/> must write exactly its bytes, row after row.</summary>
    public void AddTensor(string name, long[] dims, GgmlType type, Action<Stream> writeData)
    {
        if (dims.Length is < 1 or > 4 || dims.Any(d => d < 1))
            throw new ArgumentException($"tensor '{name}': GGUF takes 1 to 4 positive dims, got [{string.Join(", ", dims)}]", nameof(dims));
        _ = type.RowBytes(dims[0]); // refuses a Q8_0 row that is not whole blocks
        if (!_names.Add("tensor:" + name))
            throw new ArgumentException($"tensor '{name}' added twice", nameof(name));
        _tensors.Add((name, dims, type, writeData));
    }

    public int TensorCount => _tensors.Count;

    /// <summary>Writes the file through a temporary one renamed at the end, so a partial file never has the final name.</summary>
    public void Write(string path) => AtomicFile.Write(path, WriteTo);

    private void WriteTo(Stream stream)
    {
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write((ulong)_tensors.Count);
            writer.Write((ulong)_metadata.Count);
            foreach (var (key, writeValue) in _metadata)
            {
                WriteString(writer, key);
                writeValue(writer);
            }

            long offset = 0; // relative to the start of the data section
            var offsets = new long[_tensors.Count];
            for (int i = 0; i < _tensors.Count; i++)
            {
                var (name, dims, type, _) = _tensors[i];
                offsets[i] = offset;
                WriteString(writer, name);
                writer.Write((uint)dims.Length);
                foreach (long dim in dims)
                    writer.Write((ulong)dim);
                writer.Write((uint)type);
                writer.Write((ulong)offset);
                offset = Align(offset + ByteLength(dims, type));
            }
            writer.Flush();
            Pad(stream);

            long dataStart = stream.Position;
            for (int i = 0; i < _tensors.Count; i++)
            {
                var (name, dims, type, writeData) = _tensors[i];
                writeData(stream);
                long written = stream.Position - dataStart - offsets[i];
                if (written != ByteLength(dims, type))
                    throw new InvalidOperationException($"tensor '{name}': wrote {written} bytes, its dims need {ByteLength(dims, type)} as {type}");
                Pad(stream);
            }
        }
    }

    private void AddMetadata(string key, Action<BinaryWriter> writeValue)
    {
        if (!_names.Add("key:" + key))
            throw new ArgumentException($"metadata key '{key}' added twice", nameof(key));
        _metadata.Add((key, writeValue));
    }

    private void AddArray(string key, ValueType elementType, int count, Action<BinaryWriter> writeElements) =>
        AddMetadata(key, w =>
        {
            w.Write((uint)ValueType.Array);
            w.Write((uint)elementType);
            w.Write((ulong)count);
            writeElements(w);
        });

    private static void WriteString(BinaryWriter writer, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private static long ByteLength(long[] dims, GgmlType type) => dims.Skip(1).Aggregate(type.RowBytes(dims[0]), (product, dim) => product * dim);

    private static long Align(long offset) => (offset + Alignment - 1) / Alignment * Alignment;

    private static void Pad(Stream stream)
    {
        long padding = Align(stream.Position) - stream.Position;
        for (long i = 0; i < padding; i++)
            stream.WriteByte(0);
    }

    /// <summary>gguf_type: how a metadata value is encoded.</summary>
    private enum ValueType : uint
    {
        UInt32 = 4,
        Int32 = 5,
        Float32 = 6,
        Bool = 7,
        String = 8,
        Array = 9,
    }
}
