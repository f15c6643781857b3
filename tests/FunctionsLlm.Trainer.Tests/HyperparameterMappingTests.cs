using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Trainer.Jobs;
using FunctionsLlm.Training;

namespace FunctionsLlm.Trainer.Tests;

public sealed class HyperparameterMappingTests
{
    [Fact]
    public void The_contract_defaults_are_the_trainers_defaults()
    {
        var mapped = new Hyperparameters().ToTrainingOptions();
        var defaults = new TrainingOptions();
        Assert.Equal(defaults.TargetModules, mapped.TargetModules);
        Assert.Equal(defaults, mapped with { TargetModules = defaults.TargetModules });

        var lora = new LoraConfig();
        var fromOptions = mapped.ToLoraConfig(null);
        Assert.Equal((lora.R, lora.LoraAlpha, lora.LoraDropout, lora.UseRsLora), (fromOptions.R, fromOptions.LoraAlpha, fromOptions.LoraDropout, fromOptions.UseRsLora));
        Assert.Equal(lora.TargetModules, fromOptions.TargetModules);
        Assert.Equal(LoraConfig.DefaultTargetModules, Hyperparameters.DefaultTargetModules);
    }

    [Fact]
    public void Every_field_is_carried_over()
    {
        var h = new Hyperparameters
        {
            LoraR = 4, LoraAlpha = 8, LoraDropout = 0.1, UseRsLora = true, TargetModules = [LoraConfig.AllLinear], Epochs = 2, MaxSteps = 7,
            BatchSize = 3, GradientAccumulation = 5, LearningRate = 1e-3, WarmupRatio = 0.2, WarmupSteps = 1, Scheduler = SchedulerKind.Linear,
            MaxSequenceLength = 64, GroupByLength = false, LoggingSteps = 2, EvalSteps = 3, SaveSteps = 4, SaveTotalLimit = 2,
            EarlyStoppingPatience = 1, Seed = 7, Full = true,
        };
        var o = h.ToTrainingOptions();
        Assert.Equal(new TrainingOptions
        {
            LoraR = 4, LoraAlpha = 8, LoraDropout = 0.1, UseRsLora = true, TargetModules = o.TargetModules, Epochs = 2, MaxSteps = 7,
            BatchSize = 3, GradientAccumulation = 5, LearningRate = 1e-3, WarmupRatio = 0.2, WarmupSteps = 1, Scheduler = LearningRateScheduler.Linear,
            MaxSequenceLength = 64, GroupByLength = false, LoggingSteps = 2, EvalSteps = 3, SaveSteps = 4, SaveTotalLimit = 2,
            EarlyStoppingPatience = 1, Seed = 7, Full = true,
        }, o);
        Assert.Equal([LoraConfig.AllLinear], o.TargetModules);
        Assert.Equal(LearningRateScheduler.Cosine, (h with { Scheduler = SchedulerKind.Cosine }).ToTrainingOptions().Scheduler);
        Assert.Equal(LearningRateScheduler.Constant, (h with { Scheduler = SchedulerKind.Constant }).ToTrainingOptions().Scheduler);
    }
}
