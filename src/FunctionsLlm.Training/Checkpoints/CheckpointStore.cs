using System.Globalization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Training.Optimization;
using static TorchSharp.torch;

namespace FunctionsLlm.Training.Checkpoints;

/// <summary>
/// RUN_DIR/checkpoints/checkpoint-{step}/: the adapter (PEFT layout) or, in full mode, the model weights; the
/// optimizer moments; the torch RNG state; trainer_state.json. Each is written to a temporary folder renamed into
/// place, so a kill never leaves a half checkpoint that resume would pick.
/// </summary>
public sealed class CheckpointStore(string runDir)
{
    private const string Prefix = "checkpoint-";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string RngFile = "rng_state.safetensors";
    public const string ModelFile = "model.safetensors";
    public const string AdapterFolder = "adapter";

    public string Root { get; } = Path.Combine(runDir, "checkpoints");

    public string PathOf(int step) => Path.Combine(Root, FolderName(step));

    public static string FolderName(int step) => Prefix + step.ToString(CultureInfo.InvariantCulture);

    /// <summary>The step of a folder named <c>checkpoint-{step}</c>; null for any other name.</summary>
    public static int? StepOf(string folderName) =>
        folderName.StartsWith(Prefix, StringComparison.Ordinal)
        && int.TryParse(folderName.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int step) ? step : null;

    /// <summary>Complete checkpoints, oldest first.</summary>
    public IReadOnlyList<(int Step, string Path)> List()
    {
        if (!Directory.Exists(Root))
            return [];
        return [.. Directory.GetDirectories(Root, Prefix + "*")
            .Select(d => (Step: StepOf(System.IO.Path.GetFileName(d)), Path: d))
            .Where(c => c.Step is not null && File.Exists(System.IO.Path.Combine(c.Path, TrainerState.FileName)))
            .OrderBy(c => c.Step)
            .Select(c => (c.Step!.Value, c.Path))];
    }

    public string? Latest() => List() is { Count: > 0 } all ? all[^1].Path : null;

    public void Save(CausalLM model, LoraConfig? lora, AdamW optimizer, TrainerState state)
    {
        string final = PathOf(state.GlobalStep);
        string temp = final + ".tmp";
        if (Directory.Exists(temp))
            Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        if (lora is null)
            SafetensorsWriter.Write(Path.Combine(temp, ModelFile), model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        else
            PeftAdapter.Save(model, lora, Path.Combine(temp, AdapterFolder));
        optimizer.Save(Path.Combine(temp, OptimizerFile));
        using (var rng = get_rng_state())
            SafetensorsWriter.Write(Path.Combine(temp, RngFile), [("torch", rng)]);
        state.Save(Path.Combine(temp, TrainerState.FileName));
        if (Directory.Exists(final))
            Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
    }

    /// <summary>Restores trainable weights, optimizer and RNG from a checkpoint; returns its trainer state.</summary>
    public static TrainerState Restore(string checkpoint, CausalLM model, bool full, AdamW optimizer)
    {
        var state = TrainerState.Load(Path.Combine(checkpoint, TrainerState.FileName));
        RestoreWeights(checkpoint, model, full);
        optimizer.Load(Path.Combine(checkpoint, OptimizerFile));
        using (var rngFile = SafetensorsFile.Open(Path.Combine(checkpoint, RngFile)))
        using (var rng = rngFile.Read("torch"))
        using (var copy = rng.clone())
            set_rng_state(copy);
        return state;
    }

    /// <summary>Copies a checkpoint's trainable weights (all parameters in full mode, else the LoRA factors) into the model.</summary>
    public static void RestoreWeights(string checkpoint, CausalLM model, bool full)
    {
        using var noGrad = no_grad();
        if (full)
        {
            using var file = SafetensorsFile.Open(Path.Combine(checkpoint, ModelFile));
            foreach (var (name, parameter) in model.named_parameters())
            {
                using var stored = file.Read(name);
                parameter.copy_(stored);
            }
            return;
        }
        using var adapter = SafetensorsFile.Open(Path.Combine(checkpoint, AdapterFolder, PeftAdapter.WeightsFileName));
        foreach (var (path, layer) in LoraInjector.LinearLayers(model).Where(l => l.Value.lora_A is not null))
        {
            using var a = adapter.Read(PeftAdapter.KeyOf(path, 'A'));
            using var b = adapter.Read(PeftAdapter.KeyOf(path, 'B'));
            layer.lora_A!.weight.copy_(a);
            layer.lora_B!.weight.copy_(b);
        }
    }

    /// <summary>Deletes the oldest checkpoints beyond <paramref name="limit"/>, never the best one.</summary>
    public void Rotate(int? limit, int? bestStep)
    {
        if (limit is not { } keep)
            return;
        var all = List();
        int excess = all.Count - keep;
        foreach (var (step, path) in all)
        {
            if (excess <= 0)
                break;
            if (step == bestStep)
                continue;
            Directory.Delete(path, recursive: true);
            excess--;
        }
    }
}
