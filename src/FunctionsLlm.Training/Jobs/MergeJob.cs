using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;

namespace FunctionsLlm.Training.Jobs;

/// <param name="Parity">The LoRA merge and its parity gate; null for a fully fine-tuned model, published as trained.</param>
public sealed record MergeJobResult(string OutputDir, LoraMergeResult? Parity)
{
    public int MergedModules => Parity?.MergedModules.Count ?? 0;
}

/// <summary>
/// A merge job on local folders: a train job's output (a PEFT adapter, merged into the base behind the parity gate, or a
/// whole model from a full fine-tune, copied as trained once it loads) into a complete model folder. <c>flm merge</c>
/// and the trainer app's jobs both run it.
/// </summary>
public static class MergeJob
{
    public static MergeJobResult Run(string baseDir, string trainedDir, string outDir, LoraMergeOptions? options = null)
    {
        // A folder with neither file goes to the merger, whose error names the missing adapter_config.json.
        if (File.Exists(Path.Combine(trainedDir, LoraConfig.FileName)) || !File.Exists(Path.Combine(trainedDir, "config.json")))
            return new MergeJobResult(outDir, LoraMerger.Merge(baseDir, trainedDir, outDir, options));
        // Nothing to merge: the model's own files, without what the train job put beside them (its metrics log).
        Directory.CreateDirectory(outDir);
        foreach (var file in Directory.EnumerateFiles(trainedDir).Where(f => Path.GetFileName(f) != "metrics.jsonl"))
            File.Copy(file, Path.Combine(outDir, Path.GetFileName(file)), overwrite: true);
        using (ModelLoader.Load(outDir))
        {
            // It loads: a complete model folder.
        }
        return new MergeJobResult(outDir, null);
    }
}
