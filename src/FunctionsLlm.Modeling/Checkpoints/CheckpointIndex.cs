using System.Text.Encodings.Web;
using System.Text.Json;

namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>
/// <c>{baseName}.safetensors.index.json</c> of a sharded checkpoint:
/// <c>{"metadata": {"total_size": N}, "weight_map": {tensor: shard file}}</c>.
/// </summary>
internal static class CheckpointIndex
{
    public static string FileName(string baseName) => $"{baseName}.safetensors.index.json";

    /// <summary>Writes it as transformers does (<c>json.dumps(index, indent=2, sort_keys=True) + "\n"</c>).</summary>
    public static void Write(string path, long totalSize, IReadOnlyDictionary<string, string> weightMap)
    {
        AtomicFile.Write(path, stream =>
        {
            // Relaxed: tensor names go out as written (JSON-escaped only where JSON requires), not HTML-escaped.
            var options = new JsonWriterOptions { Indented = true, NewLine = "\n", Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
            using (var json = new Utf8JsonWriter(stream, options))
            {
                json.WriteStartObject();
                json.WriteStartObject("metadata");
                json.WriteNumber("total_size", totalSize);
                json.WriteEndObject();
                json.WriteStartObject("weight_map");
                foreach (var (name, file) in weightMap.OrderBy(e => e.Key, StringComparer.Ordinal))
                    json.WriteString(name, file);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            stream.WriteByte((byte)'\n');
        });
    }

    /// <summary>The weight map: tensor name → shard file name (a bare file name in the same directory).</summary>
    public static Dictionary<string, string> ReadWeightMap(string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"index is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object)
            {
                throw new CheckpointException(path, "index has no \"weight_map\" object");
            }
            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new CheckpointException(path, $"weight_map entry '{entry.Name}' is a {entry.Value.ValueKind}, not a file name");
                var file = entry.Value.GetString()!;
                if (file.Length == 0 || file != Path.GetFileName(file) || file is "." or "..")
                    throw new CheckpointException(path, $"weight_map entry '{entry.Name}' points to \"{file}\", which is not a file name in the checkpoint directory");
                if (!weightMap.TryAdd(entry.Name, file))
                    throw new CheckpointException(path, $"weight_map names tensor '{entry.Name}' twice");
            }
            return weightMap;
        }
    }
}
