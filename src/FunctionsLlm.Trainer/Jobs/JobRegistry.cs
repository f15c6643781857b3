using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Trainer.Jobs;

public enum PutOutcome
{
    Created,
    Existing,
    Conflict,
}

/// <summary>
/// Every job, kept in the store so any replica can answer for it: <c>checkpoints/{id}/job.json</c> (spec + status) is
/// written on every state change and, at most every <see cref="TrainerSettings.ProgressInterval"/>, on progress. A marker
/// <c>checkpoints/_active/{id}</c> exists while a job is queued or running; the replica that runs a job holds a lease on
/// its marker (<see cref="TrainerSettings.JobLease"/>, renewed by <see cref="JobLeaseKeeper"/>), and only the holder
/// writes the job. Runners claim the oldest marker no one holds (<see cref="ClaimNextAsync"/>): a queued job, or a
/// running one whose replica died and whose lease lapsed, which then resumes from its newest checkpoint. A DELETE for a
/// job another replica runs leaves a request at <c>checkpoints/_cancel/{id}</c> that its holder reads within a lease tick.
/// </summary>
public sealed partial class JobRegistry(IArtifactStore store, TrainerSettings settings, TimeProvider time, ILogger<JobRegistry> logger)
{
    /// <summary>Folder of the markers of unfinished jobs (job ids start with a letter or digit, so none is called this).</summary>
    public const string ActivePrefix = "_active/";

    /// <summary>Folder of the cancel requests for jobs another replica runs.</summary>
    public const string CancelPrefix = "_cancel/";

    private readonly ConcurrentDictionary<string, JobEntry> _jobs = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SemaphoreSlim _queued = new(0);

    /// <summary>Letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128 characters.</summary>
    public static bool IsValidId(string id) => IdPattern().IsMatch(id);

    public int Count(JobState state) => _jobs.Values.Count(j => j.Status.State == state);

    /// <summary>The job: the live entry of one this process runs, or else the store's job.json (read again while the job is unfinished); null when neither has it.</summary>
    public async Task<JobEntry?> GetAsync(string id, CancellationToken cancellationToken)
    {
        _jobs.TryGetValue(id, out var known);
        if (known is not null && (known.Owned || known.Status.IsTerminal))
            return known;
        if (await ReadAsync(id, cancellationToken) is not { } read)
            return known;
        // Replace only the copy this call saw: an entry this process claimed meanwhile wins.
        if (known is null ? _jobs.TryAdd(id, read) : _jobs.TryUpdate(id, read, known))
            return read;
        return _jobs.TryGetValue(id, out var current) ? current : read;
    }

    private async Task<JobEntry?> ReadAsync(string id, CancellationToken cancellationToken)
    {
        string name = JobDocument.NameOf(id);
        if (!await store.ExistsAsync(BlobLayout.Checkpoints, name, cancellationToken))
            return null;
        var (spec, status) = JobDocument.Read(await store.ReadTextAsync(BlobLayout.Checkpoints, name, cancellationToken),
            $"{BlobLayout.Checkpoints}/{name}");
        return new JobEntry(id, spec, status);
    }

    /// <summary>Creates and queues the job, or returns the existing one (same spec) or a conflict (another spec).</summary>
    public async Task<(JobEntry Job, PutOutcome Outcome)> PutAsync(string id, TrainingJobSpec spec, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (await GetAsync(id, cancellationToken) is { } existing)
            {
                if (!existing.Spec.Equals(spec))
                    return (existing, PutOutcome.Conflict);
                if (existing.Status.State == JobState.Queued && !await store.ExistsAsync(BlobLayout.Checkpoints, ActivePrefix + id, cancellationToken))
                    await QueueAsync(id, cancellationToken);   // the PUT that created it failed before its marker was written
                return (existing, PutOutcome.Existing);
            }
            var now = time.GetUtcNow();
            var entry = new JobEntry(id, spec, new JobStatus { Id = id, Kind = spec.Kind, State = JobState.Queued, CreatedAt = now, UpdatedAt = now });
            // job.json first: a marker always has a job to run.
            await WriteAsync(id, spec, entry.Status, cancellationToken);
            await QueueAsync(id, cancellationToken);
            _jobs[id] = entry;
            logger.LogInformation("job {Id} ({Kind}) queued", id, spec.Kind);
            return (entry, PutOutcome.Created);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task QueueAsync(string id, CancellationToken cancellationToken)
    {
        await store.WriteTextAsync(BlobLayout.Checkpoints, ActivePrefix + id, id, cancellationToken);
        _queued.Release();
    }

    /// <summary>Waits until a job is queued here or <paramref name="timeout"/> passes (jobs queued by other replicas are found by looking).</summary>
    internal async Task WaitForWorkAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        await _queued.WaitAsync(timeout, cancellationToken);

    /// <summary>The number of unfinished jobs in the store (the runner's first look, which readiness waits for).</summary>
    internal async Task<int> CountUnfinishedAsync(CancellationToken cancellationToken)
    {
        int count = 0;
        await foreach (var _ in store.ListAsync(BlobLayout.Checkpoints, ActivePrefix, cancellationToken))
            count++;
        return count;
    }

    /// <summary>
    /// The oldest unfinished job that no one holds, now leased by this process; null when there is none. Markers left by
    /// finished jobs or by unreadable job.json files are removed on the way.
    /// </summary>
    internal async Task<JobEntry?> ClaimNextAsync(CancellationToken cancellationToken)
    {
        var markers = new List<ArtifactInfo>();
        await foreach (var marker in store.ListAsync(BlobLayout.Checkpoints, ActivePrefix, cancellationToken))
            markers.Add(marker);
        foreach (var marker in markers.OrderBy(m => m.LastModified).ThenBy(m => m.Name, StringComparer.Ordinal))
        {
            string id = marker.Name[ActivePrefix.Length..];
            if (_jobs.TryGetValue(id, out var known) && known.Lease is not null)
                continue;   // this process runs it
            if (await TryClaimAsync(id, cancellationToken) is { } claimed)
                return claimed;
        }
        return null;
    }

    private async Task<JobEntry?> TryClaimAsync(string id, CancellationToken cancellationToken)
    {
        IArtifactLease? lease;
        try
        {
            lease = await store.TryLeaseAsync(BlobLayout.Checkpoints, ActivePrefix + id, settings.JobLease, cancellationToken);
        }
        catch (ArtifactNotFoundException)
        {
            return null;   // it finished meanwhile
        }
        if (lease is null)
            return null;
        JobEntry? entry = null;
        try
        {
            entry = IsValidId(id) ? await ReadAsync(id, cancellationToken) : null;
        }
        catch (Exception e) when (e is InvalidDataException or ContractException)
        {
            logger.LogError("job {Id} cannot be run: {Message}", id, e.Message);
        }
        catch
        {
            await lease.DisposeAsync();
            throw;
        }
        if (entry is null || entry.Status.IsTerminal)
        {
            await lease.DeleteAsync(cancellationToken);
            return null;
        }
        entry.Lease = lease;
        _jobs[id] = entry;
        return entry;
    }

    /// <summary>Ends this process's hold on the job: a finished job's lease is already gone; an unfinished one is free for the next claim.</summary>
    internal async Task ReleaseAsync(JobEntry entry)
    {
        if (entry.Lease is not { } lease)
            return;
        entry.Lease = null;
        await lease.DisposeAsync();
    }

    /// <summary>Whether a DELETE on another replica asked to stop this job.</summary>
    internal Task<bool> CancelRequestedAsync(string id, CancellationToken cancellationToken) =>
        store.ExistsAsync(BlobLayout.Checkpoints, CancelPrefix + id, cancellationToken);

    /// <summary>
    /// DELETE: a job running here is asked to stop (the trainer writes a checkpoint first) and the runner marks it
    /// cancelled; a job no one runs is cancelled at once; a job another replica runs gets a cancel request, which that
    /// replica reads within <see cref="TrainerSettings.LeaseTick"/>. Finished jobs are left as they are.
    /// </summary>
    public async Task<JobEntry?> CancelAsync(string id, CancellationToken cancellationToken)
    {
        if (await GetAsync(id, cancellationToken) is not { } entry)
            return null;
        if (entry.Status.IsTerminal)
            return entry;
        if (entry.Owned)
        {
            entry.RequestCancel();
            return entry;
        }
        if (await TryClaimAsync(id, cancellationToken) is { } claimed)
        {
            try
            {
                claimed.RequestCancel();
                await UpdateAsync(claimed, s => s with { State = JobState.Cancelled, Error = CancelledByDelete(s) }, CancellationToken.None);
                return claimed;
            }
            finally
            {
                await ReleaseAsync(claimed);
            }
        }
        if (await GetAsync(id, cancellationToken) is { Status.IsTerminal: true } finished)
            return finished;
        await store.WriteTextAsync(BlobLayout.Checkpoints, CancelPrefix + id, id, cancellationToken);
        logger.LogInformation("job {Id} runs on another replica: a cancel request is left for it", id);
        return entry;
    }

    /// <summary>The reason a job cancelled by DELETE gives, from its status before.</summary>
    internal static string CancelledByDelete(JobStatus before) => before.State == JobState.Queued
        ? "cancelled by DELETE before it started"
        : $"cancelled by DELETE{(before.Progress is { } p ? $" at step {p.Step}" : "")}";

    /// <summary>
    /// Replaces the status and writes job.json; once the job is finished, removes its marker (which ends the lease) and any
    /// cancel request. Only the lease holder writes a job.
    /// </summary>
    public async Task UpdateAsync(JobEntry entry, Func<JobStatus, JobStatus> change, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var before = entry.Status;
            if (before.IsTerminal)
                return;   // a finished job never changes again
            if (!entry.Owned)
                throw new InvalidOperationException($"job {entry.Id} is not held by this process (its lease was lost or never taken): its state is not written");
            var after = change(before) with { UpdatedAt = Max(time.GetUtcNow(), before.CreatedAt) };
            await WriteAsync(entry.Id, entry.Spec, after, cancellationToken);
            entry.Set(after);
            if (after.IsTerminal)
            {
                await entry.Lease!.DeleteAsync(cancellationToken);
                await store.DeleteAsync(BlobLayout.Checkpoints, CancelPrefix + entry.Id, cancellationToken);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Records progress in memory, and in the store when the last write is older than the interval.</summary>
    public async Task ReportProgressAsync(JobEntry entry, JobProgress progress, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (now - entry.ProgressPersistedAt < settings.ProgressInterval)
        {
            entry.Set(entry.Status with { Progress = progress, UpdatedAt = Max(now, entry.Status.CreatedAt) });
            return;
        }
        entry.ProgressPersistedAt = now;
        await UpdateAsync(entry, s => s with { Progress = progress }, cancellationToken);
    }

    private Task WriteAsync(string id, TrainingJobSpec spec, JobStatus status, CancellationToken cancellationToken) =>
        store.WriteTextAsync(BlobLayout.Checkpoints, JobDocument.NameOf(id), JobDocument.Write(spec, status), cancellationToken);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    // \z, not $: $ also matches before a final newline.
    [GeneratedRegex(@"\A[A-Za-z0-9][A-Za-z0-9._-]{0,127}\z")]
    private static partial Regex IdPattern();
}
