using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using TorchSharp;

namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>
/// Writes safetensors files as the Python library does: header padded with spaces so the data section starts
/// 8-byte aligned, <c>__metadata__</c> first, then entries sorted by name; data ordered by element size (largest
/// first) then name, so every tensor is aligned to its element size; raw bits (BF16/F16 are not converted).
/// Files are written beside the target and renamed over it (<see cref="AtomicFile"/>); tensor bytes are streamed.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes one file. Tensors may be on any device and non-contiguous; each is made CPU-contiguous in turn.</summary>
    public static void Write(string path, IEnumerable<(string Name, torch.Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        Write(path, Describe(tensors), metadata);
    }

    /// <summary>
    /// Writes a Hugging Face checkpoint directory: <c>{baseName}.safetensors</c> when everything fits in
    /// <paramref name="maxShardBytes"/>, else <c>{baseName}-00001-of-0000N.safetensors</c>... plus
    /// <c>{baseName}.safetensors.index.json</c>, split like <c>save_pretrained</c>; then removes the other layout's
    /// files and stale shards. Metadata gets <c>"format": "pt"</c> unless it has a format (transformers requires one).
    /// </summary>
    public static void WriteCheckpoint(
        string directory,
        IEnumerable<(string Name, torch.Tensor Tensor)> tensors,
        long maxShardBytes = 5L << 30,
        string baseName = "model",
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxShardBytes, 1);
        if (string.IsNullOrEmpty(baseName) || baseName != Path.GetFileName(baseName))
            throw new ArgumentException($"Base name \"{baseName}\" must be a plain file name.", nameof(baseName));

        var entries = Describe(tensors);
        var fileMetadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt" };
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            fileMetadata[key] = value;

        Directory.CreateDirectory(directory);
        var single = Path.Combine(directory, $"{baseName}.safetensors");
        var index = Path.Combine(directory, CheckpointIndex.FileName(baseName));
        var shards = ShardPlan.Split(entries.Select(e => e.ByteLength).ToList(), maxShardBytes);
        if (shards.Count <= 1)
        {
            Write(single, entries, fileMetadata);
            DeleteIfExists(index);
            DeleteShardsExcept(directory, baseName, keep: new HashSet<string>());
            return;
        }

        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        var shardNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < shards.Count; i++)
        {
            var shardName = $"{baseName}-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            var shardEntries = shards[i].Select(e => entries[e]).ToList();
            Write(Path.Combine(directory, shardName), shardEntries, fileMetadata);
            foreach (var entry in shardEntries)
                weightMap.Add(entry.Name, shardName);
            shardNames.Add(shardName);
        }
        CheckpointIndex.Write(index, entries.Sum(e => e.ByteLength), weightMap);
        // Only now: loaders prefer the single file while it exists, so until here they still saw the old checkpoint.
        DeleteIfExists(single);
        DeleteShardsExcept(directory, baseName, shardNames);
    }

    private sealed record Entry(string Name, torch.Tensor Tensor, SafetensorsDType DType, long[] Shape, long ByteLength);

    private static List<Entry> Describe(IEnumerable<(string Name, torch.Tensor Tensor)> tensors)
    {
        var entries = new List<Entry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            ArgumentNullException.ThrowIfNull(name, nameof(tensors));
            ArgumentNullException.ThrowIfNull(tensor, nameof(tensors));
            if (name == SafetensorsHeader.MetadataKey)
                throw new ArgumentException($"'{SafetensorsHeader.MetadataKey}' is reserved and cannot name a tensor.", nameof(tensors));
            if (!names.Add(name))
                throw new ArgumentException($"Tensor name '{name}' appears twice.", nameof(tensors));
            if (!SafetensorsDTypes.TryFromScalarType(tensor.dtype, out var dtype))
                throw new ArgumentException($"Tensor '{name}' has dtype {tensor.dtype}, which safetensors files here cannot hold.", nameof(tensors));
            entries.Add(new Entry(name, tensor, dtype, tensor.shape, tensor.numel() * dtype.ElementSize()));
        }
        return entries;
    }

    private static void Write(string path, List<Entry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var dataOrder = entries
            .OrderByDescending(e => e.DType.ElementSize())
            .ThenBy(e => e.Name, StringComparer.Ordinal)
            .ToList();
        var offsets = new Dictionary<string, (long Begin, long End)>(StringComparer.Ordinal);
        long position = 0;
        foreach (var entry in dataOrder)
        {
            offsets.Add(entry.Name, (position, position + entry.ByteLength));
            position += entry.ByteLength;
        }
        var header = Header(entries, offsets, metadata);

        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var entry in dataOrder)
            {
                var before = stream.Position;
                WriteData(stream, entry.Tensor);
                if (stream.Position - before != entry.ByteLength)
                    throw new InvalidOperationException($"Tensor '{entry.Name}' changed size while being written.");
            }
        });
    }

    /// <summary>The header JSON, padded with spaces so that 8 + its length is a multiple of 8.</summary>
    private static byte[] Header(List<Entry> entries, Dictionary<string, (long Begin, long End)> offsets, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed: names go out as UTF-8 (JSON-escaped only where JSON requires), as the Python library writes them.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafetensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(e => e.Key, StringComparer.Ordinal))
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            foreach (var entry in entries.OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", entry.DType.Name());
                json.WriteStartArray("shape");
                foreach (var dim in entry.Shape)
                    json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offsets[entry.Name].Begin);
                json.WriteNumberValue(offsets[entry.Name].End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        var padding = (8 - buffer.WrittenCount % 8) % 8;
        var header = new byte[buffer.WrittenCount + padding];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static void WriteData(Stream stream, torch.Tensor tensor)
    {
        var cpu = tensor.device_type == DeviceType.CPU ? tensor : tensor.cpu();
        try
        {
            var contiguous = cpu.is_contiguous() ? cpu : cpu.contiguous();
            try
            {
                TensorBytes.WriteTo(stream, contiguous);
            }
            finally
            {
                if (!ReferenceEquals(contiguous, cpu))
                    contiguous.Dispose();
            }
        }
        finally
        {
            if (!ReferenceEquals(cpu, tensor))
                cpu.Dispose();
        }
    }

    private static void DeleteIfExists(string path)
    {
        if (File.Exists(path))
            File.Delete(path);
    }

    private static void DeleteShardsExcept(string directory, string baseName, IReadOnlySet<string> keep)
    {
        var shardName = new Regex($@"\A{Regex.Escape(baseName)}-\d{{5}}-of-\d{{5}}\.safetensors\z", RegexOptions.CultureInvariant);
        foreach (var path in Directory.EnumerateFiles(directory, "*.safetensors"))
        {
            var name = Path.GetFileName(path);
            if (shardName.IsMatch(name) && !keep.Contains(name))
                File.Delete(path);
        }
    }
}
