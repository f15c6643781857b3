using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using System.Threading.Channels;
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
/// Every job this trainer knows, kept in the store: <c>checkpoints/{id}/job.json</c> (spec + status) is written on every
/// state change and, at most every <see cref="TrainerSettings.ProgressInterval"/>, on progress; a marker
/// <c>checkpoints/_active/{id}</c> exists while a job is queued or running, so start-up finds the jobs to re-queue
/// without listing every checkpoint. Jobs not in memory (another process's) are read from the store on demand.
/// </summary>
public sealed partial class JobRegistry(IArtifactStore store, TrainerSettings settings, TimeProvider time, ILogger<JobRegistry> logger)
{
    /// <summary>Folder of the markers of unfinished jobs (job ids start with a letter or digit, so none is called this).</summary>
    public const string ActivePrefix = "_active/";

    private readonly ConcurrentDictionary<string, JobEntry> _jobs = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>();

    internal ChannelReader<string> Queue => _queue.Reader;

    /// <summary>Letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128 characters.</summary>
    public static bool IsValidId(string id) => IdPattern().IsMatch(id);

    public int Count(JobState state) => _jobs.Values.Count(j => j.Status.State == state);

    /// <summary>The job: this process's own, or else the store's job.json (read again while the job is unfinished); null when neither has it.</summary>
    public async Task<JobEntry?> GetAsync(string id, CancellationToken cancellationToken)
    {
        _jobs.TryGetValue(id, out var known);
        if (known is not null && (known.Owned || known.Status.IsTerminal))
            return known;
        if (await ReadAsync(id, owned: false, cancellationToken) is not { } read)
            return known;
        // Replace only the copy this call saw: an entry this process took ownership of meanwhile wins.
        if (known is null ? _jobs.TryAdd(id, read) : _jobs.TryUpdate(id, read, known))
            return read;
        return _jobs.TryGetValue(id, out var current) ? current : read;
    }

    private async Task<JobEntry?> ReadAsync(string id, bool owned, CancellationToken cancellationToken)
    {
        string name = JobDocument.NameOf(id);
        if (!await store.ExistsAsync(BlobLayout.Checkpoints, name, cancellationToken))
            return null;
        var (spec, status) = JobDocument.Read(await store.ReadTextAsync(BlobLayout.Checkpoints, name, cancellationToken),
            $"{BlobLayout.Checkpoints}/{name}");
        return new JobEntry(id, spec, status) { Owned = owned };
    }

    /// <summary>Creates and queues the job, or returns the existing one (same spec) or a conflict (another spec).</summary>
    public async Task<(JobEntry Job, PutOutcome Outcome)> PutAsync(string id, TrainingJobSpec spec, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (await GetAsync(id, cancellationToken) is { } existing)
                return (existing, existing.Spec.Equals(spec) ? PutOutcome.Existing : PutOutcome.Conflict);
            var now = time.GetUtcNow();
            var entry = new JobEntry(id, spec, new JobStatus { Id = id, Kind = spec.Kind, State = JobState.Queued, CreatedAt = now, UpdatedAt = now })
            {
                Owned = true,
            };
            await store.WriteTextAsync(BlobLayout.Checkpoints, ActivePrefix + id, id, cancellationToken);
            await WriteAsync(id, spec, entry.Status, cancellationToken);
            _jobs[id] = entry;
            _queue.Writer.TryWrite(id);
            logger.LogInformation("job {Id} ({Kind}) queued", id, spec.Kind);
            return (entry, PutOutcome.Created);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// DELETE: a queued job is cancelled at once; a running one is asked to stop (the trainer writes a checkpoint first)
    /// and the runner marks it cancelled. Finished jobs are left as they are.
    /// </summary>
    public async Task<JobEntry?> CancelAsync(string id, CancellationToken cancellationToken)
    {
        if (await GetAsync(id, cancellationToken) is not { } entry)
            return null;
        entry.RequestCancel();
        if (entry.Status.State == JobState.Queued)
            await UpdateAsync(entry, s => s with { State = JobState.Cancelled, Error = "cancelled by DELETE before it started" }, CancellationToken.None);
        return entry;
    }

    /// <summary>Replaces the status, writes job.json, and removes the active marker once the job is finished.</summary>
    public async Task UpdateAsync(JobEntry entry, Func<JobStatus, JobStatus> change, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var before = entry.Status;
            if (before.IsTerminal)
                return;   // a finished job never changes again
            var after = change(before) with { UpdatedAt = Max(time.GetUtcNow(), before.CreatedAt) };
            await WriteAsync(entry.Id, entry.Spec, after, cancellationToken);
            entry.Set(after);
            if (after.IsTerminal)
                await store.DeleteAsync(BlobLayout.Checkpoints, ActivePrefix + entry.Id, cancellationToken);
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

    /// <summary>
    /// Start-up: every job with an active marker that is still queued or running is queued again, oldest first
    /// (a running train job then resumes from its newest checkpoint). Markers of finished jobs are removed.
    /// </summary>
    public async Task<int> RecoverAsync(CancellationToken cancellationToken)
    {
        var found = new List<JobEntry>();
        await foreach (var marker in store.ListAsync(BlobLayout.Checkpoints, ActivePrefix, cancellationToken))
        {
            string id = marker.Name[ActivePrefix.Length..];
            JobEntry? entry = null;
            try
            {
                entry = IsValidId(id) ? await ReadAsync(id, owned: true, cancellationToken) : null;
            }
            catch (Exception e) when (e is InvalidDataException or ContractException)
            {
                logger.LogError("job {Id} cannot be recovered: {Message}", id, e.Message);
            }
            if (entry is null || entry.Status.IsTerminal)
            {
                await store.DeleteAsync(BlobLayout.Checkpoints, marker.Name, cancellationToken);
                continue;
            }
            _jobs[id] = entry;   // this process runs it from now on
            found.Add(entry);
        }
        foreach (var entry in found.OrderBy(e => e.Status.CreatedAt).ThenBy(e => e.Id, StringComparer.Ordinal))
        {
            if (entry.Status.State == JobState.Running)
                await UpdateAsync(entry, s => s with { State = JobState.Queued }, cancellationToken);
            _queue.Writer.TryWrite(entry.Id);
            logger.LogInformation("job {Id} ({Kind}) re-queued after a restart at step {Step}", entry.Id, entry.Spec.Kind, entry.Status.Progress?.Step ?? 0);
        }
        return found.Count;
    }

    private Task WriteAsync(string id, TrainingJobSpec spec, JobStatus status, CancellationToken cancellationToken) =>
        store.WriteTextAsync(BlobLayout.Checkpoints, JobDocument.NameOf(id), JobDocument.Write(spec, status), cancellationToken);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    // \z, not $: $ also matches before a final newline.
    [GeneratedRegex(@"\A[A-Za-z0-9][A-Za-z0-9._-]{0,127}\z")]
    private static partial Regex IdPattern();
}
