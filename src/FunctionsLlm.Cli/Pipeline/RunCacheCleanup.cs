using FunctionsLlm.Core;

namespace FunctionsLlm.Cli.Pipeline;

/// <summary>
/// Deletes what the trainer copied and worked on for one run (its jobs' folders and downloaded checkpoints, ~150 MB a run
/// on the demo base) once the run is over; the store keeps every output, and the base model's copy is kept for the next run.
/// </summary>
internal sealed class RunCacheCleanup(string cache) : IDisposable
{
    public string? RunId { get; set; }

    public void Dispose()
    {
        if (RunId is not { } runId)
            return;
        foreach (var parent in new[] { Path.Combine(cache, "jobs"), Path.Combine(cache, "inputs", BlobLayout.Checkpoints) })
        {
            if (!Directory.Exists(parent))
                continue;
            foreach (var folder in Directory.EnumerateDirectories(parent, runId + "-*"))
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (IOException)
                {
                    // a file still open: it goes with the next cleanup of the cache folder
                }
            }
        }
    }
}
