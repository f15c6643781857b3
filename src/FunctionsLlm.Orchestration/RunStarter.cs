using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace FunctionsLlm.Orchestration;

/// <summary>Whether a start request made a new run or found the one that already exists for that blob version.</summary>
public sealed record RunStart(string RunId, bool Started);

/// <summary>
/// Starts the orchestrator once per uploaded blob version: the instance id is <see cref="RunIds.For"/>(name, ETag), and
/// an instance that already exists (any state) is left alone, so a re-delivered Event Grid event or a repeated
/// <c>POST /api/runs</c> never starts a second run.
/// </summary>
public static class RunStarter
{
    /// <summary>Uploads that are not data: the run options sidecars.</summary>
    public static bool IsData(string name) =>
        !name.EndsWith(BlobLayout.PipelineOptions(""), StringComparison.Ordinal);

    /// <summary>Starts the run for the current version of <c>training-data/{name}</c>; null when the blob does not exist.</summary>
    public static async Task<RunStart?> StartForBlobAsync(DurableTaskClient client, IArtifactStore store, string name, RunTiming timing,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var info = await store.GetInfoAsync(BlobLayout.TrainingData, name, cancellationToken).ConfigureAwait(false);
        return info is null ? null : await StartAsync(client, new RunSource { Container = BlobLayout.TrainingData, Name = name, ETag = info.ETag }, timing, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<RunStart> StartAsync(DurableTaskClient client, RunSource source, RunTiming timing,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(source);
        var runId = RunIds.For(source.Name, source.ETag);
        if (await client.GetInstanceAsync(runId, cancellationToken).ConfigureAwait(false) is not null)
            return new RunStart(runId, Started: false);
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(PipelineOrchestrator.Name, new RunInput(runId, source, timing),
                new StartOrchestrationOptions(runId), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // a concurrent delivery of the same event may have won the race: then this one is the duplicate
            if (await client.GetInstanceAsync(runId, CancellationToken.None).ConfigureAwait(false) is not null)
                return new RunStart(runId, Started: false);
            throw;
        }
        return new RunStart(runId, Started: true);
    }
}
