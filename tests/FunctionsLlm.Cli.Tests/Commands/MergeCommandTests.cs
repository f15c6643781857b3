using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Tests;
using static TorchSharp.torch;

namespace FunctionsLlm.Cli.Tests.Commands;

public sealed class MergeCommandTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-cli-merge-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_fully_fine_tuned_model_is_copied_as_trained_without_the_runs_metrics()
    {
        // A full fine-tune's output: a whole model folder, with the train job's metrics log beside it.
        string fixture = RepoPaths.Fixture("models", "tiny-qwen2");
        string trained = FixtureModel.Get("tiny-qwen2").CopyTo(Path.Combine(_dir, "trained"));
        await File.WriteAllTextAsync(Path.Combine(trained, "metrics.jsonl"), "{\"step\": 1, \"loss\": 2.0}\n");

        string merged = Path.Combine(_dir, "merged-full");
        var run = await CliRun.Of("merge", "--model", fixture, "--adapter", trained, "--out", merged);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("a fully fine-tuned model: copied as trained", run.Output);
        Assert.Equal(Directory.EnumerateFiles(fixture).Select(Path.GetFileName).Order(StringComparer.Ordinal),
            Directory.EnumerateFiles(merged).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (string file in Directory.EnumerateFiles(fixture))
            Assert.Equal(await File.ReadAllBytesAsync(file), await File.ReadAllBytesAsync(Path.Combine(merged, Path.GetFileName(file))));
    }

    [Fact]
    public async Task Merge_writes_a_model_folder_that_generate_can_use()
    {
        string model = RepoPaths.Fixture("models", "tiny-qwen2");
        string adapter = Path.Combine(_dir, "adapter");
        using (var lm = ModelLoader.Load(model, new ModelLoadOptions(CPU, ScalarType.Float32)))
        {
            var config = new LoraConfig { R = 4, LoraAlpha = 8 };
            LoraInjector.Inject(lm, config, new Generator(1));
            RandomAdapter.Perturb(lm, 0.05, new Generator(2));
            PeftAdapter.Save(lm, config, adapter);
        }
        string merged = Path.Combine(_dir, "merged");

        var run = await CliRun.Of("merge", "--model", model, "--adapter", adapter, "--out", merged);

        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith($"merged 8 layers into {merged}\nparity: max |logit difference| ", run.Output);
        var generate = await CliRun.Of("generate", "--model", merged, "--prompt", "hello", "--max-tokens", "3", "--seed", "1");
        Assert.Equal(0, generate.ExitCode);
    }

    [Fact]
    public async Task A_folder_without_an_adapter_is_an_input_error()
    {
        var run = await CliRun.Of("merge", "--model", RepoPaths.Fixture("models", "tiny-qwen2"), "--adapter", _dir, "--out", Path.Combine(_dir, "m"));
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("adapter_config.json: not found", run.Error);
    }
}
