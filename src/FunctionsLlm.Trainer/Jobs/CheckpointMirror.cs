using System.Text.Json;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Training;
using FunctionsLlm.Training.Checkpoints;

namespace FunctionsLlm.Trainer.Jobs;

/// <summary>
/// Keeps a train job's checkpoints in the store as the trainer writes them: <c>checkpoints/{job}/checkpoints/checkpoint-N/…</c>
/// (trainer_state.json uploaded last, so a checkpoint without it is incomplete and never resumed from) and
/// <c>checkpoints/{job}/metrics.jsonl</c>. Checkpoints the trainer rotates away are deleted from the store too.
/// On resume every complete checkpoint comes back, so the run ends exactly as an uninterrupted one (load-best-at-end
/// included).
/// </summary>
public sealed class CheckpointMirror(IArtifactStore store, string jobId, string runDir)
{
    private const string MetricsFile = "metrics.jsonl";
    private readonly HashSet<int> _stored = [];

    /// <summary><c>{job}/checkpoints/</c> in <see cref="BlobLayout.Checkpoints"/>.</summary>
    public string Prefix => $"{BlobLayout.Checkpoint.Prefix(jobId)}checkpoints/";

    public string MetricsName => BlobLayout.Checkpoint.Prefix(jobId) + MetricsFile;

    private CheckpointStore Local => new(runDir);

    private string StoredPrefix(int step) => $"{Prefix}{CheckpointStore.FolderName(step)}/";

    /// <summary>Downloads the stored checkpoints into the run folder; returns the newest one to resume from, or null.</summary>
    public async Task<string?> RestoreAsync(CancellationToken cancellationToken)
    {
        var items = await store.ListFolderAsync(BlobLayout.Checkpoints, Prefix, cancellationToken);
        var byStep = items
            .GroupBy(i => CheckpointStore.StepOf(i.Name[Prefix.Length..].Split('/')[0]))
            .Where(g => g.Key is not null)
            .OrderBy(g => g.Key)
            .ToList();
        int? newest = null;
        foreach (var checkpoint in byStep)
        {
            int step = checkpoint.Key!.Value;
            string folderPrefix = StoredPrefix(step);
            if (!checkpoint.Any(c => c.Name == folderPrefix + TrainerState.FileName))
            {
                // Cut short while uploading: useless, and in the way of the next upload of that step.
                await store.DeleteFolderAsync(BlobLayout.Checkpoints, folderPrefix, cancellationToken);
                continue;
            }
            await store.DownloadFolderAsync(BlobLayout.Checkpoints, folderPrefix, Local.PathOf(step), cancellationToken: cancellationToken);
            // The trainer's checkpoint folder holds what the trainer wrote, nothing more.
            File.Delete(Path.Combine(Local.PathOf(step), StoreFolders.CompleteMarker));
            _stored.Add(step);
            newest = step;
        }
        if (newest is not { } last)
            return null;
        await RestoreMetricsAsync(last, cancellationToken);
        return Local.PathOf(last);
    }

    /// <summary>Uploads checkpoints the trainer has written since the last call and deletes the ones it rotated away.</summary>
    public async Task SyncAsync(CancellationToken cancellationToken)
    {
        var local = Local.List();
        var fresh = local.Where(c => !_stored.Contains(c.Step)).ToList();
        if (fresh.Count > 0 && File.Exists(Path.Combine(runDir, MetricsFile)))
            await store.UploadFileAsync(BlobLayout.Checkpoints, MetricsName, Path.Combine(runDir, MetricsFile), cancellationToken);
        foreach (var (step, path) in fresh)
        {
            await store.UploadFolderAsync(BlobLayout.Checkpoints, StoredPrefix(step), path, last: TrainerState.FileName, cancellationToken);
            _stored.Add(step);
        }
        foreach (int gone in _stored.Except(local.Select(c => c.Step)).ToList())
        {
            await store.DeleteFolderAsync(BlobLayout.Checkpoints, StoredPrefix(gone), cancellationToken);
            _stored.Remove(gone);
        }
    }

    // metrics.jsonl as it was at the checkpoint: lines of later steps (logged after it, before the interruption) are dropped.
    private async Task RestoreMetricsAsync(int step, CancellationToken cancellationToken)
    {
        if (!await store.ExistsAsync(BlobLayout.Checkpoints, MetricsName, cancellationToken))
            return;
        var text = await store.ReadTextAsync(BlobLayout.Checkpoints, MetricsName, cancellationToken);
        var kept = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line =>
        {
            try
            {
                using var json = JsonDocument.Parse(line);
                return !json.RootElement.TryGetProperty("step", out var s) || s.GetInt32() <= step;
            }
            catch (JsonException)
            {
                return false;
            }
        });
        Directory.CreateDirectory(runDir);
        await File.WriteAllLinesAsync(Path.Combine(runDir, MetricsFile), kept, cancellationToken);
    }

    public string MetricsPath => Path.Combine(runDir, MetricsFile);
}
