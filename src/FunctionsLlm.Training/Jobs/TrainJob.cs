using System.Globalization;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
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
    /// <param name="quantizeAboveParameters">With <see cref="Hyperparameters.Quantize"/> unset, a base with more parameters
    /// than this is held in NF4 (QLoRA); 0: never.</param>
    public static TrainingResult Run(Hyperparameters settings, string baseDir, string trainPath, string? evalPath, string runDir,
        string? resumeFrom = null, IProgress<TrainingProgress>? progress = null, TextWriter? console = null, Action<string>? started = null,
        long quantizeAboveParameters = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        bool fromScratch = settings.Full && !Directory.EnumerateFiles(baseDir, "*.safetensors").Any();
        var quantize = fromScratch || settings.Full ? BaseQuantization.None : settings.Quantize ?? DefaultQuantization(baseDir, quantizeAboveParameters);
        using var model = fromScratch ? ModelLoader.Initialize(baseDir, settings.Seed) : ModelLoader.Load(baseDir, new ModelLoadOptions(Quantize: BaseQuantizationOptions.For(quantize)));
        bool fourBitBase = LoraInjector.LinearLayers(model).Values.Any(l => l.Quantized is not null);
        if (settings.Full && fourBitBase)
            throw new ModelConfigException($"{baseDir}: the base is stored in 4 bits; full-parameter training needs dense weights (train LoRA on it, or train the original)");
        var train = TrainingData.Load(trainPath, settings.MaxSequenceLength, model.Config.VocabSize);
        var eval = evalPath is not null && File.Exists(evalPath) && new FileInfo(evalPath).Length > 0
            ? TrainingData.Load(evalPath, settings.MaxSequenceLength, model.Config.VocabSize) : [];
        started?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"{(settings.Full ? "full-parameter" : fourBitBase ? "QLoRA (4-bit base)" : "LoRA")} training of {baseDir}{(fromScratch ? " (from scratch)" : "")}: {train.Count} training and {eval.Count} eval records"));
        return new TrainingLoop(settings, console).Run(model, baseDir, train, eval, runDir, resumeFrom, progress, cancellationToken) with { FourBitBase = fourBitBase };
    }

    // NF4 for a base larger than the threshold (its tensors' element count: the parameters, for a dense checkpoint).
    private static BaseQuantization DefaultQuantization(string baseDir, long quantizeAboveParameters)
    {
        if (quantizeAboveParameters <= 0)
            return BaseQuantization.None;
        using var checkpoint = CheckpointReader.Open(baseDir);
        long parameters = checkpoint.Names.Sum(n => checkpoint.Info(n).Shape.Aggregate(1L, (a, b) => a * b));
        return parameters > quantizeAboveParameters ? BaseQuantization.Nf4 : BaseQuantization.None;
    }


}
