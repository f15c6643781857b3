using System.Runtime.InteropServices;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Config;
using FunctionsLlm.Modeling.Gguf;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Training.Data;
using FunctionsLlm.Training.Evaluation;

namespace FunctionsLlm.Trainer.Jobs;

/// <summary>What a failed job carries: the kind of failure, and what went wrong in words a caller can act on.</summary>
public static class JobFailure
{
    public static (JobErrorCode Code, string Message) Describe(Exception e) => e switch
    {
        _ when IsOutOfMemory(e) => (JobErrorCode.OutOfMemory,
            $"out of memory: {e.Message.Trim()} — lower hyperparameters.batchSize or maxSeqLen (raise gradAccum to keep the effective batch), or use a larger GPU"),
        InputMissingException => (JobErrorCode.InputMissing, e.Message),
        ArtifactNotFoundException => (JobErrorCode.InputMissing, $"input missing: {e.Message}"),
        TrainingDataException => (JobErrorCode.CorruptTrainingData, $"corrupt training data: {e.Message}"),
        EvaluationException => (JobErrorCode.EvaluationFailed, $"evaluation failed: {e.Message}"),
        LoraParityException => (JobErrorCode.ParityGate, $"merge refused: {e.Message}"),
        LoraException => (JobErrorCode.MergeFailed, $"merge failed: {e.Message}"),
        GgufExportException => (JobErrorCode.ExportFailed, $"export failed (leave out the export, or fix the model): {e.Message}"),
        ContractException => (JobErrorCode.InvalidJob, e.Message),
        ArgumentException => (JobErrorCode.InvalidJob, $"invalid job: {e.Message}"),
        ModelConfigException or CheckpointException => (JobErrorCode.UnreadableInput, $"unusable model: {e.Message}"),
        InvalidDataException or FileNotFoundException or DirectoryNotFoundException => (JobErrorCode.UnreadableInput, $"unreadable input: {e.Message}"),
        _ => (JobErrorCode.Internal, $"{e.GetType().Name}: {e.Message}"),
    };

    private static bool IsOutOfMemory(Exception e) =>
        e is OutOfMemoryException || (e is ExternalException or InvalidOperationException &&
            (e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("CUDA error: out of memory", StringComparison.Ordinal)));
}
