using System.Security.Cryptography;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Orchestration;
using FunctionsLlm.Trainer;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace FunctionsLlm.Cli.Pipeline;

/// <summary>What <c>flm pipeline</c> runs: the data, the base model folder, the store root, the run's options.</summary>
internal sealed record EmbeddedRunRequest(string Input, string BaseModel, string OutRoot, string ModelName, bool ModelNameGiven, int? Candidates,
    IReadOnlyList<string>? Exports = null);

/// <summary>
/// The pipeline on this machine: the Functions app's orchestrator and activities (FunctionsLlm.Orchestration) in the
/// in-process Durable Task engine, the trainer app on loopback (the same <c>/jobs</c> API the GPU container serves),
/// and a <see cref="LocalFolderStore"/> laid out like the Blob containers.
/// </summary>
internal sealed class EmbeddedPipeline(TextWriter output)
{
    /// <summary>Local pacing: jobs are polled every second, and a trainer on loopback needs few retries.</summary>
    public static RunTiming Timing { get; } = new()
    {
        PollInterval = TimeSpan.FromSeconds(1),
        Timeout = TimeSpan.FromHours(72),
        TrainerAttempts = 3,
        RetryFirstInterval = TimeSpan.FromSeconds(1),
        RetryMaxInterval = TimeSpan.FromSeconds(5),
    };

    /// <summary>Runs to the end; the result says what was published, or why the run failed.</summary>
    public async Task<EmbeddedRunOutcome> RunAsync(EmbeddedRunRequest request, CancellationToken cancellationToken)
    {
        var store = new LocalFolderStore(request.OutRoot);
        var name = Path.GetFileName(request.Input);
        var basePrefix = $"base/{Path.GetFileName(Path.TrimEndingDirectorySeparator(request.BaseModel))}/";
        await ModelMirror.MirrorAsync(request.BaseModel, store, basePrefix, cancellationToken);
        var userSidecar = request.Input + BlobLayout.PipelineOptions("");
        var sidecar = RunOptionsSidecar.Compose(File.Exists(userSidecar) ? await File.ReadAllTextAsync(userSidecar, cancellationToken) : null,
            userSidecar, request.Candidates, request.ModelName, request.ModelNameGiven);
        await store.WriteTextAsync(BlobLayout.TrainingData, BlobLayout.PipelineOptions(name), sidecar, cancellationToken);
        // A fresh copy is a new blob version (its write time is part of the local ETag): every command is a new run.
        await store.UploadFileAsync(BlobLayout.TrainingData, name, request.Input, cancellationToken);

        // The in-process engine's hosts log every gRPC call at Information; the run's own lines are what matter here.
        if (Environment.GetEnvironmentVariable("Logging__LogLevel__Default") is null)
            Environment.SetEnvironmentVariable("Logging__LogLevel__Default", "Warning");
        var apiKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var cache = Path.Combine(store.Root, ".trainer-cache");
        using var cleanup = new RunCacheCleanup(cache);   // disposed after the trainer: its jobs have stopped by then
        await using var trainer = await TrainerServer.StartAsync(new TrainerSettings
        {
            Storage = new StorageSettings(Folder: store.Root),
            CacheFolder = cache,
            ApiKey = apiKey,
            ProgressInterval = TimeSpan.FromSeconds(1),
        }, cancellationToken: cancellationToken);
        using var http = new HttpClient();
        TrainerClient.Configure(http, trainer.Address, apiKey);
        var trainerClient = new TrainerClient(http);
        var activities = new PipelineActivities(store, trainerClient, new RunDefaults(basePrefix, request.ModelName, Exports: request.Exports));
        await using var engine = await DurableTaskTestHost.StartAsync(tasks => tasks.AddPipeline(activities),
            new DurableTaskTestHostOptions { LoggerFactory = NullLoggerFactory.Instance, Port = LoopbackPort.Free() }, cancellationToken);

        var start = await RunStarter.StartForBlobAsync(engine.Client, store, name, Timing, cancellationToken)
            ?? throw new InvalidOperationException($"{name} vanished from {store.Root}");
        output.WriteLine($"run {start.RunId}: {request.Input} on {request.BaseModel}; artifacts in {store.Root}");
        var progress = new RunProgress(output, store, trainerClient, start.RunId);
        cleanup.RunId = start.RunId;
        try
        {
            while (await engine.Client.GetInstanceAsync(start.RunId, cancellationToken) is not { IsCompleted: true })
            {
                await progress.UpdateAsync(cancellationToken);
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await engine.Client.TerminateInstanceAsync(start.RunId, new TerminateInstanceOptions { Output = "cancelled", Recursive = true }, grace.Token);
            throw;
        }
        await progress.UpdateAsync(cancellationToken);   // the stages that ended since the last look
        var instance = await engine.Client.GetInstanceAsync(start.RunId, getInputsAndOutputs: true, cancellationToken)
            ?? throw new InvalidOperationException($"run {start.RunId} vanished from the engine");
        var summary = store.PathOf(BlobLayout.Runs, BlobLayout.Run.Summary(start.RunId));
        if (instance.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
            return new EmbeddedRunOutcome(start.RunId, null, summary, instance.FailureDetails?.ErrorMessage ?? instance.RuntimeStatus.ToString());
        var result = instance.ReadOutputAs<RunResult>()!;
        return new EmbeddedRunOutcome(start.RunId, result, summary, null)
        {
            ModelFolder = store.PathOf(BlobLayout.Models, result.MergedPrefix.TrimEnd('/')),
            AdapterFolder = result.AdapterPrefix is { } adapter ? store.PathOf(BlobLayout.Models, adapter.TrimEnd('/')) : null,
            BaseFolder = request.BaseModel,
            ExportFiles = [.. (result.ExportNames ?? []).Select(name => store.PathOf(BlobLayout.Models, name))],
            Report = store.PathOf(BlobLayout.Runs, result.ReportPrefix + "report.html"),
        };
    }
}

/// <summary>How an embedded run ended: <see cref="Result"/> when it published, else <see cref="Failure"/>.</summary>
internal sealed record EmbeddedRunOutcome(string RunId, RunResult? Result, string SummaryPath, string? Failure)
{
    /// <summary>The merged folder (published unless the run published only its adapter).</summary>
    public string? ModelFolder { get; init; }

    /// <summary>The published adapter's folder, when the run published it.</summary>
    public string? AdapterFolder { get; init; }

    public string? BaseFolder { get; init; }

    /// <summary>The files published beside the merged folder (GGUF exports).</summary>
    public IReadOnlyList<string> ExportFiles { get; init; } = [];

    public string? Report { get; init; }
}
