using TorchSharp;

namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>
/// The tensors of a Hugging Face checkpoint directory: <c>{baseName}.safetensors</c>, or (when that is absent, as
/// transformers decides) the shards listed by <c>{baseName}.safetensors.index.json</c>'s <c>weight_map</c>.
/// Every shard is opened (validated and mapped) up front.
/// </summary>
public sealed class CheckpointReader : IDisposable
{
    private readonly Dictionary<string, SafetensorsFile> _fileOf;
    private readonly List<SafetensorsFile> _files;

    private CheckpointReader(string directory, Dictionary<string, SafetensorsFile> fileOf, List<SafetensorsFile> files)
    {
        Directory = directory;
        _fileOf = fileOf;
        _files = files;
    }

    public string Directory { get; }

    public IReadOnlyCollection<string> Names => _fileOf.Keys;

    /// <param name="directory">The checkpoint directory.</param>
    /// <param name="baseName"><c>model</c> for a model, <c>adapter_model</c> for a PEFT adapter.</param>
    public static CheckpointReader Open(string directory, string baseName = "model")
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(baseName);
        directory = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(directory))
            throw new CheckpointException(directory, "checkpoint directory not found");

        var single = Path.Combine(directory, $"{baseName}.safetensors");
        var indexPath = Path.Combine(directory, CheckpointIndex.FileName(baseName));
        if (File.Exists(single))
        {
            var file = SafetensorsFile.Open(single);
            return new CheckpointReader(directory, file.Tensors.Keys.ToDictionary(name => name, _ => file, StringComparer.Ordinal), [file]);
        }
        if (!File.Exists(indexPath))
            throw new CheckpointException(directory, $"neither {baseName}.safetensors nor {CheckpointIndex.FileName(baseName)} is there");

        var weightMap = CheckpointIndex.ReadWeightMap(indexPath);
        var shards = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            var fileOf = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var (name, shardName) in weightMap)
            {
                if (!shards.TryGetValue(shardName, out var shard))
                {
                    var shardPath = Path.Combine(directory, shardName);
                    if (!File.Exists(shardPath))
                        throw new CheckpointException(indexPath, $"weight_map puts '{name}' in {shardName}, which does not exist");
                    shard = SafetensorsFile.Open(shardPath);
                    shards.Add(shardName, shard);
                }
                if (!shard.Tensors.ContainsKey(name))
                    throw new CheckpointException(indexPath, $"weight_map puts '{name}' in {shardName}, which has no such tensor");
                fileOf.Add(name, shard);
            }
            return new CheckpointReader(directory, fileOf, [.. shards.Values]);
        }
        catch
        {
            foreach (var shard in shards.Values)
                shard.Dispose();
            throw;
        }
    }

    public TensorInfo Info(string name) => FileOf(name).Tensors[name];

    /// <summary>As <see cref="SafetensorsFile.Read"/>, from the file that holds <paramref name="name"/>.</summary>
    public torch.Tensor Read(string name) => FileOf(name).Read(name);

    /// <summary>As <see cref="SafetensorsFile.ReadBytes"/>, from the file that holds <paramref name="name"/>.</summary>
    public void ReadBytes(string name, long offset, Span<byte> destination) => FileOf(name).ReadBytes(name, offset, destination);

    /// <summary>
    /// Gives the memory of tensor <paramref name="name"/>'s mapped pages back (they are read again from the file if used
    /// again): a loader that converts each tensor (e.g. to Q8_0) keeps one tensor resident at a time, not the file.
    /// </summary>
    public void Release(string name) => FileOf(name).Release(name);

    /// <summary>As <see cref="Release(string)"/>, for rows (first dimension) [<paramref name="firstRow"/>, + <paramref name="rowCount"/>).</summary>
    public void Release(string name, long firstRow, long rowCount) => FileOf(name).Release(name, firstRow, rowCount);

    private SafetensorsFile FileOf(string name) =>
        _fileOf.TryGetValue(name, out var file) ? file : throw new CheckpointException(Directory, $"no tensor named '{name}' in the checkpoint");

    public void Dispose()
    {
        foreach (var file in _files)
            file.Dispose();
    }
}
