using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;

namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// <c>runs/{run}/summary.json</c> (<see cref="BlobLayout.Run.Summary"/>): what one pipeline run did, rewritten by the
/// orchestrator as stages finish, for people and the run-status API.
/// <code>
/// {"runId": "r1", "source": {"container": "training-data", "name": "faq.json", "etag": "\"0x8DC…\""},
///  "createdAt": "…", "stages": {"clean": {"state": "succeeded", "startedAt": "…", "finishedAt": "…", "message": "980 kept"}},
///  "candidates": [{"jobId": "r1-c0", "hyperparameters": {"lr": 2e-4}, "evalLoss": 1.2, "state": "succeeded"}],
///  "bestCandidate": "r1-c0", "modelVersion": "r1"}
/// </code>
/// Stages are keyed by name (clean, format, train, merge, evaluate, publish). Two manifests are equal when their
/// <see cref="ToCanonicalJson"/> is, so the stage map and candidate list compare by content.
/// </summary>
public sealed record RunManifest : IContract
{
    public required string RunId { get; init; }

    public required RunSource Source { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public IReadOnlyDictionary<string, StageStatus> Stages { get; init; } = ReadOnlyDictionary<string, StageStatus>.Empty;

    public IReadOnlyList<CandidateSummary> Candidates { get; init; } = [];

    /// <summary>The <see cref="CandidateSummary.JobId"/> of the candidate with the lowest eval loss, once chosen.</summary>
    public string? BestCandidate { get; init; }

    /// <summary>The <see cref="ModelManifest.Version"/> the run published, once it has.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>Reads and validates a summary; throws <see cref="ContractException"/> naming every problem.</summary>
    public static RunManifest Parse(string json, string? origin = null) => ContractJson.Parse<RunManifest>(json, origin);

    /// <summary>Reads and validates a summary; on failure <paramref name="error"/> names every problem.</summary>
    public static bool TryParse(string json, [NotNullWhen(true)] out RunManifest? manifest, [NotNullWhen(false)] out string? error) =>
        ContractJson.TryParse(json, out manifest, out error);

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        problems.RequireText("runId", RunId);
        if (Source is null)
            problems.Add("'source' is missing");
        else
            Source.AddProblems(problems, at: "source.");
        problems.RequireTime("createdAt", CreatedAt);
        foreach (var (name, stage) in Stages ?? ReadOnlyDictionary<string, StageStatus>.Empty)
        {
            if (stage is null)
                problems.Add($"'stages.{name}' must be an object");
            else
                stage.AddProblems(problems, at: $"stages.{name}.");
        }
        var candidates = Candidates ?? [];
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates[i] is null)
                problems.Add($"'candidates[{i}]' must be an object");
            else
                candidates[i].AddProblems(problems, at: $"candidates[{i}].");
        }
        var ids = candidates.Where(c => c?.JobId is not null).Select(c => c.JobId).ToList();
        foreach (var duplicate in ids.GroupBy(id => id, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add($"'candidates' lists job '{duplicate.Key}' more than once");
        problems.Require(BestCandidate is null || ids.Contains(BestCandidate, StringComparer.Ordinal),
            $"'bestCandidate' '{BestCandidate}' is not one of the candidates' job ids");
        if (ModelVersion is not null)
            problems.RequireSegment("modelVersion", ModelVersion);
        return problems;
    }

    /// <summary>See <see cref="ContractJson.ToCanonicalJson{T}"/>.</summary>
    public string ToCanonicalJson() => ContractJson.ToCanonicalJson(this);

    public bool Equals(RunManifest? other) =>
        other is not null && (ReferenceEquals(this, other) || ToCanonicalJson() == other.ToCanonicalJson());

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToCanonicalJson());
}
