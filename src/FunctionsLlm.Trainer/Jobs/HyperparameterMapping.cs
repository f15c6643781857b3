using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Training;

namespace FunctionsLlm.Trainer.Jobs;

/// <summary>A spec's <see cref="Hyperparameters"/> as the trainer's <see cref="TrainingOptions"/> (the same names as <c>flm train</c>).</summary>
public static class HyperparameterMapping
{
    public static TrainingOptions ToTrainingOptions(this Hyperparameters h) => new()
    {
        LoraR = h.LoraR,
        LoraAlpha = h.LoraAlpha,
        LoraDropout = h.LoraDropout,
        UseRsLora = h.UseRsLora,
        TargetModules = [.. h.TargetModules],
        Full = h.Full,
        Epochs = h.Epochs,
        MaxSteps = h.MaxSteps,
        BatchSize = h.BatchSize,
        GradientAccumulation = h.GradientAccumulation,
        LearningRate = h.LearningRate,
        WarmupRatio = h.WarmupRatio,
        WarmupSteps = h.WarmupSteps,
        Scheduler = h.Scheduler switch
        {
            SchedulerKind.Cosine => LearningRateScheduler.Cosine,
            SchedulerKind.Linear => LearningRateScheduler.Linear,
            SchedulerKind.Constant => LearningRateScheduler.Constant,
            _ => throw new ArgumentException($"scheduler {h.Scheduler} is not one of cosine, linear, constant"),
        },
        MaxSequenceLength = h.MaxSequenceLength,
        GroupByLength = h.GroupByLength,
        LoggingSteps = h.LoggingSteps,
        EvalSteps = h.EvalSteps,
        SaveSteps = h.SaveSteps,
        SaveTotalLimit = h.SaveTotalLimit,
        EarlyStoppingPatience = h.EarlyStoppingPatience,
        Seed = h.Seed,
    };
}
