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

    /// <summary>Named numbers; names are kept as written (no camelCase conversion).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = ReadOnlyDictionary<string, double>.Empty;

    /// <summary>Merge jobs: the <see cref="Models.DirectoryFingerprint"/> of the base model merged into (the manifest's <c>baseSha256</c>).</summary>
    public string? BaseSha256 { get; init; }

    internal void AddProblems(List<string> problems, string at)
    {
        problems.RequireFolderPrefix($"{at}outputPrefix", OutputPrefix);
        problems.Require(BaseSha256 is null || (BaseSha256.Length == 64 && BaseSha256.All(char.IsAsciiHexDigitLower)),
            $"'{at}baseSha256' must be 64 lowercase hex digits (got '{BaseSha256}')");
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
