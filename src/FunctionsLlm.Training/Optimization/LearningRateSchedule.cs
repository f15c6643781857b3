using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Training.Optimization;

/// <summary>
/// HF's schedules: the rate for the update after <c>step</c> completed updates is lr·λ(step), with linear warmup
/// λ = step / warmup, then cosine ½(1 + cos(π·progress)), linear (1 − progress) or constant 1, where progress runs
/// from 0 after warmup to 1 at the last step.
/// </summary>
public sealed class LearningRateSchedule(double learningRate, int warmupSteps, int totalSteps, SchedulerKind kind)
{
    public int WarmupSteps { get; } = warmupSteps;

    public int TotalSteps { get; } = totalSteps;

    public static int WarmupFor(Hyperparameters options, int totalSteps) =>
        options.WarmupSteps ?? (int)Math.Ceiling(options.WarmupRatio * totalSteps);

    public double At(int step)
    {
        if (step < WarmupSteps)
            return learningRate * step / Math.Max(1, WarmupSteps);
        if (kind == SchedulerKind.Constant)
            return learningRate;
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return kind switch
        {
            SchedulerKind.Cosine => learningRate * Math.Max(0, 0.5 * (1 + Math.Cos(Math.PI * progress))),
            _ => learningRate * Math.Max(0, 1 - progress),
        };
    }
}
