using FunctionsLlm.Modeling.Checkpoints;

namespace FunctionsLlm.Cli.Tests.Commands;

/// <summary>
/// The GLM fixtures command by command: flm format with GLM's chat template, flm train with a LoRA on every linear
/// layer (GLM's fused gate_up_proj included), flm merge through the parity gate and flm eval of the merged model.
/// </summary>
public sealed class GlmCommandTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-glm-");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("tiny-glm")]
    [InlineData("tiny-glm4")]
    public async Task Format_train_merge_and_eval_run_on_a_glm_model(string name)
    {
        string model = RepoPaths.Fixture("models", name);
        string clean = Path.Combine(_dir, "clean"), data = Path.Combine(_dir, "data"), run = Path.Combine(_dir, "run");
        string merged = Path.Combine(_dir, "merged"), report = Path.Combine(_dir, "report");
        Assert.Equal(0, (await CliRun.Of("clean", Path.Combine(RepoPaths.Samples, "customer-service.jsonl"), "--out", clean)).ExitCode);

        var format = await CliRun.Of("format", Path.Combine(clean, "cleaned.jsonl"), "--model", model, "--template", "chat", "--out", data);
        Assert.True(format.ExitCode == 0, format.Error + format.Output);
        var train = await CliRun.Of("train", "--model", model, "--data", data, "--out", run, "--target-modules", "all-linear", "--lora-r", "4",
            "--lr", "0.01", "--max-steps", "2", "--batch-size", "2", "--grad-accum", "1", "--save-steps", "2", "--eval-steps", "2", "--max-seq-len", "96");
        Assert.True(train.ExitCode == 0, train.Error + train.Output);
        using (var adapter = SafetensorsFile.Open(Path.Combine(run, "adapter", "adapter_model.safetensors")))
            Assert.Contains("base_model.model.model.layers.0.mlp.gate_up_proj.lora_B.weight", adapter.Tensors.Keys);

        var merge = await CliRun.Of("merge", "--model", model, "--adapter", Path.Combine(run, "adapter"), "--out", merged);
        Assert.True(merge.ExitCode == 0, merge.Error + merge.Output);
        Assert.StartsWith($"merged 12 layers into {merged}\nparity: max |logit difference| ", merge.Output);

        var eval = await CliRun.Of("eval", "--base", model, "--model", merged, "--data", Path.Combine(data, "eval.jsonl"), "--out", report,
            "--metrics", Path.Combine(run, "metrics.jsonl"), "--max-tokens", "4", "--limit", "3");
        Assert.True(eval.ExitCode == 0, eval.Error + eval.Output);
        Assert.True(File.Exists(Path.Combine(report, "report.json")));
    }
}
