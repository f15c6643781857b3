using System.Text.Json;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Trainer.Tests;

/// <summary>A real (tiny) train job with a local folder as the store: what runs without Azurite (FLM_STORAGE_FOLDER).</summary>
public sealed class LocalStoreRunTests : IDisposable
{
    private readonly TempFolder _root = new("flm-trainer-local-");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task A_train_job_reads_and_writes_plain_files()
    {
        string store = Path.Combine(_root, "store");
        LocalStoreFixture.Create(store, records: 8);

        using var app = new TrainerApp(TrainerApp.Local(_root, run: true));
        var client = app.Client();
        await TrainerApp.CreateAsync(client, "local-1", """
            {"kind": "train", "baseModelPrefix": "base/tiny/", "datasetPrefixes": {"train": "d/train.jsonl"},
             "hyperparameters": {"loraR": 2, "batchSize": 4, "gradAccum": 1, "epochs": 1, "saveSteps": 1}, "outputPrefix": "local-1-out/"}
            """);
        var status = await TrainerApp.WaitAsync(client, "local-1");
        Assert.True(status.State == JobState.Succeeded, status.Error);
        Assert.Equal(2, status.Result!.Metrics["steps"]);
        Assert.True(File.Exists(Path.Combine(store, "checkpoints", "local-1-out", "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(store, "checkpoints", "local-1", "checkpoints", "checkpoint-2", "trainer_state.json")));
        Assert.Equal(JobState.Succeeded, JobStatus.Parse(JsonDocument.Parse(
            await File.ReadAllTextAsync(Path.Combine(store, "checkpoints", "local-1", "job.json"))).RootElement.GetProperty("status").GetRawText()).State);
    }
}
