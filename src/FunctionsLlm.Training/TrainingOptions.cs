using FunctionsLlm.Modeling.Lora;

namespace FunctionsLlm.Training;

public enum LearningRateScheduler
{
    Linear,
    Cosine,
    Constant,
}

/// <summary>Trainer settings; defaults are the seed's (the original tutorial's TrainingArguments).</summary>
public sealed record TrainingOptions
{
    public int LoraR { get; init; } = 16;

    public double LoraAlpha { get; init; } = 32;

    public double LoraDropout { get; init; } = 0.05;

    public bool UseRsLora { get; init; }

    public IReadOnlyList<string> TargetModules { get; init; } = LoraConfig.DefaultTargetModules;

    /// <summary>Train every parameter instead of a LoRA adapter (small models, from scratch).</summary>
    public bool Full { get; init; }

    public int Epochs { get; init; } = 3;

    /// <summary>Stop after this many optimizer steps even if epochs remain.</summary>
    public int? MaxSteps { get; init; }

    public int BatchSize { get; init; } = 4;

    public int GradientAccumulation { get; init; } = 4;

    public double LearningRate { get; init; } = 2e-4;

    public double WarmupRatio { get; init; } = 0.03;

    /// <summary>Overrides <see cref="WarmupRatio"/> when set.</summary>
    public int? WarmupSteps { get; init; }

    public LearningRateScheduler Scheduler { get; init; } = LearningRateScheduler.Cosine;

    public double WeightDecay { get; init; }

    public double AdamBeta1 { get; init; } = 0.9;

    public double AdamBeta2 { get; init; } = 0.999;

    public double AdamEpsilon { get; init; } = 1e-8;

    public double MaxGradNorm { get; init; } = 1.0;

    public int MaxSequenceLength { get; init; } = 512;

    /// <summary>Batch records of similar length together (less padding), in a seeded random order.</summary>
    public bool GroupByLength { get; init; } = true;

    public int LoggingSteps { get; init; } = 10;

    public int EvalSteps { get; init; } = 500;

    public int SaveSteps { get; init; } = 500;

    /// <summary>Checkpoints kept (the best one is never deleted); null keeps all.</summary>
    public int? SaveTotalLimit { get; init; } = 3;

    /// <summary>Stop after this many evaluations without a lower eval loss; null never stops early.</summary>
    public int? EarlyStoppingPatience { get; init; }

    public bool LoadBestModelAtEnd { get; init; } = true;

    public int Seed { get; init; } = 42;

    public LoraConfig ToLoraConfig(string? baseModel) => new()
    {
        R = LoraR,
        LoraAlpha = LoraAlpha,
        LoraDropout = LoraDropout,
        UseRsLora = UseRsLora,
        TargetModules = TargetModules,
        BaseModelNameOrPath = baseModel,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first value out of range.</summary>
    public void Validate()
    {
        void Require(bool ok, string message)
        {
            if (!ok)
                throw new ArgumentException(message);
        }
        Require(LoraR >= 1, $"LoRA r must be at least 1, got {LoraR}");
        Require(LoraAlpha > 0, $"LoRA alpha must be positive, got {LoraAlpha}");
        Require(LoraDropout is >= 0 and < 1, $"LoRA dropout must be in [0, 1), got {LoraDropout}");
        Require(Epochs >= 1, $"epochs must be at least 1, got {Epochs}");
        Require(MaxSteps is null or >= 1, $"max steps must be at least 1, got {MaxSteps}");
        Require(BatchSize >= 1, $"batch size must be at least 1, got {BatchSize}");
        Require(GradientAccumulation >= 1, $"gradient accumulation must be at least 1, got {GradientAccumulation}");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"learning rate must be positive, got {LearningRate}");
        Require(WarmupRatio is >= 0 and < 1, $"warmup ratio must be in [0, 1), got {WarmupRatio}");
        Require(WarmupSteps is null or >= 0, $"warmup steps must be ≥ 0, got {WarmupSteps}");
        Require(MaxGradNorm > 0, $"max grad norm must be positive, got {MaxGradNorm}");
        Require(MaxSequenceLength >= 2, $"max sequence length must be at least 2, got {MaxSequenceLength}");
        Require(LoggingSteps >= 1 && EvalSteps >= 1 && SaveSteps >= 1, "logging, eval and save steps must be at least 1");
        Require(SaveTotalLimit is null or >= 1, $"save total limit must be at least 1, got {SaveTotalLimit}");
        Require(EarlyStoppingPatience is null or >= 1, $"early stopping patience must be at least 1, got {EarlyStoppingPatience}");
    }
}
