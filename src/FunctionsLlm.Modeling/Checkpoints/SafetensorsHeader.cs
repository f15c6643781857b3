using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;

namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>
/// The parsed, validated header of a safetensors file: an 8-byte little-endian length N, N bytes of UTF-8 JSON
/// <c>{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}</c>, then the data section.
/// </summary>
internal sealed class SafetensorsHeader
{
    /// <summary>The Python library's limit; a larger length means a corrupt or foreign file.</summary>
    public const long MaxHeaderLength = 100_000_000;

    public const string MetadataKey = "__metadata__";

    private SafetensorsHeader(Dictionary<string, TensorInfo> tensors, Dictionary<string, string> metadata, long dataStart, long fileLength)
    {
        Tensors = tensors;
        Metadata = metadata;
        DataStart = dataStart;
        FileLength = fileLength;
    }

    /// <summary>Entries in header order.</summary>
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Absolute file offset of the data section (8 + N).</summary>
    public long DataStart { get; }

    /// <summary>The file's length when the header was read; the data section is [DataStart, FileLength).</summary>
    public long FileLength { get; }

    /// <summary>Reads and validates the header of <paramref name="path"/> against the file's length.</summary>
    public static SafetensorsHeader Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1);
        var fileLength = stream.Length;
        if (fileLength < 8)
            throw new CheckpointException(path, $"file is {fileLength} bytes, too short for the 8-byte header length (truncated or not safetensors)");

        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderLength)
            throw new CheckpointException(path, $"header length {headerLength} is absurd (limit {MaxHeaderLength}); not a safetensors file or corrupt");
        if ((long)headerLength > fileLength - 8)
            throw new CheckpointException(path, $"header length {headerLength} exceeds the {fileLength - 8} bytes after the length field (truncated?)");

        var json = new byte[headerLength];
        stream.ReadExactly(json);
        var dataStart = 8 + (long)headerLength;
        return Parse(path, json, dataStart, fileLength);
    }

    private static SafetensorsHeader Parse(string path, byte[] json, long dataStart, long fileLength)
    {
        if (!Utf8.IsValid(json))
            throw new CheckpointException(path, "header is not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"header is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(path, $"header JSON is a {root.ValueKind}, not an object");

            var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var sawMetadata = false;
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    if (sawMetadata)
                        throw new CheckpointException(path, $"header has '{MetadataKey}' twice");
                    sawMetadata = true;
                    ReadMetadata(path, property.Value, metadata);
                    continue;
                }
                if (tensors.ContainsKey(property.Name))
                    throw new CheckpointException(path, $"header names tensor '{property.Name}' twice");
                tensors.Add(property.Name, ReadEntry(path, property.Name, property.Value, fileLength - dataStart));
            }
            CheckNoOverlap(path, tensors.Values);
            return new SafetensorsHeader(tensors, metadata, dataStart, fileLength);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return;
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(path, $"'{MetadataKey}' is a {value.ValueKind}, not an object of strings");
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointException(path, $"'{MetadataKey}' value '{entry.Name}' is a {entry.Value.ValueKind}, not a string");
            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
                throw new CheckpointException(path, $"'{MetadataKey}' has key '{entry.Name}' twice");
        }
    }

    private static TensorInfo ReadEntry(string path, string name, JsonElement entry, long dataLength)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(path, $"tensor '{name}': entry is a {entry.ValueKind}, not an object");

        if (!entry.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new CheckpointException(path, $"tensor '{name}': missing string \"dtype\"");
        var dtypeText = dtypeElement.GetString()!;
        if (!SafetensorsDTypes.TryParse(dtypeText, out var dtype))
            throw new CheckpointException(path, $"tensor '{name}': unknown or unsupported dtype \"{dtypeText}\" (supported: {string.Join(", ", Enum.GetNames<SafetensorsDType>())})");

        var shape = ReadIntegers(path, name, entry, "shape", expectedCount: null);
        foreach (var dim in shape)
        {
            if (dim < 0)
                throw new CheckpointException(path, $"tensor '{name}': negative dimension {dim} in shape [{string.Join(", ", shape)}]");
        }
        var offsets = ReadIntegers(path, name, entry, "data_offsets", expectedCount: 2);
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin < 0 || end < begin)
            throw new CheckpointException(path, $"tensor '{name}': data_offsets [{begin}, {end}] are not an increasing pair of non-negative offsets");

        long expectedBytes;
        try
        {
            expectedBytes = dtype.ElementSize();
            foreach (var dim in shape)
                expectedBytes = checked(expectedBytes * dim);
        }
        catch (OverflowException e)
        {
            throw new CheckpointException(path, $"tensor '{name}': shape [{string.Join(", ", shape)}] overflows a 64-bit byte count", e);
        }
        if (end - begin != expectedBytes)
            throw new CheckpointException(path, $"tensor '{name}': data_offsets [{begin}, {end}] span {end - begin} bytes, but {dtypeText} shape [{string.Join(", ", shape)}] needs {expectedBytes}");
        if (end > dataLength)
            throw new CheckpointException(path, $"tensor '{name}': data_offsets [{begin}, {end}] run past the {dataLength}-byte data section; the file is truncated");

        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long[] ReadIntegers(string path, string name, JsonElement entry, string field, int? expectedCount)
    {
        if (!entry.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw new CheckpointException(path, $"tensor '{name}': missing array \"{field}\"");
        var values = new long[array.GetArrayLength()];
        if (expectedCount is { } count && values.Length != count)
            throw new CheckpointException(path, $"tensor '{name}': \"{field}\" has {values.Length} values, not {count}");
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out values[i]))
                throw new CheckpointException(path, $"tensor '{name}': \"{field}\" holds {item.GetRawText()}, not a 64-bit integer");
            i++;
        }
        return values;
    }

    /// <summary>No two non-empty tensors may share a byte (empty ones own none).</summary>
    private static void CheckNoOverlap(string path, IEnumerable<TensorInfo> tensors)
    {
        TensorInfo? previous = null;
        foreach (var tensor in tensors.Where(t => t.End > t.Begin).OrderBy(t => t.Begin))
        {
            if (previous is not null && tensor.Begin < previous.End)
                throw new CheckpointException(path, $"tensors '{previous.Name}' [{previous.Begin}, {previous.End}) and '{tensor.Name}' [{tensor.Begin}, {tensor.End}) overlap");
            previous = tensor;
        }
    }
}
