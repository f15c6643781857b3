using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Blobs;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Models;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Orchestration;
using FunctionsLlm.Serving.Engine;
using FunctionsLlm.Serving.Hosting;
using FunctionsLlm.Trainer;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace FunctionsLlm.IntegrationTests.Pipeline;

/// <summary>
/// The whole pipeline against Azurite: an upload to <c>training-data/</c> → the real orchestrator and activities (Durable
/// Task in-process engine) → the real trainer app on loopback, reading and writing the same blobs → a published manifest
/// → the inference app's follower loads the new version and its HTTP API answers with it.
/// </summary>
public sealed class PipelineEndToEndTests : IAsyncLifetime
{
    private const string ApiKey = "e2e-trainer-key";
    private readonly string _id = Guid.NewGuid().ToString("N")[..10];
    private readonly TempFolder _work = new("flm-e2e-");
    private readonly BlobArtifactStore _store = new(new BlobServiceClient(Azurite.ConnectionString));
    private readonly BlownUpAdapterStore _trainerStore;
    private TrainerServer? _trainer;

    public PipelineEndToEndTests() => _trainerStore = new BlownUpAdapterStore(_store, Path.Combine(_work, "blown-up"));

    private static readonly RunTiming Timing = new() { PollInterval = TimeSpan.FromMilliseconds(250), RetryFirstInterval = TimeSpan.FromMilliseconds(100) };

    private string Model => $"bot-{_id}";

    private string BasePrefix => $"base-{_id}/";

    public async Task InitializeAsync()
    {
        var baseModel = Path.Combine(RepoPaths.Samples, "base-model");
        foreach (var file in Directory.GetFiles(baseModel))
            await _store.UploadFileAsync(BlobLayout.Models, BasePrefix + Path.GetFileName(file), file);
        _trainer = await TrainerServer.StartAsync(new TrainerSettings
        {
            Storage = new StorageSettings(ConnectionString: Azurite.ConnectionString),
            CacheFolder = Path.Combine(_work, "trainer"),
            ApiKey = ApiKey,
            ProgressInterval = TimeSpan.Zero,
        }, store: _trainerStore);
    }

    public async Task DisposeAsync()
    {
        if (_trainer is not null)
            await _trainer.DisposeAsync();
        _work.Dispose();
    }

    [Fact]
    public async Task An_upload_is_cleaned_trained_merged_evaluated_published_and_then_served()
    {
        // 40 of the samples, two candidates of a few full-parameter steps each: minutes of work cut to seconds.
        var name = $"faq-{_id}.jsonl";
        await UploadAsync(name, records: 40, """
            "hyperparameters": {"full": true, "maxSteps": 4, "batchSize": 4, "gradAccum": 1, "evalSteps": 2, "saveSteps": 2, "loggingSteps": 1},
            "sweep": {"lr": [0.002, 0.0005]}
            """);

        using var http = TrainerHttp();
        await using var engine = await StartEngineAsync(http);

        // what the blob trigger does; a second delivery of the same event finds the run
        var start = await RunStarter.StartForBlobAsync(engine.Client, _store, name, Timing);
        Assert.True(start!.Started);
        Assert.False((await RunStarter.StartForBlobAsync(engine.Client, _store, name, Timing))!.Started);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var run = await engine.Client.WaitForInstanceCompletionAsync(start.RunId, getInputsAndOutputs: true, timeout.Token);
        Assert.True(run.RuntimeStatus == OrchestrationRuntimeStatus.Completed, run.FailureDetails?.ErrorMessage);

        // the summary: every stage succeeded, both candidates trained, the best is the one with the lower eval loss
        var summary = RunManifest.Parse(await _store.ReadTextAsync(BlobLayout.Runs, BlobLayout.Run.Summary(start.RunId)));
        Assert.All(summary.Stages.Values, s => Assert.Equal(StageState.Succeeded, s.State));
        Assert.Equal(2, summary.Candidates.Count);
        Assert.All(summary.Candidates, c => Assert.Equal(JobState.Succeeded, c.State));
        Assert.Equal(summary.Candidates.MinBy(c => c.EvalLoss)!.JobId, summary.BestCandidate);

        // the manifest names this run's merged folder, which holds the best candidate's weights exactly
        var manifest = ModelManifest.Parse(await _store.ReadTextAsync(BlobLayout.Models, BlobLayout.Model.Current(Model)));
        Assert.Equal(start.RunId, manifest.Version);
        var baseSha256 = await DirectoryFingerprint.ComputeSha256Async(Path.Combine(RepoPaths.Samples, "base-model"));
        Assert.Equal(baseSha256, manifest.BaseSha256);
        Assert.Equal(await _store.ReadBytesAsync(BlobLayout.Checkpoints, BlobLayout.Checkpoint.Prefix(summary.BestCandidate!) + "model.safetensors"),
            await _store.ReadBytesAsync(BlobLayout.Models, manifest.MergedPrefix + "model.safetensors"));
        Assert.NotEqual(await _store.ReadBytesAsync(BlobLayout.Models, BasePrefix + "model.safetensors"),
            await _store.ReadBytesAsync(BlobLayout.Models, manifest.MergedPrefix + "model.safetensors"));
        Assert.True(await _store.ExistsAsync(BlobLayout.Runs, BlobLayout.Run.ReportPrefix(start.RunId) + "report.html"));

        // the report describes the published bytes: it names the published folder, and the weights the evaluate job
        // loaded have the fingerprint current.json records, which is that of the folder as stored
        var report = System.Text.Json.Nodes.JsonNode.Parse(
            await _store.ReadTextAsync(BlobLayout.Runs, BlobLayout.Run.ReportPrefix(start.RunId) + "report.json"))!;
        Assert.Equal($"{BlobLayout.Models}/{manifest.MergedPrefix}", report["fineTunedModel"]!.ToString());
        var evaluation = await new TrainerClient(http).GetJobAsync(RunIds.Evaluate(start.RunId));
        Assert.NotNull(manifest.MergedSha256);
        Assert.Equal(manifest.MergedSha256, evaluation.Result!.ModelSha256);
        var published = Directory.CreateDirectory(Path.Combine(_work, "published")).FullName;
        foreach (var file in new[] { "config.json", "model.safetensors" })
            await File.WriteAllBytesAsync(Path.Combine(published, file), await _store.ReadBytesAsync(BlobLayout.Models, manifest.MergedPrefix + file));
        Assert.Equal(await DirectoryFingerprint.ComputeSha256Async(published), manifest.MergedSha256);

        // the inference app: its follower loads the published version; its API answers with that model
        using var engines = new EngineSlot();
        var follower = new ModelFollower(_store, engines, new ModelFollowerOptions(Model, Path.Combine(_work, "serving"), ExpectedBaseSha256: baseSha256), NullLogger<ModelFollower>.Instance);
        Assert.True(await follower.CheckOnceAsync(), follower.LastError);
        Assert.Equal(start.RunId, follower.CurrentVersion);
        await using var server = await ServingServer.StartAsync(engines, new ServeOptions("127.0.0.1", 0));
        using var client = new HttpClient { BaseAddress = server.Address };
        const string question = "How do I return an item?";
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = Model,
            messages = new[] { new { role = "user", content = question } },
            temperature = 0,
            max_tokens = 24,
        });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(Model, answer.RootElement.GetProperty("model").GetString());
        Assert.Equal(await GreedyAnswerAsync(manifest.MergedPrefix, question, 24),
            answer.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_run_that_publishes_its_adapter_is_served_by_the_inference_app_already_running_on_the_base()
    {
        // The inference app serving the base is up before the run, with no adapter yet.
        using var engines = new EngineSlot();
        var follower = new AdapterFollower(_store, engines, new AdapterFollowerOptions(BasePrefix, Path.Combine(_work, "adapter-serving")),
            NullLogger<AdapterFollower>.Instance);
        Assert.Equal(0, await follower.CheckOnceAsync());
        await using var server = await ServingServer.StartAsync(engines, new ServeOptions("127.0.0.1", 0));
        using var client = new HttpClient { BaseAddress = server.Address };
        const string question = "How do I return an item?";
        object Chat(string model) => new { model, messages = new[] { new { role = "user", content = question } }, temperature = 0, max_tokens = 24 };
        using (var before = await client.PostAsJsonAsync("/v1/chat/completions", Chat(Model)))
            Assert.Equal(System.Net.HttpStatusCode.NotFound, before.StatusCode);

        var name = $"adapter-{_id}.jsonl";
        await UploadAsync(name, records: 24, """
            "publish": "adapter",
            "hyperparameters": {"maxSteps": 4, "batchSize": 4, "gradAccum": 1, "evalSteps": 2, "saveSteps": 2, "loggingSteps": 1, "lr": 0.01}
            """);
        using var http = TrainerHttp();
        await using var engine = await StartEngineAsync(http);
        var start = await RunStarter.StartForBlobAsync(engine.Client, _store, name, Timing);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var run = await engine.Client.WaitForInstanceCompletionAsync(start!.RunId, getInputsAndOutputs: true, timeout.Token);
        Assert.True(run.RuntimeStatus == OrchestrationRuntimeStatus.Completed, run.FailureDetails?.ErrorMessage);

        // Only the adapter was published: for this base, with its fingerprint, the best candidate's files.
        Assert.False(await _store.ExistsAsync(BlobLayout.Models, BlobLayout.Model.Current(Model)));
        var manifest = AdapterManifest.Parse(await _store.ReadTextAsync(BlobLayout.Models, BlobLayout.Model.AdapterCurrent(BasePrefix, Model)));
        Assert.Equal((start.RunId, BasePrefix), (manifest.Version, manifest.BaseModel));
        Assert.Equal(await DirectoryFingerprint.ComputeSha256Async(Path.Combine(RepoPaths.Samples, "base-model")), manifest.BaseSha256);
        var summary = RunManifest.Parse(await _store.ReadTextAsync(BlobLayout.Runs, BlobLayout.Run.Summary(start.RunId)));
        Assert.Equal(await _store.ReadBytesAsync(BlobLayout.Checkpoints, BlobLayout.Checkpoint.Prefix(summary.BestCandidate!) + "adapter_model.safetensors"),
            await _store.ReadBytesAsync(BlobLayout.Models, manifest.AdapterPrefix + "adapter_model.safetensors"));

        // The running app picks it up at its next poll and answers for it as the base with this adapter alone does.
        Assert.Equal(1, await follower.CheckOnceAsync());
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat(Model));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(Model, answer.RootElement.GetProperty("model").GetString());
        Assert.Equal(await GreedyAnswerAsync(BasePrefix, question, 24, manifest.AdapterPrefix),
            answer.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_merge_the_parity_gate_refuses_fails_the_run_at_merge_and_publishes_nothing()
    {
        // One LoRA candidate of two steps; the merge job reads its adapter blown up, as a run that diverged leaves it.
        var name = $"blown-{_id}.jsonl";
        await UploadAsync(name, records: 24, """
            "hyperparameters": {"maxSteps": 2, "batchSize": 4, "gradAccum": 1, "evalSteps": 2, "saveSteps": 2, "loggingSteps": 1}
            """);
        _trainerStore.BlowUpAdapters = true;

        using var http = TrainerHttp();
        await using var engine = await StartEngineAsync(http);
        var start = await RunStarter.StartForBlobAsync(engine.Client, _store, name, Timing);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var run = await engine.Client.WaitForInstanceCompletionAsync(start!.RunId, getInputsAndOutputs: true, timeout.Token);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, run.RuntimeStatus);
        string reason = run.FailureDetails!.ErrorMessage;
        Assert.True(reason.Contains("parity gate refused", StringComparison.Ordinal), reason);
        Assert.True(reason.Contains("base + adapter gives NaN or infinite logits", StringComparison.Ordinal), reason);
        var merge = await new TrainerClient(http).GetJobAsync(RunIds.Merge(start.RunId));
        Assert.Equal((JobState.Failed, JobErrorCode.ParityGate), (merge.State, merge.ErrorCode));
        var summary = RunManifest.Parse(await _store.ReadTextAsync(BlobLayout.Runs, BlobLayout.Run.Summary(start.RunId)));
        Assert.Equal(StageState.Succeeded, summary.Stages["train"].State);
        Assert.Equal(StageState.Failed, summary.Stages["merge"].State);
        Assert.False(await _store.ExistsAsync(BlobLayout.Models, BlobLayout.Model.Current(Model)), "nothing is published");
    }

    /// <summary>Uploads the first <paramref name="records"/> samples as training-data/<paramref name="name"/>, its sidecar first:
    /// this model and base, and <paramref name="options"/> (JSON members).</summary>
    private async Task UploadAsync(string name, int records, string options)
    {
        var data = Path.Combine(_work, name);
        await File.WriteAllLinesAsync(data, File.ReadLines(Path.Combine(RepoPaths.Samples, "customer-service.jsonl")).Take(records));
        await _store.WriteTextAsync(BlobLayout.TrainingData, BlobLayout.PipelineOptions(name),
            $$"""{"modelName": "{{Model}}", "baseModelPrefix": "{{BasePrefix}}", """ + options + "}");
        await _store.UploadFileAsync(BlobLayout.TrainingData, name, data);
    }

    private HttpClient TrainerHttp()
    {
        var http = new HttpClient();
        TrainerClient.Configure(http, _trainer!.Address, ApiKey);
        return http;
    }

    /// <summary>The real orchestrator and activities on the in-process Durable Task engine, calling the trainer through <paramref name="http"/>.</summary>
    private Task<DurableTaskTestHost> StartEngineAsync(HttpClient http)
    {
        var activities = new PipelineActivities(_store, new TrainerClient(http), new RunDefaults("base/", "unused"));
        return DurableTaskTestHost.StartAsync(tasks => tasks.AddPipeline(activities), new DurableTaskTestHostOptions { Port = LoopbackPort.Free() });
    }

    /// <summary>
    /// The reference: the published folder downloaded on its own (with the adapter at <paramref name="adapterPrefix"/>
    /// attached alone, as PEFT does, when given) and decoded greedily, one sequence, no server.
    /// </summary>
    private async Task<string> GreedyAnswerAsync(string prefix, string question, int tokens, string? adapterPrefix = null)
    {
        var dir = Path.Combine(_work, "reference");
        await foreach (var item in _store.ListAsync(BlobLayout.Models, prefix))
        {
            if (!item.Name[prefix.Length..].StartsWith(BlobLayout.Model.AdaptersFolder, StringComparison.Ordinal))
                await _store.DownloadFileAsync(BlobLayout.Models, item.Name, Path.Combine(dir, item.Name[prefix.Length..]));
        }
        using var served = ServedModel.Load(dir);
        var prompt = served.ChatPromptIds([("user", question)]);
        using var model = ModelLoader.Load(dir);
        if (adapterPrefix is not null)
        {
            var adapterDir = Path.Combine(_work, "reference-adapter");
            await _store.DownloadFolderAsync(BlobLayout.Models, adapterPrefix, adapterDir);
            FunctionsLlm.Modeling.Lora.PeftAdapter.Load(model, adapterDir);
        }
        var tokenizer = HfTokenizer.Load(dir);
        var ids = new TextGenerator(model, tokenizer).Generate(prompt, served.DefaultSampling with { Temperature = 0, MaxTokens = tokens }).TokenIds;
        var stops = served.DefaultSampling.StopTokenIds ?? [];
        return tokenizer.Decode(ids.Where(id => !stops.Contains(id)));
    }
}
