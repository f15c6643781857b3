using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Trainer.Jobs;

/// <summary>
/// One job in this process: its spec, its current <see cref="JobStatus"/> (replaced whole, never mutated, so readers
/// always see a consistent value) and the token a DELETE cancels.
/// </summary>
public sealed class JobEntry(string id, TrainingJobSpec spec, JobStatus status)
{
    private readonly CancellationTokenSource _cancel = new();
    private JobStatus _status = status;

    public string Id { get; } = id;

    public TrainingJobSpec Spec { get; } = spec;

    public JobStatus Status => Volatile.Read(ref _status);

    /// <summary>Set by <c>DELETE /jobs/{id}</c>.</summary>
    public CancellationToken Cancellation => _cancel.Token;

    public bool CancelRequested => _cancel.IsCancellationRequested;

    /// <summary>
    /// This process runs (or ran) the job: its status here is the live one. Other jobs' entries are copies of the store's
    /// job.json, read again while unfinished (another replica, or a previous process, may be changing them).
    /// </summary>
    internal bool Owned { get; init; }

    /// <summary>When progress was last written to the store.</summary>
    internal DateTimeOffset ProgressPersistedAt { get; set; }

    internal void Set(JobStatus status) => Volatile.Write(ref _status, status);

    internal void RequestCancel() => _cancel.Cancel();
}
