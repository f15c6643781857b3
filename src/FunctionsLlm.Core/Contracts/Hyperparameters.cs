using System.Globalization;
using System.Text.Json.Serialization;

namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// A train job's settings: the options of <c>flm train</c> under the JSON names below, with the same defaults (those of
/// the trainer's TrainingOptions), so a document may leave out whatever keeps its default. Two values are equal when
/// their <see cref="ToCanonicalJson"/> is (the generated record equality would compare <see cref="TargetModules"/> by
/// reference); the order of <see cref="TargetModules"/> is significant.
/// </summary>
public sealed record Hyperparameters : IContract
{
    /// <summary>PEFT's usual attention projections; the same list as the Modeling layer's LoraConfig.DefaultTargetModules.</summary>
    public static IReadOnlyList<string> DefaultTargetModules { get; } = Array.AsReadOnly<string>(["q_proj", "k_proj", "v_proj", "o_proj"]);

    public int LoraR { get; init; } = 16;

    public double LoraAlpha { get; init; } = 32;

    public double LoraDropout { get; init; } = 0.05;

    /// <summary>Scale by alpha / √r instead of alpha / r (rank-stabilised LoRA; <c>--rslora</c>).</summary>
    public bool UseRsLora { get; init; }

    /// <summary>Module names, or <c>all-linear</c> (PEFT's shorthand).</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = DefaultTargetModules;

    public int Epochs { get; init; } = 3;

    /// <summary>Stop after this many optimizer steps even if epochs remain; null runs every epoch.</summary>
    public int? MaxSteps { get; init; }

    public int BatchSize { get; init; } = 4;

    [JsonPropertyName("gradAccum")]
    public int GradientAccumulation { get; init; } = 4;

    [JsonPropertyName("lr")]
    public double LearningRate { get; init; } = 2e-4;

    public double WarmupRatio { get; init; } = 0.03;

    /// <summary>Overrides <see cref="WarmupRatio"/> when set.</summary>
    public int? WarmupSteps { get; init; }

    public SchedulerKind Scheduler { get; init; } = SchedulerKind.Cosine;

    [JsonPropertyName("maxSeqLen")]
    public int MaxSequenceLength { get; init; } = 512;

    /// <summary>Batch records of similar length together (less padding), in a seeded random order.</summary>
    public bool GroupByLength { get; init; } = true;

    public int LoggingSteps { get; init; } = 10;

    public int EvalSteps { get; init; } = 500;

    public int SaveSteps { get; init; } = 500;

    /// <summary>Checkpoints kept; the best one is never deleted.</summary>
    public int SaveTotalLimit { get; init; } = 3;

    /// <summary>Stop after this many evaluations without a lower eval loss; null never stops early.</summary>
    public int? EarlyStoppingPatience { get; init; }

    public int Seed { get; init; } = 42;

    /// <summary>Train every parameter instead of a LoRA adapter (small models).</summary>
    public bool Full { get; init; }

    /// <summary>Every value out of range, named by its JSON name; the ranges are the trainer's.</summary>
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
        AtLeast("epochs", Epochs, 1);
        AtLeast("maxSteps", MaxSteps, 1);
        AtLeast("batchSize", BatchSize, 1);
        AtLeast("gradAccum", GradientAccumulation, 1);
        Positive("lr", LearningRate);
        InRange("warmupRatio", WarmupRatio, 0, 1);
        AtLeast("warmupSteps", WarmupSteps, 0);
        problems.RequireDefined($"{at}scheduler", Scheduler);
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
