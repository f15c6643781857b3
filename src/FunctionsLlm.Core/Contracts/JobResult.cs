using System.Collections.ObjectModel;

namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// What a succeeded job produced: the folder it wrote (in the kind's <see cref="TrainingJobSpec.OutputContainer"/>) and
/// its metrics (e.g. <c>evalLoss</c>, <c>trainLoss</c>, <c>steps</c>). Equal when <see cref="ToCanonicalJson"/> is, so
/// <see cref="Metrics"/> compares by content whatever its key order.
/// </summary>
public sealed record JobResult
{
    public required string OutputPrefix { get; init; }

    /// <summary>A train job's metric: 1 when the frozen base was held in 4 bits (QLoRA), which its merge must know.</summary>
    public const string FourBitBaseMetric = "fourBitBase";

    /// <summary>Named numbers; names are kept as written (no camelCase conversion).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = ReadOnlyDictionary<string, double>.Empty;

    /// <summary>Merge jobs: the <see cref="Models.DirectoryFingerprint"/> of the base model merged into (the manifest's <c>baseSha256</c>).</summary>
    public string? BaseSha256 { get; init; }

    /// <summary>
    /// The <see cref="Models.DirectoryFingerprint"/> of the fine-tuned model: merge jobs, of the folder they wrote (the
    /// manifest's <c>mergedSha256</c>); evaluate jobs, of the folder they evaluated. Equal when the report describes
    /// the published bytes.
    /// </summary>
    public string? ModelSha256 { get; init; }

    internal void AddProblems(List<string> problems, string at)
    {
        problems.RequireFolderPrefix($"{at}outputPrefix", OutputPrefix);
        problems.RequireSha256($"{at}baseSha256", BaseSha256);
        problems.RequireSha256($"{at}modelSha256", ModelSha256);
        if (Metrics is null)
            return;
        foreach (var (name, value) in Metrics)
            problems.RequireFinite($"{at}metrics.{name}", value);
    }

    /// <summary>See <see cref="ContractJson.ToCanonicalJson{T}"/>.</summary>
    public string ToCanonicalJson() => ContractJson.ToCanonicalJson(this);

    public bool Equals(JobResult? other) =>
        other is not null && (ReferenceEquals(this, other) || ToCanonicalJson() == other.ToCanonicalJson());

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToCanonicalJson());
}
