using System.Text.Json.Serialization;

namespace FunctionsLlm.Core.Contracts;

/// <summary>A trainer job's state (<c>queued|running|succeeded|failed|cancelled</c> in JSON). 0 means "missing".</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<JobState>))]
public enum JobState
{
    Queued = 1,
    Running = 2,
    Succeeded = 3,
    Failed = 4,
    Cancelled = 5,
}

/// <summary>Questions about a <see cref="JobState"/>.</summary>
public static class JobStateExtensions
{
    /// <summary>Succeeded, failed and cancelled jobs never change state again.</summary>
    public static bool IsTerminal(this JobState state) => state is JobState.Succeeded or JobState.Failed or JobState.Cancelled;
}
