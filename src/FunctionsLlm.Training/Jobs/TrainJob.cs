using System.Globalization;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Training.Data;

namespace FunctionsLlm.Training.Jobs;

/// <summary>
/// A train job on local folders: the base model folder (with <see cref="Hyperparameters.Full"/> and no weights, a model
/// initialised from its config), the formatted train and eval JSONL, and the run folder it writes (adapter or model,
/// checkpoints, metrics). <c>flm train</c> and the trainer app's jobs both run it; neither knows about the other's
/// stores or HTTP.
/// </summary>
public static class TrainJob
{
    /// <param name="started">Told, before the first step, what is trained on what (one line).</param>
    public static TrainingResult Run(Hyperparameters settings, string baseDir, string trainPath, string? evalPath, string runDir,
        string? resumeFrom = null, IProgress<TrainingProgress>? progress = null, TextWriter? console = null, Action<string>? started = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        bool fromScratch = settings.Full && !Directory.EnumerateFiles(baseDir, "*.safetensors").Any();
        using var model = fromScratch ? ModelLoader.Initialize(baseDir, settings.Seed) : ModelLoader.Load(baseDir);
        var train = TrainingData.Load(trainPath, settings.MaxSequenceLength, model.Config.VocabSize);
        var eval = evalPath is not null && File.Exists(evalPath) && new FileInfo(evalPath).Length > 0
            ? TrainingData.Load(evalPath, settings.MaxSequenceLength, model.Config.VocabSize) : [];
        started?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"{(settings.Full ? "full-parameter" : "LoRA")} training of {baseDir}{(fromScratch ? " (from scratch)" : "")}: {train.Count} training and {eval.Count} eval records"));
        return new TrainingLoop(settings, console).Run(model, baseDir, train, eval, runDir, resumeFrom, progress, cancellationToken);
    }
}
