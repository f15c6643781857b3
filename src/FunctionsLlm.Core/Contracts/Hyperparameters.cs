using System.ComponentModel;
using System.Globalization;
using System.Text.Json.Serialization;

namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// A training run's settings, the one description of them: the trainer loop takes this record, a train job's spec
/// carries it under the JSON names below, and <c>flm train</c> generates one option per property from those names, the
/// defaults here and the <see cref="DescriptionAttribute"/>s (its help text). A document may leave out whatever keeps
/// its default. Adding a setting is one property here (default, description, a check in <see cref="AddProblems"/>)
/// plus its use in the trainer. Two values are equal when their <see cref="ToCanonicalJson"/> is (the generated record
/// equality would compare <see cref="TargetModules"/> by reference); the order of <see cref="TargetModules"/> counts.
/// </summary>
public sealed record Hyperparameters : IContract
{
    /// <summary>PEFT's usual attention projections.</summary>
    public static IReadOnlyList<string> DefaultTargetModules { get; } = Array.AsReadOnly<string>(["q_proj", "k_proj", "v_proj", "o_proj"]);

    [Description("LoRA rank.")]
    public int LoraR { get; init; } = 16;

    [Description("LoRA alpha (scaling = alpha / r).")]
    public double LoraAlpha { get; init; } = 32;

    [Description("Dropout on the LoRA input.")]
    public double LoraDropout { get; init; } = 0.05;

    [Description("Scale by alpha / sqrt(r) instead of alpha / r (rank-stabilised LoRA).")]
    public bool UseRsLora { get; init; }

    [Description("Module names to adapt, or all-linear (PEFT's shorthand).")]
    public IReadOnlyList<string> TargetModules { get; init; } = DefaultTargetModules;

    [Description("Train every parameter (small models, from scratch when the base has no weights) instead of a LoRA adapter.")]
    public bool Full { get; init; }

    [Description("Hold the frozen base in 4 bits while LoRA trains (QLoRA): nf4 or fp4, bitsandbytes' formats, quantized at load; none keeps it as stored (a base stored in 4 bits stays so). Unset: none, or nf4 on a trainer that quantizes bases above a size (FLM_TRAINER_QUANTIZE_ABOVE_PARAMETERS).")]
    public BaseQuantization? Quantize { get; init; }

    [Description("Keep only each layer's input in the forward pass and recompute the layer in backward: activation memory of one layer instead of all, for about a third more compute (large bases on small GPUs).")]
    public bool GradientCheckpointing { get; init; }

    [Description("Passes over the training data.")]
    public int Epochs { get; init; } = 3;

    [Description("Stop after this many optimizer steps even if epochs remain (unset: every epoch).")]
    public int? MaxSteps { get; init; }

    [Description("Records per micro-batch.")]
    public int BatchSize { get; init; } = 4;

    [Description("Micro-batches per optimizer step.")]
    [JsonPropertyName("gradAccum")]
    public int GradientAccumulation { get; init; } = 4;

    [Description("Peak learning rate.")]
    [JsonPropertyName("lr")]
    public double LearningRate { get; init; } = 2e-4;

    [Description("Share of the steps with a linear warmup.")]
    public double WarmupRatio { get; init; } = 0.03;

    [Description("Warmup steps (overrides the warmup ratio).")]
    public int? WarmupSteps { get; init; }

    [Description("Learning rate schedule after the warmup.")]
    public SchedulerKind Scheduler { get; init; } = SchedulerKind.Cosine;

    [Description("AdamW decoupled weight decay.")]
    public double WeightDecay { get; init; }

    [Description("AdamW beta1.")]
    public double AdamBeta1 { get; init; } = 0.9;

    [Description("AdamW beta2.")]
    public double AdamBeta2 { get; init; } = 0.999;

    [Description("AdamW epsilon.")]
    public double AdamEpsilon { get; init; } = 1e-8;

    [Description("Gradients are clipped to this global norm.")]
    public double MaxGradNorm { get; init; } = 1.0;

    [Description("Records are cut to this many tokens.")]
    [JsonPropertyName("maxSeqLen")]
    public int MaxSequenceLength { get; init; } = 512;

    [Description("Batch records of similar length together (less padding), in a seeded random order.")]
    public bool GroupByLength { get; init; } = true;

    [Description("Log the training loss every N steps.")]
    public int LoggingSteps { get; init; } = 10;

    [Description("Evaluate every N steps (and at the end).")]
    public int EvalSteps { get; init; } = 500;

    [Description("Write a checkpoint every N steps (and at the end).")]
    public int SaveSteps { get; init; } = 500;

    [Description("Checkpoints kept; the best one is never deleted.")]
    public int SaveTotalLimit { get; init; } = 3;

    [Description("Stop after this many evaluations without a lower eval loss (unset: never stop early).")]
    public int? EarlyStoppingPatience { get; init; }

    [Description("At the end, load the checkpoint with the lowest eval loss (that is the adapter written).")]
    public bool LoadBestModelAtEnd { get; init; } = true;

    [Description("Seed of the initialisation, the data order and dropout.")]
    public int Seed { get; init; } = 42;

    /// <summary>Every value out of range, named by its JSON name.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        AddProblems(problems, at: "");
        return problems;
    }

    /// <summary>Adds every problem, naming fields <c>{at}{jsonName}</c> (e.g. <c>hyperparameters.lr</c>).</summary>
    internal void AddProblems(List<string> problems, string at)
    {
        void AtLeast(string field, int? value, int min)
        {
            if (value < min)
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"'{at}{field}' must be at least {min} (got {value})"));
        }
        void Positive(string field, double value)
        {
            if (!(value > 0 && double.IsFinite(value)))
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"'{at}{field}' must be positive (got {value})"));
        }
        void InRange(string field, double value, double min, double below)
        {
            if (!(value >= min && value < below))
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"'{at}{field}' must be in [{min}, {below}) (got {value})"));
        }

        AtLeast("loraR", LoraR, 1);
        Positive("loraAlpha", LoraAlpha);
        InRange("loraDropout", LoraDropout, 0, 1);
        if (TargetModules is null || TargetModules.Count == 0)
            problems.Add($"'{at}targetModules' must name at least one module");
        else if (TargetModules.Any(string.IsNullOrWhiteSpace))
            problems.Add($"'{at}targetModules' must not contain empty names");
        if (Quantize is { } quantize)
            problems.RequireDefined($"{at}quantize", quantize);
        if (Full && Quantize is BaseQuantization.Nf4 or BaseQuantization.Fp4)
            problems.Add($"'{at}quantize' applies to LoRA training: full-parameter training updates the base weights, which 4 bits cannot hold");
        AtLeast("epochs", Epochs, 1);
        AtLeast("maxSteps", MaxSteps, 1);
        AtLeast("batchSize", BatchSize, 1);
        AtLeast("gradAccum", GradientAccumulation, 1);
        Positive("lr", LearningRate);
        InRange("warmupRatio", WarmupRatio, 0, 1);
        AtLeast("warmupSteps", WarmupSteps, 0);
        problems.RequireDefined($"{at}scheduler", Scheduler);
        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay)))
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"'{at}weightDecay' must be at least 0 (got {WeightDecay})"));
        InRange("adamBeta1", AdamBeta1, 0, 1);
        InRange("adamBeta2", AdamBeta2, 0, 1);
        Positive("adamEpsilon", AdamEpsilon);
        Positive("maxGradNorm", MaxGradNorm);
        AtLeast("maxSeqLen", MaxSequenceLength, 2);
        AtLeast("loggingSteps", LoggingSteps, 1);
        AtLeast("evalSteps", EvalSteps, 1);
        AtLeast("saveSteps", SaveSteps, 1);
        AtLeast("saveTotalLimit", SaveTotalLimit, 1);
        AtLeast("earlyStoppingPatience", EarlyStoppingPatience, 1);
    }

    /// <summary>See <see cref="ContractJson.ToCanonicalJson{T}"/>.</summary>
    public string ToCanonicalJson() => ContractJson.ToCanonicalJson(this);

    public bool Equals(Hyperparameters? other) =>
        other is not null && (ReferenceEquals(this, other) || ToCanonicalJson() == other.ToCanonicalJson());

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToCanonicalJson());
}
