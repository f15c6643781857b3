namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>Files of a Hugging Face model folder.</summary>
public static class ModelFolder
{
    private static readonly string[] WeightFiles = ["*.safetensors", "*.safetensors.index.json", "*.bin", "*.bin.index.json", "adapter_*"];

    /// <summary>Copies everything but weights and adapter files (config, generation config, tokenizer, chat template).</summary>
    public static void CopyAllButWeights(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        var skip = WeightFiles.SelectMany(pattern => Directory.GetFiles(source, pattern)).ToHashSet(StringComparer.Ordinal);
        foreach (string file in Directory.GetFiles(source).Where(f => !skip.Contains(f)))
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)), overwrite: true);
    }

    /// <summary>Moves a finished <paramref name="staging"/> folder into place; an existing output is moved aside first and removed after.</summary>
    public static void Replace(string outDir, string staging)
    {
        string? old = null;
        if (Directory.Exists(outDir))
        {
            old = $"{outDir}.old-{Guid.NewGuid():N}";
            Directory.Move(outDir, old);
        }
        else if (Path.GetDirectoryName(outDir) is { } parent)
        {
            Directory.CreateDirectory(parent);
        }
        Directory.Move(staging, outDir);
        if (old is not null)
            Directory.Delete(old, recursive: true);
    }
}
