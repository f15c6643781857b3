using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace FunctionsLlm.Core.Contracts;

/// <summary>
/// The trainer's answer to <c>GET /jobs/{id}</c> (and to <c>PUT</c>):
/// <code>
/// {"id": "r1-c0", "kind": "train", "state": "running", "createdAt": "…", "updatedAt": "…",
///  "progress": {"step": 120, "totalSteps": 900, "loss": 1.8, "evalLoss": 1.9, "tokensPerSecond": 5400, "etaSeconds": 610}}
/// </code>
/// A succeeded job carries <see cref="Result"/>, a failed one <see cref="Error"/>.
/// </summary>
public sealed record JobStatus : IContract
{
    public required string Id { get; init; }

    public required JobKind Kind { get; init; }

    public required JobState State { get; init; }

    /// <summary>Null until the job has started.</summary>
    public JobProgress? Progress { get; init; }

    /// <summary>Set when <see cref="State"/> is succeeded.</summary>
    public JobResult? Result { get; init; }

    /// <summary>Why the job failed (or was cancelled); required when <see cref="State"/> is failed.</summary>
    public string? Error { get; init; }

    /// <summary>The kind of failure, for callers that act on it (the pipeline names a parity-gate refusal as such).</summary>
    public JobErrorCode? ErrorCode { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The job will not change any more: stop polling.</summary>
    [JsonIgnore]
    public bool IsTerminal => State.IsTerminal();

    /// <summary>Reads and validates a status; throws <see cref="ContractException"/> naming every problem.</summary>
    public static JobStatus Parse(string json, string? origin = null) => ContractJson.Parse<JobStatus>(json, origin);

    /// <summary>Reads and validates a status; on failure <paramref name="error"/> names every problem.</summary>
    public static bool TryParse(string json, [NotNullWhen(true)] out JobStatus? status, [NotNullWhen(false)] out string? error) =>
        ContractJson.TryParse(json, out status, out error);

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        problems.RequireText("id", Id);
        problems.RequireDefined("kind", Kind);
        problems.RequireDefined("state", State);
        Progress?.AddProblems(problems, at: "progress.");
        problems.Require(State != JobState.Succeeded || Result is not null, "'result' is required when the state is succeeded");
        Result?.AddProblems(problems, at: "result.");
        problems.Require(State != JobState.Failed || !string.IsNullOrWhiteSpace(Error), "'error' is required when the state is failed");
        if (ErrorCode is { } code)
            problems.RequireDefined("errorCode", code);
        problems.RequireTime("createdAt", CreatedAt);
        problems.RequireTime("updatedAt", UpdatedAt);
        problems.Require(UpdatedAt >= CreatedAt || UpdatedAt == default, "'updatedAt' must not be before 'createdAt'");
        return problems;
    }

    /// <summary>See <see cref="ContractJson.ToCanonicalJson{T}"/>.</summary>
    public string ToCanonicalJson() => ContractJson.ToCanonicalJson(this);
}
