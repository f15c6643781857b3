using System.Net;
using System.Text;
using System.Text.Json;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Models;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Tests;
using FunctionsLlm.Trainer.Jobs;
using Microsoft.Extensions.DependencyInjection;

namespace FunctionsLlm.Trainer.Tests;

/// <summary>
/// Real train, merge and evaluate jobs on tiny-qwen3 (a few steps each) against Azurite, through the HTTP API:
/// outputs, checkpoints and job state in blob storage, cancellation, failures, and a trainer killed mid-run whose
/// successor resumes the job to the same adapter, bit for bit, as an uninterrupted run.
/// </summary>
public sealed class JobRunTests : IDisposable
{
    private static readonly string Model = RepoPaths.Fixture("models", "tiny-qwen3");
    private readonly TempFolder _root = new("flm-trainer-runs-");
    private readonly string _s = Guid.NewGuid().ToString("N")[..8];
    private readonly IArtifactStore _store = BlobArtifactStore.FromConnectionString(Azurite.TrainerConnectionString);

    public JobRunTests()
    {
        foreach (string file in Directory.GetFiles(Model).Where(f => !Path.GetFileName(f).StartsWith("expected", StringComparison.Ordinal)))
            _store.UploadFileAsync(BlobLayout.Models, BasePrefix + Path.GetFileName(file), file).GetAwaiter().GetResult();
        _store.WriteTextAsync(BlobLayout.Datasets, TrainData, Records(24, seed: 1)).GetAwaiter().GetResult();
        _store.WriteTextAsync(BlobLayout.Datasets, EvalData, Records(4, seed: 2)).GetAwaiter().GetResult();
    }

    public void Dispose() => _root.Dispose();

    private string BasePrefix => $"base/tiny-qwen3-{_s}/";

    private string TrainData => $"{_s}/train.jsonl";

    private string EvalData => $"{_s}/eval.jsonl";

    private string TrainSpec(string outputPrefix, string hyperparameters = """{"epochs": 2, "evalSteps": 2, "saveSteps": 2}""") => $$"""
        {"kind": "train", "baseModelPrefix": "{{BasePrefix}}", "datasetPrefixes": {"train": "{{TrainData}}", "eval": "{{EvalData}}"},
         "hyperparameters": {{Merge(hyperparameters)}}, "outputPrefix": "{{outputPrefix}}"}
        """;

    // A small, fast run: LoRA r 4 on every linear layer, 6 steps per epoch of 24 records, a log line every step.
    private static string Merge(string hyperparameters)
    {
        var small = JsonDocument.Parse("""
            {"loraR": 4, "loraAlpha": 8, "targetModules": ["all-linear"], "batchSize": 4, "gradAccum": 1, "lr": 0.01, "warmupRatio": 0,
             "loggingSteps": 1, "epochs": 1}
            """).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
        foreach (var p in JsonDocument.Parse(hyperparameters).RootElement.EnumerateObject())
            small[p.Name] = p.Value.Clone();
        return JsonSerializer.Serialize(small);
    }

    private TrainerApp App(string cache, KillableStore? store = null, JobHooks? hooks = null) =>
        new(new Dictionary<string, string?>
        {
            ["FLM_STORAGE_CONNECTION_STRING"] = Azurite.TrainerConnectionString,
            ["FLM_TRAINER_CACHE"] = Path.Combine(_root, cache),
            ["FLM_TRAINER_API_KEY"] = TrainerApp.ApiKey,
            ["FLM_TRAINER_PROGRESS_SECONDS"] = "0",
            ["FLM_TRAINER_LEASE_SECONDS"] = "15",   // a killed trainer's job is taken over ≤ 15 s later
            ["FLM_EVAL_MAX_TOKENS"] = "4",
            ["FLM_EVAL_LIMIT"] = "3",
            ["FLM_EVAL_BATCH_SIZE"] = "4",
        }, services =>
        {
            if (store is not null)
                services.AddSingleton<IArtifactStore>(store);
            if (hooks is not null)
                services.AddSingleton(hooks);
        });

    /// <summary>Formatted records (train.jsonl of flm format) with a rule to learn: the answer is the prompt's first tokens shifted by one.</summary>
    private static string Records(int count, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            int[] prompt = [.. Enumerable.Range(0, random.Next(4, 12)).Select(_ => random.Next(10, 400))];
            int[] answer = [.. prompt.Take(4).Select(t => t + 1), 511];
            text.Append(JsonSerializer.Serialize(new Dictionary<string, int[]>
            {
                ["input_ids"] = [.. prompt, .. answer],
                ["labels"] = [.. Enumerable.Repeat(-100, prompt.Length), .. answer],
            })).Append('\n');
        }
        return text.ToString();
    }

    private async Task<JobStatus> RunAsync(HttpClient client, string id, string spec)
    {
        await TrainerApp.CreateAsync(client, id, spec);
        return await TrainerApp.WaitAsync(client, id);
    }

    private async Task<List<string>> NamesAsync(string container, string prefix) =>
        [.. (await _store.ListFolderAsync(container, prefix, CancellationToken.None)).Select(i => i.Name[prefix.Length..])];

    /// <summary>The fingerprint of the base as uploaded (the fixture folder also holds expected_logits.safetensors).</summary>
    private async Task<string> BaseFingerprintAsync()
    {
        string copy = Directory.CreateDirectory(Path.Combine(_root, "base-copy")).FullName;
        foreach (string file in new[] { "config.json", "model.safetensors" })
            File.Copy(Path.Combine(Model, file), Path.Combine(copy, file), overwrite: true);
        return await DirectoryFingerprint.ComputeSha256Async(copy);
    }

    [Fact]
    public async Task Train_merge_and_evaluate_jobs_write_their_outputs_and_state_to_blob_storage()
    {
        using var app = App("cache");
        var client = app.Client();

        string train = $"t-{_s}", adapter = $"t-{_s}-out/";
        var trained = await RunAsync(client, train, TrainSpec(adapter));
        Assert.True(trained.State == JobState.Succeeded, trained.Error);
        Assert.Equal(adapter, trained.Result!.OutputPrefix);
        Assert.Equal(12, trained.Result.Metrics["steps"]);
        Assert.True(trained.Result.Metrics["evalLoss"] > 0);
        Assert.Equal((12, 12), (trained.Progress!.Step, trained.Progress.TotalSteps));
        Assert.NotNull(trained.Progress.Loss);
        Assert.Equal(["adapter_config.json", "adapter_model.safetensors", "metrics.jsonl"], (await NamesAsync(BlobLayout.Checkpoints, adapter)).Order());
        var checkpoints = await NamesAsync(BlobLayout.Checkpoints, $"{train}/checkpoints/");
        Assert.Equal(3, checkpoints.Where(n => n.EndsWith("/trainer_state.json", StringComparison.Ordinal)).Count());   // saveTotalLimit 3
        Assert.Contains("checkpoint-12/trainer_state.json", checkpoints);
        var (_, stored) = JobDocument.Read(await _store.ReadTextAsync(BlobLayout.Checkpoints, JobDocument.NameOf(train)), "job.json");
        Assert.Equal(trained, stored);
        Assert.False(await _store.ExistsAsync(BlobLayout.Checkpoints, JobRegistry.ActivePrefix + train));

        string merged = $"m-{_s}/";
        await _store.WriteTextAsync(BlobLayout.Models, merged + "notes.txt", "not the trainer's");
        var merge = await RunAsync(client, $"m-{_s}", $$"""
            {"kind": "merge", "baseModelPrefix": "{{BasePrefix}}", "adapterPrefix": "{{adapter}}", "outputPrefix": "{{merged}}"}
            """);
        Assert.True(merge.State == JobState.Succeeded, merge.Error);
        Assert.Equal(7 * 2, merge.Result!.Metrics["mergedModules"]);   // all-linear: 7 projections × 2 layers
        Assert.True(merge.Result.Metrics["maxLogitDifference"] <= merge.Result.Metrics["tolerance"]);
        Assert.Equal(await BaseFingerprintAsync(), merge.Result.BaseSha256);
        var files = await NamesAsync(BlobLayout.Models, merged);
        Assert.Contains("config.json", files);
        Assert.Contains("model.safetensors", files);
        Assert.Contains("tokenizer.json", files);
        Assert.Contains("notes.txt", files);   // the trainer replaces its own files and deletes nothing

        // The merge's fingerprint is of the folder it published, computed independently here from the store's bytes.
        string publishedSha256;
        using (var published = new TempFolder("flm-published-"))
        {
            foreach (string name in new[] { "config.json", "model.safetensors" })
                await File.WriteAllBytesAsync(published.File(name), await _store.ReadBytesAsync(BlobLayout.Models, merged + name));
            publishedSha256 = await DirectoryFingerprint.ComputeSha256Async(published);
        }
        Assert.Equal(publishedSha256, merge.Result.ModelSha256);

        // The evaluation reads the published folder, not the adapter merged once more: its report names it, and the
        // weights it evaluated are the published ones.
        string report = $"e-{_s}/";
        var evaluate = await RunAsync(client, $"e-{_s}", $$"""
            {"kind": "evaluate", "baseModelPrefix": "{{BasePrefix}}", "modelPrefix": "{{merged}}", "adapterPrefix": "{{adapter}}",
             "datasetPrefixes": {"eval": "{{EvalData}}"}, "outputPrefix": "{{report}}"}
            """);
        Assert.True(evaluate.State == JobState.Succeeded, evaluate.Error);
        Assert.Equal(3, evaluate.Result!.Metrics["records"]);
        Assert.True(evaluate.Result.Metrics["evalLoss"] < evaluate.Result.Metrics["baseEvalLoss"], "the fine-tuned model learned the rule");
        Assert.Equal(publishedSha256, evaluate.Result.ModelSha256);
        Assert.Equal(["loss.png", "report.html", "report.json", "report.md"], (await NamesAsync(BlobLayout.Runs, report)).Order());
        var reportJson = System.Text.Json.Nodes.JsonNode.Parse(await _store.ReadTextAsync(BlobLayout.Runs, report + "report.json"))!;
        Assert.Equal($"{BlobLayout.Models}/{merged}", reportJson["fineTunedModel"]!.ToString());
        Assert.Equal($"{BlobLayout.Models}/{BasePrefix}", reportJson["baseModel"]!.ToString());
    }

    [Fact]
    public async Task A_fully_fine_tuned_model_is_published_as_trained_by_merge_and_evaluated_against_the_base()
    {
        using var app = App("cache");
        var client = app.Client();

        string trainedPrefix = $"f-{_s}-out/";
        var trained = await RunAsync(client, $"f-{_s}", TrainSpec(trainedPrefix, """{"full": true, "lr": 0.003, "epochs": 2, "evalSteps": 2, "saveSteps": 2}"""));
        Assert.True(trained.State == JobState.Succeeded, trained.Error);
        Assert.Contains("model.safetensors", await NamesAsync(BlobLayout.Checkpoints, trainedPrefix));

        // nothing to merge: the merged folder is the trained model, byte for byte, without the train job's metrics log
        string merged = $"fm-{_s}/";
        var merge = await RunAsync(client, $"fm-{_s}", $$"""
            {"kind": "merge", "baseModelPrefix": "{{BasePrefix}}", "adapterPrefix": "{{trainedPrefix}}", "outputPrefix": "{{merged}}"}
            """);
        Assert.True(merge.State == JobState.Succeeded, merge.Error);
        Assert.Equal(0, merge.Result!.Metrics["mergedModules"]);
        Assert.Equal((await NamesAsync(BlobLayout.Checkpoints, trainedPrefix)).Where(n => n != "metrics.jsonl").Order(),
            (await NamesAsync(BlobLayout.Models, merged)).Order());
        Assert.Equal(await _store.ReadBytesAsync(BlobLayout.Checkpoints, trainedPrefix + "model.safetensors"), await _store.ReadBytesAsync(BlobLayout.Models, merged + "model.safetensors"));
        Assert.NotEqual(await _store.ReadBytesAsync(BlobLayout.Models, BasePrefix + "model.safetensors"), await _store.ReadBytesAsync(BlobLayout.Models, merged + "model.safetensors"));

        var evaluate = await RunAsync(client, $"fe-{_s}", $$"""
            {"kind": "evaluate", "baseModelPrefix": "{{BasePrefix}}", "modelPrefix": "{{merged}}", "adapterPrefix": "{{trainedPrefix}}",
             "datasetPrefixes": {"eval": "{{EvalData}}"}, "outputPrefix": "fe-{{_s}}/"}
            """);
        Assert.True(evaluate.State == JobState.Succeeded, evaluate.Error);
        Assert.True(evaluate.Result!.Metrics["evalLoss"] < evaluate.Result.Metrics["baseEvalLoss"], "the fine-tuned model learned the rule");
    }

    [Fact]
    public async Task Failed_jobs_say_why_and_are_never_left_running()
    {
        using var app = App("cache");
        var client = app.Client();
        var missing = await RunAsync(client, $"f1-{_s}", TrainSpec($"f1-{_s}/").Replace(BasePrefix, $"base/none-{_s}/", StringComparison.Ordinal));
        Assert.Equal(JobState.Failed, missing.State);
        Assert.Equal($"base model not found: nothing is stored under models/base/none-{_s}/", missing.Error);

        await _store.WriteTextAsync(BlobLayout.Datasets, $"{_s}/broken.jsonl", "{\"input_ids\": [1, 2], \"labels\": [1]}\n");
        var corrupt = await RunAsync(client, $"f2-{_s}", TrainSpec($"f2-{_s}/").Replace(TrainData, $"{_s}/broken.jsonl", StringComparison.Ordinal));
        Assert.Equal(JobState.Failed, corrupt.State);
        Assert.StartsWith("corrupt training data: ", corrupt.Error);
        Assert.Contains("2 input_ids but 1 labels", corrupt.Error);

        var noData = await RunAsync(client, $"f3-{_s}", TrainSpec($"f3-{_s}/").Replace(TrainData, $"{_s}/none.jsonl", StringComparison.Ordinal));
        Assert.Equal($"training data not found: datasets/{_s}/none.jsonl does not exist", noData.Error);

        foreach (string id in new[] { $"f1-{_s}", $"f2-{_s}", $"f3-{_s}" })
        {
            var (_, stored) = JobDocument.Read(await _store.ReadTextAsync(BlobLayout.Checkpoints, JobDocument.NameOf(id)), "job.json");
            Assert.Equal(JobState.Failed, stored.State);
        }
    }

    [Fact]
    public async Task Delete_stops_a_running_train_job_after_writing_a_checkpoint()
    {
        string id = $"c-{_s}";
        using var reached = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var hooks = new JobHooks
        {
            AfterStep = (job, p) =>
            {
                if (job == id && p.Step == 2)
                {
                    reached.Set();
                    release.Wait(TimeSpan.FromSeconds(60));
                }
            },
        };
        using var app = App("cache", hooks: hooks);
        var client = app.Client();
        await TrainerApp.CreateAsync(client, id, TrainSpec($"{id}/", """{"evalSteps": 100, "saveSteps": 100}"""));
        Assert.True(reached.Wait(TimeSpan.FromSeconds(120)), "the job reached step 2");

        using var delete = await client.DeleteAsync($"/jobs/{id}");
        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        Assert.Equal(JobState.Running, (await TrainerApp.StatusOf(delete)).State);
        release.Set();

        var status = await TrainerApp.WaitAsync(client, id);
        Assert.Equal(JobState.Cancelled, status.State);
        Assert.Equal("cancelled by DELETE at step 2", status.Error);
        Assert.True(await _store.ExistsAsync(BlobLayout.Checkpoints, $"{id}/checkpoints/checkpoint-2/trainer_state.json"), "the checkpoint written on cancel is in the store");
        Assert.Empty(await NamesAsync(BlobLayout.Checkpoints, $"{id}/adapter"));
    }

    [Fact]
    public async Task A_trainer_killed_mid_run_is_replaced_by_one_that_resumes_the_job_to_the_same_adapter()
    {
        string killed = $"k-{_s}", straight = $"s-{_s}";
        string spec = TrainSpec($"{killed}-out/");

        // Trainer 1 dies at step 5: from then on nothing it does reaches storage (the newest stored checkpoint is step 4).
        var store = new KillableStore(BlobArtifactStore.FromConnectionString(Azurite.TrainerConnectionString));
        using var died = new ManualResetEventSlim();
        var hooks = new JobHooks
        {
            AfterStep = (job, p) =>
            {
                if (job == killed && p.Step == 5)
                {
                    store.Kill();
                    died.Set();
                }
            },
        };
        using (var first = App("cache-1", store, hooks))
        {
            await TrainerApp.CreateAsync(first.Client(), killed, spec);
            Assert.True(died.Wait(TimeSpan.FromSeconds(120)), "the job reached step 5");
        }
        var (_, left) = JobDocument.Read(await _store.ReadTextAsync(BlobLayout.Checkpoints, JobDocument.NameOf(killed)), "job.json");
        Assert.Equal(JobState.Running, left.State);
        Assert.Equal(4, left.Progress!.Step);

        // Trainer 2 (a fresh cache folder, as a new container) picks the job up from the store, and also runs it uninterrupted.
        using var second = App("cache-2");
        var client = second.Client();
        var resumed = await TrainerApp.WaitAsync(client, killed);
        Assert.True(resumed.State == JobState.Succeeded, resumed.Error);
        Assert.Equal(12, resumed.Result!.Metrics["steps"]);
        var reference = await RunAsync(client, straight, TrainSpec($"{straight}-out/"));
        Assert.True(reference.State == JobState.Succeeded, reference.Error);

        Assert.Equal(await _store.ReadBytesAsync(BlobLayout.Checkpoints, $"{straight}-out/adapter_model.safetensors"),
            await _store.ReadBytesAsync(BlobLayout.Checkpoints, $"{killed}-out/adapter_model.safetensors"));
        Assert.Equal(reference.Result!.Metrics, resumed.Result.Metrics);

        // It resumed at step 5, not from scratch: every step is logged once.
        var steps = (await _store.ReadTextAsync(BlobLayout.Checkpoints, $"{killed}-out/metrics.jsonl"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Where(line => line.TryGetProperty("loss", out _))
            .Select(line => line.GetProperty("step").GetInt32());
        Assert.Equal(Enumerable.Range(1, 12), steps);
    }

    [Fact]
    public async Task A_trainer_shut_down_mid_run_checkpoints_the_job_and_the_next_one_finishes_it()
    {
        string stopped = $"g-{_s}", straight = $"gs-{_s}";
        using var reached = new ManualResetEventSlim();
        using var stopping = new ManualResetEventSlim();
        var hooks = new JobHooks
        {
            AfterStep = (job, p) =>
            {
                if (job == stopped && p.Step == 5)
                {
                    reached.Set();
                    stopping.Wait(TimeSpan.FromSeconds(60));   // the next step sees the shutdown
                }
            },
        };
        // A checkpoint every 4 steps: the one at step 5 can only come from the shutdown.
        string hyperparameters = """{"epochs": 2, "evalSteps": 2, "saveSteps": 4}""";
        var first = App("cache-1", hooks: hooks);
        await TrainerApp.CreateAsync(first.Client(), stopped, TrainSpec($"{stopped}-out/", hyperparameters));
        Assert.True(reached.Wait(TimeSpan.FromSeconds(120)), "the job reached step 5");
        first.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping.Register(stopping.Set);
        first.Dispose();

        var (_, left) = JobDocument.Read(await _store.ReadTextAsync(BlobLayout.Checkpoints, JobDocument.NameOf(stopped)), "job.json");
        Assert.Equal(JobState.Running, left.State);
        Assert.True(await _store.ExistsAsync(BlobLayout.Checkpoints, $"{stopped}/checkpoints/checkpoint-5/trainer_state.json"), "shutdown wrote a checkpoint");

        using var second = App("cache-2");
        var client = second.Client();
        var resumed = await TrainerApp.WaitAsync(client, stopped);
        Assert.True(resumed.State == JobState.Succeeded, resumed.Error);
        var reference = await RunAsync(client, straight, TrainSpec($"{straight}-out/", hyperparameters));
        Assert.True(reference.State == JobState.Succeeded, reference.Error);
        Assert.Equal(await _store.ReadBytesAsync(BlobLayout.Checkpoints, $"{straight}-out/adapter_model.safetensors"),
            await _store.ReadBytesAsync(BlobLayout.Checkpoints, $"{stopped}-out/adapter_model.safetensors"));
    }
}
