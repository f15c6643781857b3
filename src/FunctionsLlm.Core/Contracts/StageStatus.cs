namespace FunctionsLlm.Core.Contracts;

/// <summary>One pipeline stage in a <see cref="RunManifest"/>: its state, when it ran, and a line for people.</summary>
public sealed record StageStatus
{
    public required StageState State { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>A short human-readable note: counts, the error of a failed stage.</summary>
    public string? Message { get; init; }

    internal void AddProblems(List<string> problems, string at)
    {
        problems.RequireDefined($"{at}state", State);
        problems.Require(StartedAt is null || FinishedAt is null || FinishedAt >= StartedAt,
            $"'{at}finishedAt' must not be before '{at}startedAt'");
    }
}
