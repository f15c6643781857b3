using System.Text.Json;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Modeling.Quantization;
using FunctionsLlm.Tests;
using FunctionsLlm.Training.Data;
using static TorchSharp.torch;

namespace FunctionsLlm.Training.Tests;

[Collection(TrainingRuns.Name)]
public sealed class TrainingLoopTests : IDisposable
{
    private static readonly string Model = RepoPaths.Fixture("models", "tiny-qwen2");
    private readonly TempFolder _dir = new("flm-train-");

    public void Dispose() => _dir.Dispose();

    private static CausalLM Load(bool fourBit = false) =>
        ModelLoader.Load(Model, new ModelLoadOptions(CPU, ScalarType.Float32, Quantize: fourBit ? FourBitOptions.Nf4 : null));

    private static readonly Hyperparameters Small = new()
    {
        LoraR = 8, LoraAlpha = 16, BatchSize = 4, GradientAccumulation = 2, Epochs = 3, LearningRate = 1e-2,
        WarmupRatio = 0.1, LoggingSteps = 2, EvalSteps = 4, SaveSteps = 4, SaveTotalLimit = 1000, TargetModules = [LoraConfig.AllLinear],
    };

    [Fact]
    public void Lora_training_lowers_the_eval_loss_and_writes_a_peft_adapter_metrics_and_tensorboard()
    {
        var train = ShiftRuleExamples.Create(40, 1);
        var eval = ShiftRuleExamples.Create(8, 1).Select(e => e with { }).ToList();   // the same rule on the first 8 training records
        using var model = Load();
        double before = CausalLmLoss.Mean(model, eval, 4, 509);

        var result = new TrainingLoop(Small).Run(model, Model, train, eval, _dir);

        Assert.Equal(15, result.Steps);   // 40 records / 4 = 10 batches → 5 steps per epoch × 3
        Assert.True(result.FinalEvalLoss < before * 0.7, $"eval loss {before:F3} → {result.FinalEvalLoss:F3}");
        Assert.True(File.Exists(Path.Combine(_dir, "adapter", "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(_dir, "adapter", "adapter_model.safetensors")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_dir, "tensorboard"), "events.out.tfevents.*", SearchOption.AllDirectories));
        var lines = File.ReadAllLines(Path.Combine(_dir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([2, 4, 6, 8, 10, 12, 14, 15], lines.Where(l => l.TryGetProperty("loss", out _)).Select(l => l.GetProperty("step").GetInt32()));
        Assert.Equal([4, 8, 12, 15], lines.Where(l => l.TryGetProperty("eval_loss", out _)).Select(l => l.GetProperty("step").GetInt32()));
        Assert.Equal(["checkpoint-12", "checkpoint-15", "checkpoint-4", "checkpoint-8"],
            Directory.GetDirectories(Path.Combine(_dir, "checkpoints")).Select(Path.GetFileName).Order());
        Assert.StartsWith("trainable params: ", result.TrainableSummary);

        // The adapter written at the end is the best checkpoint's (load-best-at-end).
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "checkpoints", $"checkpoint-{result.BestStep}", "adapter", "adapter_model.safetensors")),
            File.ReadAllBytes(Path.Combine(_dir, "adapter", "adapter_model.safetensors")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]   // QLoRA: an NF4 base
    public void A_run_cancelled_and_resumed_ends_with_the_same_adapter_bit_for_bit(bool fourBit)
    {
        var train = ShiftRuleExamples.Create(40, 2);
        var eval = ShiftRuleExamples.Create(6, 3);
        var options = Small with { LoadBestModelAtEnd = false };
        string straight = Path.Combine(_dir, "straight"), interrupted = Path.Combine(_dir, "interrupted");
        using (var model = Load(fourBit))
            new TrainingLoop(options).Run(model, Model, train, eval, straight);

        using (var cancel = new CancellationTokenSource())
        using (var model = Load(fourBit))
        {
            var stopAfter6 = new Observer(p => { if (p.Step == 6) cancel.Cancel(); });
            Assert.Throws<OperationCanceledException>(() => new TrainingLoop(options).Run(model, Model, train, eval, interrupted, progress: stopAfter6, cancellationToken: cancel.Token));
        }
        string checkpoint = Path.Combine(interrupted, "checkpoints", "checkpoint-6");
        Assert.True(Directory.Exists(checkpoint), "cancellation writes a checkpoint first");
        using (var model = Load(fourBit))
            new TrainingLoop(options).Run(model, Model, train, eval, interrupted, resumeFrom: checkpoint);

        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "adapter", "adapter_model.safetensors")),
            File.ReadAllBytes(Path.Combine(interrupted, "adapter", "adapter_model.safetensors")));
    }

    [Fact]
    public void A_run_killed_after_a_periodic_checkpoint_resumes_from_it_to_the_same_adapter()
    {
        var train = ShiftRuleExamples.Create(40, 4);
        var options = Small with { LoadBestModelAtEnd = false, EvalSteps = 100 };
        string straight = Path.Combine(_dir, "straight"), killed = Path.Combine(_dir, "killed");
        using (var model = Load())
            new TrainingLoop(options).Run(model, Model, train, [], straight);

        // "Kill" after step 9: the run directory holds checkpoint-4 and checkpoint-8 but nothing after them.
        using (var cancel = new CancellationTokenSource())
        using (var model = Load())
        {
            var observer = new Observer(p => { if (p.Step == 9) throw new InvalidOperationException("killed"); });
            Assert.Throws<InvalidOperationException>(() => new TrainingLoop(options).Run(model, Model, train, [], killed, progress: observer));
        }
        string latest = new Checkpoints.CheckpointStore(killed).Latest()!;
        Assert.EndsWith("checkpoint-8", latest);
        using (var model = Load())
            new TrainingLoop(options).Run(model, Model, train, [], killed, resumeFrom: latest);

        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "adapter", "adapter_model.safetensors")),
            File.ReadAllBytes(Path.Combine(killed, "adapter", "adapter_model.safetensors")));
    }

    [Fact]
    public void Early_stopping_ends_the_run_when_eval_loss_stops_falling_and_keeps_the_best_checkpoint()
    {
        // A learning rate this high makes the eval loss climb after the first steps.
        var options = Small with { LearningRate = 0.5, WarmupRatio = 0, EvalSteps = 1, SaveSteps = 1, SaveTotalLimit = 2, EarlyStoppingPatience = 2, Epochs = 5 };
        using var model = Load();

        var result = new TrainingLoop(options).Run(model, Model, ShiftRuleExamples.Create(40, 5), ShiftRuleExamples.Create(6, 6), _dir);

        Assert.True(result.StoppedEarly);
        Assert.Equal(result.BestStep + 2, result.Steps);
        var kept = Directory.GetDirectories(Path.Combine(_dir, "checkpoints")).Select(Path.GetFileName).ToList();
        Assert.Contains($"checkpoint-{result.BestStep}", kept);
        Assert.Equal(2, kept.Count);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "checkpoints", $"checkpoint-{result.BestStep}", "adapter", "adapter_model.safetensors")),
            File.ReadAllBytes(Path.Combine(_dir, "adapter", "adapter_model.safetensors")));
    }

    [Fact]
    public void Full_mode_trains_a_model_from_scratch_into_a_loadable_model_folder()
    {
        string fresh = Path.Combine(_dir, "fresh");
        Directory.CreateDirectory(fresh);
        foreach (string file in Directory.GetFiles(Model, "*.json").Where(f => !f.EndsWith("expected.json", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(fresh, Path.GetFileName(file)));
        using var model = ModelLoader.Initialize(fresh, seed: 1, new ModelLoadOptions(CPU, ScalarType.Float32));
        var eval = ShiftRuleExamples.Create(6, 7);
        double before = CausalLmLoss.Mean(model, eval, 4, 509);

        var result = new TrainingLoop(Small with { Full = true, LearningRate = 3e-3, Epochs = 4 })
            .Run(model, fresh, ShiftRuleExamples.Create(60, 7), eval, Path.Combine(_dir, "run"));

        Assert.True(result.FinalEvalLoss < before, $"{before} → {result.FinalEvalLoss}");
        Assert.Equal(Path.Combine(_dir, "run", "model"), result.OutputDir);
        using var reloaded = ModelLoader.Load(result.OutputDir, new ModelLoadOptions(CPU, ScalarType.Float32));
        using var ids = tensor(new long[] { 11, 12, 13 }, [1, 3]);
        using var noGrad = no_grad();
        using var expected = model.Forward(ids);
        using var actual = reloaded.Forward(ids);
        TensorAssert.Close(expected, actual, 0.05, "reloaded BF16 weights give nearly the same logits");
    }

    private sealed class Observer(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => onReport(value);
    }
}
