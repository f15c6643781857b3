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
}
