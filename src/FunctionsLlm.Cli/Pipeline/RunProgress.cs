using System.Globalization;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Orchestration;

namespace FunctionsLlm.Cli.Pipeline;

/// <summary>Prints each stage as it ends (its summary message) and, while candidates train, their progress every few seconds.</summary>
internal sealed class RunProgress(TextWriter output, IArtifactStore store, TrainerClient trainer, string runId)
{
    private static readonly TimeSpan JobReportInterval = TimeSpan.FromSeconds(10);

    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _jobReported = new(StringComparer.Ordinal);

    public async Task UpdateAsync(CancellationToken cancellationToken)
    {
        if (!await store.ExistsAsync(BlobLayout.Runs, BlobLayout.Run.Summary(runId), cancellationToken))
            return;
        RunManifest summary;
        try
        {
            summary = RunManifest.Parse(await store.ReadTextAsync(BlobLayout.Runs, BlobLayout.Run.Summary(runId), cancellationToken));
        }
        catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException)
        {
            return;   // being replaced right now: read it next time
        }
        var stages = PipelineOrchestrator.Stages;
        for (int i = 0; i < stages.Count; i++)
        {
            if (!summary.Stages.TryGetValue(stages[i], out var stage))
                continue;
            var label = string.Create(CultureInfo.InvariantCulture, $"[{i + 1}/{stages.Count}] {stages[i],-8}");
            if (stage.State == StageState.Running && _reported.Add(stages[i] + ":started"))
                output.WriteLine($"{label} started");
            if (stage.State is StageState.Succeeded or StageState.Failed && _reported.Add(stages[i] + ":ended"))
                output.WriteLine($"{label} {(stage.State == StageState.Failed ? "FAILED: " : "")}{stage.Message}");
            if (stages[i] == "train" && stage.State == StageState.Running)
                await ReportJobsAsync(label, summary.Candidates, cancellationToken);
        }
        output.Flush();
    }

    private async Task ReportJobsAsync(string label, IReadOnlyList<CandidateSummary> candidates, CancellationToken cancellationToken)
    {
        foreach (var candidate in candidates)
        {
            var now = DateTime.UtcNow;
            if (_jobReported.TryGetValue(candidate.JobId, out var last) && now - last < JobReportInterval)
                continue;
            JobStatus status;
            try
            {
                status = await trainer.GetJobAsync(candidate.JobId, cancellationToken);
            }
            catch (Exception e) when (e is TrainerRejectedException or TrainerUnavailableException)
            {
                continue;   // not submitted yet
            }
            if (status.State != JobState.Running || status.Progress is not { } p)
                continue;
            _jobReported[candidate.JobId] = now;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{label} {candidate.JobId}: step {p.Step}/{p.TotalSteps}, loss {Number(p.Loss)}, eval loss {Number(p.EvalLoss)}, {Number(p.TokensPerSecond, "F0")} tokens/s, ETA {Eta(p.EtaSeconds)}"));
        }
    }

    private static string Number(double? value, string format = "F4") =>
        value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "–";

    private static string Eta(double? seconds) =>
        seconds is { } s && double.IsFinite(s) ? TimeSpan.FromSeconds(Math.Round(s)).ToString("c", CultureInfo.InvariantCulture) : "–";
}
