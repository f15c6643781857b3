using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.Trainer.Jobs;

/// <summary>
/// One job in this process: its spec, its current <see cref="JobStatus"/> (replaced whole, never mutated, so readers
/// always see a consistent value), the token a DELETE cancels, and, while this process runs it, its lease.
/// </summary>
public sealed class JobEntry(string id, TrainingJobSpec spec, JobStatus status)
{
    private readonly CancellationTokenSource _cancel = new();
    private JobStatus _status = status;
    private volatile bool _leaseLost;

    public string Id { get; } = id;

    public TrainingJobSpec Spec { get; } = spec;

    public JobStatus Status => Volatile.Read(ref _status);

    /// <summary>Set by <c>DELETE /jobs/{id}</c>.</summary>
    public CancellationToken Cancellation => _cancel.Token;

    public bool CancelRequested => _cancel.IsCancellationRequested;

    /// <summary>
    /// This process holds the job's lease (<see cref="JobRegistry"/>): its status here is the live one, and only it may
    /// write the job. Other entries are copies of the store's job.json, read again while unfinished.
    /// </summary>
    internal bool Owned => Lease is not null && !LeaseLost;

    /// <summary>The lease on the job's active marker while this process runs (or settles) the job.</summary>
    internal IArtifactLease? Lease { get; set; }

    /// <summary>The lease could not be renewed in time: another replica may own the job now, so this one writes nothing more.</summary>
    internal bool LeaseLost { get => _leaseLost; set => _leaseLost = value; }

    /// <summary>When progress was last written to the store.</summary>
    internal DateTimeOffset ProgressPersistedAt { get; set; }

    internal void Set(JobStatus status) => Volatile.Write(ref _status, status);

    internal void RequestCancel() => _cancel.Cancel();
}
