using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;

namespace FunctionsLlm.Orchestration.Tests;

/// <summary>
/// The real orchestrators and activities in a Durable Task test host, a <see cref="LocalFolderStore"/> in a temporary
/// folder (with the demo base model's tokenizer under <c>models/base/</c>) and a <see cref="FakeTrainer"/>.
/// </summary>
internal sealed class PipelineHarness : IAsyncDisposable
{
    public const string ModelName = "support-bot";

    private readonly HttpClient _http;

    private PipelineHarness(string root, LocalFolderStore store, FakeTrainer trainer, HttpClient http, DurableTaskTestHost host,
        PipelineActivities activities)
    {
        Activities = activities;
        Root = root;
        Store = store;
        Trainer = trainer;
        _http = http;
        Host = host;
    }

    public string Root { get; }

    public PipelineActivities Activities { get; }

    public LocalFolderStore Store { get; }

    public FakeTrainer Trainer { get; }

    public DurableTaskTestHost Host { get; }

    public DurableTaskClient Client => Host.Client;

    /// <summary>Short timers and retries so a test takes seconds.</summary>
    public RunTiming Timing { get; set; } = new()
    {
        PollInterval = TimeSpan.FromMilliseconds(100),
        Timeout = TimeSpan.FromSeconds(60),
        TrainerAttempts = 4,
        RetryFirstInterval = TimeSpan.FromMilliseconds(50),
        RetryMaxInterval = TimeSpan.FromMilliseconds(200),
    };

    public static async Task<PipelineHarness> StartAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), "flm-pipeline-tests", Guid.NewGuid().ToString("N"));
        var store = new LocalFolderStore(root);
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
            await store.UploadFileAsync(BlobLayout.Models, $"base/{file}", Path.Combine(RepoPaths.Samples, "base-model", file));
        var trainer = await FakeTrainer.StartAsync(store);
        var http = new HttpClient();
        TrainerClient.Configure(http, trainer.Url, FakeTrainer.ApiKey);
        var activities = new PipelineActivities(store, new TrainerClient(http), new RunDefaults("base/", ModelName));
        var host = await DurableTaskTestHost.StartAsync(tasks => tasks.AddPipeline(activities),
            new DurableTaskTestHostOptions { Port = LoopbackPort.Free() });
        return new PipelineHarness(root, store, trainer, http, host, activities);
    }

    /// <summary>Uploads a file to <c>training-data/{name}</c> (and the run options beside it, when given).</summary>
    public async Task UploadAsync(string name, string path, string? optionsJson = null)
    {
        if (optionsJson is not null)
            await Store.WriteTextAsync(BlobLayout.TrainingData, BlobLayout.PipelineOptions(name), optionsJson);
        await Store.UploadFileAsync(BlobLayout.TrainingData, name, path);
    }

    /// <summary>What the blob trigger does for <c>training-data/{name}</c>.</summary>
    public async Task<RunStart> TriggerAsync(string name) =>
        await RunStarter.StartForBlobAsync(Client, Store, name, Timing) ?? throw new InvalidOperationException($"{name} was not uploaded");

    public async Task<OrchestrationMetadata> WaitAsync(string runId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        return await Client.WaitForInstanceCompletionAsync(runId, getInputsAndOutputs: true, timeout.Token);
    }

    public async Task<RunManifest> SummaryAsync(string runId) =>
        RunManifest.Parse(await Store.ReadTextAsync(BlobLayout.Runs, BlobLayout.Run.Summary(runId)));

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Trainer.DisposeAsync();
        _http.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
