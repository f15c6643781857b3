using FunctionsLlm.Tests;

namespace FunctionsLlm.Cli.Tests.Commands;

public sealed class TrainCommandTests : IDisposable
{
    private static readonly string Model = RepoPaths.Fixture("models", "tiny-qwen2");
    private readonly string _dir = Directory.CreateTempSubdirectory("flm-cli-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> FormattedSamples()
    {
        string clean = Path.Combine(_dir, "clean"), data = Path.Combine(_dir, "data");
        Assert.Equal(0, (await CliRun.Of("clean", Path.Combine(RepoPaths.Samples, "customer-service.jsonl"), "--out", clean)).ExitCode);
        Assert.Equal(0, (await CliRun.Of("format", Path.Combine(clean, "cleaned.jsonl"), "--model", Model, "--template", "chat", "--out", data)).ExitCode);
        return data;
    }

    [Fact]
    public async Task Train_writes_an_adapter_and_resume_latest_continues_from_the_newest_checkpoint()
    {
        string data = await FormattedSamples();
        string run = Path.Combine(_dir, "run");

        var first = await CliRun.Of("train", "--model", Model, "--data", data, "--out", run, "--max-steps", "2", "--batch-size", "2",
            "--grad-accum", "1", "--save-steps", "1", "--eval-steps", "2", "--max-seq-len", "96");

        Assert.Equal(0, first.ExitCode);
        Assert.Contains("LoRA training of", first.Output);
        Assert.Contains("trainable params: ", first.Output);
        Assert.Contains("2 steps; eval loss ", first.Output);
        Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_model.safetensors")));
        Assert.True(Directory.Exists(Path.Combine(run, "checkpoints", "checkpoint-2")));

        var resumed = await CliRun.Of("train", "--model", Model, "--data", data, "--out", run, "--max-steps", "3", "--batch-size", "2",
            "--grad-accum", "1", "--save-steps", "1", "--eval-steps", "2", "--max-seq-len", "96", "--resume", "latest");
        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains("resumed from", resumed.Error);
        Assert.Contains("3 steps;", resumed.Output);
    }

    [Fact]
    public async Task Resume_latest_without_checkpoints_and_a_bad_scheduler_are_usage_errors()
    {
        string data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        var noCheckpoint = await CliRun.Of("train", "--model", Model, "--data", data, "--out", Path.Combine(_dir, "run"), "--resume", "latest");
        Assert.Equal(2, noCheckpoint.ExitCode);
        Assert.Contains("--resume latest: no checkpoint", noCheckpoint.Error);

        var scheduler = await CliRun.Of("train", "--model", Model, "--data", data, "--out", Path.Combine(_dir, "run"), "--scheduler", "step");
        Assert.Equal(2, scheduler.ExitCode);
        Assert.Contains("'step' is not one of cosine, linear, constant", scheduler.Error);
    }

    [Fact]
    public async Task Data_that_is_not_formatted_is_an_input_error_with_file_and_line()
    {
        string data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "train.jsonl"), "{\"input_ids\": [1, 2, 3], \"labels\": [-100, 2]}\n");

        var run = await CliRun.Of("train", "--model", Model, "--data", data, "--out", Path.Combine(_dir, "run"));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("train.jsonl:1: 3 input_ids but 2 labels", run.Error);
    }
}
