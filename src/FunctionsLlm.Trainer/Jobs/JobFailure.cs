using System.Runtime.InteropServices;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Training.Data;
using FunctionsLlm.Training.Evaluation;

namespace FunctionsLlm.Trainer.Jobs;

/// <summary>The message a failed job carries: what went wrong, in words a caller can act on.</summary>
public static class JobFailure
{
    public static string Describe(Exception e) => e switch
    {
        _ when IsOutOfMemory(e) =>
            $"out of memory: {e.Message.Trim()} — lower hyperparameters.batchSize or maxSeqLen (raise gradAccum to keep the effective batch), or use a larger GPU",
        InputMissingException => e.Message,
        ArtifactNotFoundException => $"input missing: {e.Message}",
        TrainingDataException => $"corrupt training data: {e.Message}",
        EvaluationException => $"evaluation failed: {e.Message}",
        LoraException => $"merge failed: {e.Message}",
        ContractException => e.Message,
        ArgumentException => $"invalid job: {e.Message}",
        InvalidDataException or FileNotFoundException or DirectoryNotFoundException => $"unreadable input: {e.Message}",
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    private static bool IsOutOfMemory(Exception e) =>
        e is OutOfMemoryException || (e is ExternalException or InvalidOperationException &&
            (e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("CUDA error: out of memory", StringComparison.Ordinal)));
}
