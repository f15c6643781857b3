using System.Globalization;
using System.Text.RegularExpressions;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Modeling.Gguf;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Cli.Tests.Commands;

/// <summary><c>flm pipeline</c>: the orchestrator, the activities and the trainer app, all in this process, on a folder store.</summary>
public sealed partial class PipelineCommandTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-pipeline-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Runs_every_stage_publishes_the_best_candidate_and_prints_how_to_serve_it()
    {
        var data = Path.Combine(_dir, "faq.jsonl");
        File.WriteAllLines(data, File.ReadLines(Path.Combine(RepoPaths.Samples, "customer-service.jsonl")).Take(40));
        File.WriteAllText(data + ".pipeline.json", """
            {"hyperparameters": {"full": true, "lr": 0.002, "maxSteps": 3, "batchSize": 4, "gradAccum": 1, "evalSteps": 1, "saveSteps": 1, "loggingSteps": 1}}
            """);
        var raw = File.ReadAllBytes(data);
        var store = Path.Combine(_dir, "out");

        var run = await CliRun.Of("pipeline", data, "--model", Path.Combine(RepoPaths.Samples, "base-model"), "--out", store, "--candidates", "2",
            "--export", "gguf-q8_0");

        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.Equal(raw, File.ReadAllBytes(data));
        var runId = RunLine().Match(run.Output).Groups[1].Value;
        var local = new LocalFolderStore(store);
        var summary = RunManifest.Parse(await local.ReadTextAsync(BlobLayout.Runs, BlobLayout.Run.Summary(runId)));
        Assert.All(summary.Stages.Values, s => Assert.Equal(StageState.Succeeded, s.State));
        Assert.Equal([0.002, 0.001], summary.Candidates.Select(c => c.Hyperparameters.LearningRate));
        var best = summary.Candidates.MinBy(c => c.EvalLoss)!;
        Assert.Equal(best.JobId, summary.BestCandidate);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"(best candidate {best.JobId}, eval loss {best.EvalLoss:F4})"), run.Output, StringComparison.Ordinal);

        var manifest = ModelManifest.Parse(await local.ReadTextAsync(BlobLayout.Models, BlobLayout.Model.Current("faq")));
        Assert.Equal(runId, manifest.Version);
        var modelDir = local.PathOf(BlobLayout.Models, manifest.MergedPrefix.TrimEnd('/'));
        Assert.Equal(File.ReadAllBytes(local.PathOf(BlobLayout.Checkpoints, BlobLayout.Checkpoint.Prefix(summary.BestCandidate!) + "model.safetensors")),
            File.ReadAllBytes(Path.Combine(modelDir, "model.safetensors")));
        var report = local.PathOf(BlobLayout.Runs, BlobLayout.Run.ReportPrefix(runId) + "report.html");
        Assert.True(File.Exists(report));
        Assert.Contains($"  model:   {modelDir}\n", run.Output, StringComparison.Ordinal);
        Assert.Contains($"  report:  {report}\n", run.Output, StringComparison.Ordinal);
        Assert.Contains($"./flm serve --model {modelDir} --name faq", run.Output, StringComparison.Ordinal);
        // the trainer's working copies of this run are gone; the store keeps every output
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(store, ".trainer-cache", "jobs"), runId + "-*"));
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(store, ".trainer-cache", "inputs", "checkpoints"), runId + "-*"));

        // the GGUF beside the merged folder is that folder's export (llama.cpp runs exports: Modeling.Tests' GgufExporterTests)
        string gguf = Path.Combine(modelDir, "model-q8_0.gguf");
        Assert.Contains($"  gguf:    {gguf}\n", run.Output, StringComparison.Ordinal);
        GgufExporter.Export(modelDir, _dir.File("direct.gguf"), GgmlType.Q8_0, name: "faq");
        Assert.Equal(File.ReadAllBytes(_dir.File("direct.gguf")), File.ReadAllBytes(gguf));

        // what it prints is servable: flm generate loads the published folder and answers
        var generated = await CliRun.Of("generate", "--model", modelDir, "--prompt", "Hello", "--max-tokens", "4", "--temperature", "0");
        Assert.True(generated.ExitCode == 0, generated.Error);
    }

    [Theory]
    [InlineData("tiny-glm")]
    [InlineData("tiny-glm4")]
    public async Task A_glm_base_runs_every_stage_with_a_lora_on_every_linear_layer(string model)
    {
        var data = Path.Combine(_dir, "faq.jsonl");
        File.WriteAllLines(data, File.ReadLines(Path.Combine(RepoPaths.Samples, "customer-service.jsonl")).Take(24));
        File.WriteAllText(data + ".pipeline.json", """
            {"hyperparameters": {"targetModules": ["all-linear"], "loraR": 4, "lr": 0.01, "maxSteps": 3, "batchSize": 4, "gradAccum": 1,
                                 "evalSteps": 1, "saveSteps": 1, "loggingSteps": 1}}
            """);
        var store = Path.Combine(_dir, "out");

        var run = await CliRun.Of("pipeline", data, "--model", RepoPaths.Fixture("models", model), "--out", store, "--candidates", "1");

        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        var local = new LocalFolderStore(store);
        var summary = RunManifest.Parse(await local.ReadTextAsync(BlobLayout.Runs, BlobLayout.Run.Summary(RunLine().Match(run.Output).Groups[1].Value)));
        Assert.All(summary.Stages.Values, s => Assert.Equal(StageState.Succeeded, s.State));
        // PEFT's names: the fused MLP projection is one target
        using (var adapter = FunctionsLlm.Modeling.Checkpoints.SafetensorsFile.Open(
            local.PathOf(BlobLayout.Checkpoints, BlobLayout.Checkpoint.Prefix(summary.BestCandidate!) + "adapter_model.safetensors")))
        {
            Assert.Contains("base_model.model.model.layers.1.mlp.gate_up_proj.lora_A.weight", adapter.Tensors.Keys);
            Assert.Equal(2 * 2 * 6, adapter.Tensors.Count);   // A and B of q, k, v, o, gate_up, down in 2 layers
        }
        var manifest = ModelManifest.Parse(await local.ReadTextAsync(BlobLayout.Models, BlobLayout.Model.Current("faq")));
        var modelDir = local.PathOf(BlobLayout.Models, manifest.MergedPrefix.TrimEnd('/'));
        Assert.Equal(File.ReadAllText(RepoPaths.Fixture("models", model, "config.json")), File.ReadAllText(Path.Combine(modelDir, "config.json")));

        var generated = await CliRun.Of("generate", "--model", modelDir, "--chat", "--prompt", "可以退货吗？", "--max-tokens", "4", "--temperature", "0");
        Assert.True(generated.ExitCode == 0, generated.Error);
    }

    [Fact]
    public async Task A_run_that_publishes_its_adapter_prints_how_to_serve_it_over_the_base()
    {
        var data = Path.Combine(_dir, "faq.jsonl");
        File.WriteAllLines(data, File.ReadLines(Path.Combine(RepoPaths.Samples, "customer-service.jsonl")).Take(24));
        File.WriteAllText(data + ".pipeline.json", """
            {"publish": "adapter", "hyperparameters": {"loraR": 4, "lr": 0.01, "maxSteps": 2, "batchSize": 4, "gradAccum": 1, "evalSteps": 1, "saveSteps": 1, "loggingSteps": 1}}
            """);
        var store = Path.Combine(_dir, "out");
        string model = RepoPaths.Fixture("models", "tiny-qwen2");

        var run = await CliRun.Of("pipeline", data, "--model", model, "--out", store, "--candidates", "1");

        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        var local = new LocalFolderStore(store);
        Assert.False(await local.ExistsAsync(BlobLayout.Models, BlobLayout.Model.Current("faq")));
        var manifest = AdapterManifest.Parse(await local.ReadTextAsync(BlobLayout.Models, BlobLayout.Model.AdapterCurrent("base/tiny-qwen2/", "faq")));
        var adapterDir = local.PathOf(BlobLayout.Models, manifest.AdapterPrefix.TrimEnd('/'));
        Assert.True(File.Exists(Path.Combine(adapterDir, "adapter_model.safetensors")));
        Assert.Contains($"  adapter: {adapterDir}\n", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("  model:", run.Output, StringComparison.Ordinal);
        Assert.Contains($"./flm serve --model {model} --lora faq={adapterDir}", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_run_without_usable_records_fails_naming_the_stage_and_the_report()
    {
        var data = Path.Combine(_dir, "empty-turns.jsonl");
        File.Copy(Path.Combine(RepoPaths.Samples, "dirty", "empty-turns.jsonl"), data);

        var run = await CliRun.Of("pipeline", data, "--out", Path.Combine(_dir, "out"), "--model", Path.Combine(RepoPaths.Samples, "base-model"));

        Assert.Equal(1, run.ExitCode);
        Assert.Matches(@"flm: run run-[0-9a-f]{16} failed: clean failed: no usable records in training-data/empty-turns\.jsonl", run.Error);
        Assert.Contains("summary.json", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_options_are_usage_errors()
    {
        Assert.Equal(2, (await CliRun.Of("pipeline", Path.Combine(_dir, "missing.jsonl"), "--out", _dir)).ExitCode);
        Assert.Equal(2, (await CliRun.Of("pipeline", Path.Combine(RepoPaths.Samples, "customer-service.jsonl"), "--out", _dir, "--candidates", "0")).ExitCode);
        var badExport = await CliRun.Of("pipeline", Path.Combine(RepoPaths.Samples, "customer-service.jsonl"), "--out", _dir, "--export", "gguf-q4_0");
        Assert.Equal(2, badExport.ExitCode);
        Assert.Contains("unknown export 'gguf-q4_0'", badExport.Error, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^run (run-[0-9a-f]{16}):", RegexOptions.Multiline)]
    private static partial Regex RunLine();
}
