using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Orchestration;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Pipeline;

/// <summary>
/// The Functions app's triggers, thin over <see cref="PipelineOrchestrator"/>, <see cref="PipelineActivities"/> and
/// <see cref="RunStarter"/>: the blob trigger on <c>training-data/{name}</c> (Event Grid source, as Flex Consumption
/// requires), the run API (<c>POST /api/runs</c>, <c>GET|DELETE /api/runs/{id}</c>), the orchestrators and the activities.
/// </summary>
public sealed class PipelineFunctions(PipelineActivities activities, IArtifactStore store, PipelineSettings settings, ILogger<PipelineFunctions> logger)
{
    [Function(nameof(TrainingDataUploaded))]
    public async Task TrainingDataUploaded(
        [BlobTrigger(BlobLayout.TrainingData + "/{name}", Source = BlobTriggerSource.EventGrid)] Stream upload,
        string name, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        if (!RunStarter.IsData(name))
        {
            logger.LogInformation("{Name} is a run options sidecar; it is read when its data is uploaded", name);
            return;
        }
        var start = await RunStarter.StartForBlobAsync(client, store, name, settings.Timing, cancellationToken);
        if (start is null)
            logger.LogWarning("{Container}/{Name} is gone; no run started", BlobLayout.TrainingData, name);
        else if (start.Started)
            logger.LogInformation("run {RunId} started for {Container}/{Name}", start.RunId, BlobLayout.TrainingData, name);
        else
            logger.LogInformation("run {RunId} already exists for this version of {Container}/{Name}; event ignored", start.RunId, BlobLayout.TrainingData, name);
    }

    /// <summary><c>POST /api/runs</c> <c>{"name": "faq.jsonl"}</c>: starts (or finds) the run for an existing upload.</summary>
    [Function(nameof(StartRun))]
    public async Task<IActionResult> StartRun(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "api/runs")] HttpRequest request,
        [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        StartRunRequest? body;
        try
        {
            body = await request.ReadFromJsonAsync<StartRunRequest>(JsonDefaults.Compact, cancellationToken);
        }
        catch (System.Text.Json.JsonException e)
        {
            return Error(StatusCodes.Status400BadRequest, $"the body is not JSON: {e.Message}");
        }
        if (string.IsNullOrWhiteSpace(body?.Name) || !RunStarter.IsData(body.Name))
            return Error(StatusCodes.Status400BadRequest, "'name' must name a data blob in training-data");
        try
        {
            ArtifactName.ValidateName(body.Name);
        }
        catch (ArgumentException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Message);
        }
        var start = await RunStarter.StartForBlobAsync(client, store, body.Name, settings.Timing, cancellationToken);
        if (start is null)
            return Error(StatusCodes.Status404NotFound, $"{BlobLayout.TrainingData}/{body.Name} does not exist");
        return new ObjectResult(new { runId = start.RunId, started = start.Started, status = $"/api/runs/{start.RunId}" })
        {
            StatusCode = start.Started ? StatusCodes.Status202Accepted : StatusCodes.Status200OK,
        };
    }

    /// <summary><c>GET /api/runs/{id}</c>: the orchestration's state and the run summary (stages, candidates, metrics).</summary>
    [Function(nameof(GetRun))]
    public async Task<IActionResult> GetRun(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "api/runs/{id}")] HttpRequest request, string id,
        [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken);
        if (instance is null)
            return Error(StatusCodes.Status404NotFound, $"no run '{id}'");
        RunManifest? summary = null;
        if (await store.ExistsAsync(BlobLayout.Runs, BlobLayout.Run.Summary(id), cancellationToken))
            summary = RunManifest.Parse(await store.ReadTextAsync(BlobLayout.Runs, BlobLayout.Run.Summary(id), cancellationToken));
        return new OkObjectResult(new
        {
            runId = id,
            status = instance.RuntimeStatus.ToString(),
            stage = instance.SerializedCustomStatus,
            failure = instance.FailureDetails?.ErrorMessage,
            summary,
            report = summary?.ModelVersion is null ? null : $"{BlobLayout.Runs}/{BlobLayout.Run.ReportPrefix(id)}report.html",
        });
    }

    /// <summary><c>DELETE /api/runs/{id}</c>: ends the run and cancels its trainer jobs.</summary>
    [Function(nameof(CancelRun))]
    public async Task<IActionResult> CancelRun(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = "api/runs/{id}")] HttpRequest request, string id,
        [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken);
        if (instance is null)
            return Error(StatusCodes.Status404NotFound, $"no run '{id}'");
        if (!instance.IsCompleted)
            await client.TerminateInstanceAsync(id, new TerminateInstanceOptions { Output = "cancelled by DELETE /api/runs", Recursive = true }, cancellationToken);
        var jobs = new List<string> { RunIds.Merge(id), RunIds.Evaluate(id) };
        if (await store.ExistsAsync(BlobLayout.Runs, BlobLayout.Run.Summary(id), cancellationToken))
        {
            var summary = RunManifest.Parse(await store.ReadTextAsync(BlobLayout.Runs, BlobLayout.Run.Summary(id), cancellationToken));
            jobs.InsertRange(0, summary.Candidates.Select(c => c.JobId));
        }
        var cancelled = new List<string>();
        foreach (var job in jobs)
        {
            if (await activities.CancelJob(job, cancellationToken))
                cancelled.Add(job);
        }
        return new OkObjectResult(new { runId = id, terminated = !instance.IsCompleted, cancelledJobs = cancelled });
    }

    [Function(PipelineOrchestrator.Name)]
    public static Task<RunResult> Orchestrate([OrchestrationTrigger] TaskOrchestrationContext context) =>
        PipelineOrchestrator.RunAsync(context, context.GetInput<RunInput>()!);

    [Function(PipelineOrchestrator.MonitorName)]
    public static Task<JobOutcome> MonitorJob([OrchestrationTrigger] TaskOrchestrationContext context) =>
        PipelineOrchestrator.MonitorJobAsync(context, context.GetInput<MonitorInput>()!);

    [Function(nameof(PipelineActivities.LoadOptions))]
    public Task<RunOptionsResult> LoadOptions([ActivityTrigger] RunSource source, CancellationToken cancellationToken) =>
        activities.LoadOptions(source, cancellationToken);

    [Function(nameof(PipelineActivities.Clean))]
    public Task<CleanResult> Clean([ActivityTrigger] CleanInput input, CancellationToken cancellationToken) =>
        activities.Clean(input, cancellationToken);

    [Function(nameof(PipelineActivities.Format))]
    public Task<FormatResult> Format([ActivityTrigger] FormatInput input, CancellationToken cancellationToken) =>
        activities.Format(input, cancellationToken);

    [Function(nameof(PipelineActivities.SubmitJob))]
    public Task<JobSnapshot> SubmitJob([ActivityTrigger] SubmitJobInput input, CancellationToken cancellationToken) =>
        activities.SubmitJob(input, cancellationToken);

    [Function(nameof(PipelineActivities.GetJob))]
    public Task<JobSnapshot> GetJob([ActivityTrigger] string jobId, CancellationToken cancellationToken) =>
        activities.GetJob(jobId, cancellationToken);

    [Function(nameof(PipelineActivities.CancelJob))]
    public Task<bool> CancelJob([ActivityTrigger] string jobId, CancellationToken cancellationToken) =>
        activities.CancelJob(jobId, cancellationToken);

    [Function(nameof(PipelineActivities.Publish))]
    public Task<string> Publish([ActivityTrigger] PublishInput input, CancellationToken cancellationToken) =>
        activities.Publish(input, cancellationToken);

    [Function(nameof(PipelineActivities.PublishAdapter))]
    public Task<string> PublishAdapter([ActivityTrigger] PublishAdapterInput input, CancellationToken cancellationToken) =>
        activities.PublishAdapter(input, cancellationToken);

    [Function(nameof(PipelineActivities.WriteSummary))]
    public Task<bool> WriteSummary([ActivityTrigger] SummaryInput input, CancellationToken cancellationToken) =>
        activities.WriteSummary(input, cancellationToken);

    private static ObjectResult Error(int status, string message) =>
        new(new { error = new { message } }) { StatusCode = status };

    private sealed record StartRunRequest(string? Name);
}
