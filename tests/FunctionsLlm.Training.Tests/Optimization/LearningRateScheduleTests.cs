using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Training.Optimization;
using FunctionsLlm.Training;

namespace FunctionsLlm.Training.Tests.Optimization;

public class LearningRateScheduleTests
{
    // Values of transformers' get_{cosine,linear,constant}_schedule_with_warmup(lr=1e-3, warmup=2, total=10), worked by hand:
    // warmup: step/2; cosine: ½(1 + cos(π·(step − 2)/8)); linear: (10 − step)/8.
    [Theory]
    [InlineData(SchedulerKind.Cosine, new[] { 0, 0.5e-3, 1e-3, 0.9619397662556434e-3, 0.8535533905932737e-3, 0.5e-3, 0.0380602337443566e-3, 0 }, new[] { 0, 1, 2, 3, 4, 6, 9, 10 })]
    [InlineData(SchedulerKind.Linear, new[] { 0, 0.5e-3, 1e-3, 0.875e-3, 0.5e-3, 0.125e-3, 0 }, new[] { 0, 1, 2, 3, 6, 9, 10 })]
    [InlineData(SchedulerKind.Constant, new[] { 0, 0.5e-3, 1e-3, 1e-3 }, new[] { 0, 1, 2, 9 })]
    public void Warmup_then_the_schedule_as_in_transformers(SchedulerKind kind, double[] expected, int[] steps)
    {
        var schedule = new LearningRateSchedule(1e-3, warmupSteps: 2, totalSteps: 10, kind);
        Assert.Equal(expected, steps.Select(schedule.At), (a, b) => Math.Abs(a - b) < 1e-15);
    }

    [Fact]
    public void Warmup_ratio_rounds_up_as_transformers_does()
    {
        Assert.Equal(3, LearningRateSchedule.WarmupFor(new Hyperparameters { WarmupRatio = 0.03 }, 100));   // math.ceil(100 * 0.03)
        Assert.Equal(2, LearningRateSchedule.WarmupFor(new Hyperparameters { WarmupRatio = 0.03 }, 50));
        Assert.Equal(1, LearningRateSchedule.WarmupFor(new Hyperparameters { WarmupRatio = 0.03 }, 10));
        Assert.Equal(7, LearningRateSchedule.WarmupFor(new Hyperparameters { WarmupSteps = 7 }, 10));
    }
}
