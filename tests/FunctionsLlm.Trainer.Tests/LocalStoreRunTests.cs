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
        Assert.False(status.Result.Metrics.ContainsKey("fourBitBase"));
    }

    [Fact]
    public async Task A_trainer_set_to_quantize_large_bases_trains_qlora_unless_the_job_says_none()
    {
        string store = Path.Combine(_root, "store");
        LocalStoreFixture.Create(store, records: 8);
        var settings = TrainerApp.Local(_root, run: true);
        settings["FLM_TRAINER_QUANTIZE_ABOVE_PARAMETERS"] = "1e4";   // tiny-qwen3 has more
        using var app = new TrainerApp(settings);
        var client = app.Client();
        const string Spec = """
            {"kind": "train", "baseModelPrefix": "base/tiny/", "datasetPrefixes": {"train": "d/train.jsonl"},
             "hyperparameters": {"loraR": 2, "batchSize": 4, "gradAccum": 1, "epochs": 1, "targetModules": ["all-linear"]QUANTIZE}, "outputPrefix": "OUT/"}
            """;
        await TrainerApp.CreateAsync(client, "auto-nf4", Spec.Replace("QUANTIZE", "").Replace("OUT", "auto-nf4-out"));
        var quantized = await TrainerApp.WaitAsync(client, "auto-nf4");
        Assert.True(quantized.State == JobState.Succeeded, quantized.Error);
        Assert.Equal(1, quantized.Result!.Metrics["fourBitBase"]);
        // its merge folds the adapter into the base quantized as it trained, then dequantized
        await TrainerApp.CreateAsync(client, "auto-nf4-merge", """
            {"kind": "merge", "baseModelPrefix": "base/tiny/", "adapterPrefix": "auto-nf4-out/", "outputPrefix": "tiny-qlora/v1/",
             "hyperparameters": {"quantize": "nf4"}}
            """);
        var merged = await TrainerApp.WaitAsync(client, "auto-nf4-merge");
        Assert.True(merged.State == JobState.Succeeded, merged.Error);
        Assert.Equal(1, merged.Result!.Metrics["fourBitBase"]);
        Assert.True(merged.Result.Metrics["maxLogitDifference"] <= merged.Result.Metrics["tolerance"]);
        Assert.True(File.Exists(Path.Combine(store, "models", "tiny-qlora", "v1", "model.safetensors")));

        await TrainerApp.CreateAsync(client, "explicit-none", Spec.Replace("QUANTIZE", ", \"quantize\": \"none\"").Replace("OUT", "explicit-none-out"));
        var dense = await TrainerApp.WaitAsync(client, "explicit-none");
        Assert.True(dense.State == JobState.Succeeded, dense.Error);
        Assert.False(dense.Result!.Metrics.ContainsKey("fourBitBase"));
        // the 4-bit run's adapter is a normal PEFT adapter of the same modules
        Assert.Equal(
            Directory.GetFiles(Path.Combine(store, "checkpoints", "explicit-none-out")).Select(Path.GetFileName).Order(),
            Directory.GetFiles(Path.Combine(store, "checkpoints", "auto-nf4-out")).Select(Path.GetFileName).Order());
    }
}
