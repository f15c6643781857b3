using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Tests;
using FunctionsLlm.Training.Data;
using FunctionsLlm.Training.Evaluation;
using FunctionsLlm.Training.Tests.Evaluation;
using static TorchSharp.torch;

namespace FunctionsLlm.Training.Tests;

/// <summary>
/// Training and evaluation leave no tensor to the finalizer (issue 23: AdamW.ZeroGrad's unowned gradient wrappers were
/// freed during a native call and crashed ./flm pipeline). Exact counts, whatever the JIT does with lifetimes.
/// </summary>
[Collection(UnownedTensors.Collection)]
public sealed class TensorOwnershipTests : IDisposable
{
    private static readonly string Model = RepoPaths.Fixture("models", "tiny-qwen2");
    private static readonly ModelLoadOptions Cpu = new(CPU, ScalarType.Float32);
    private readonly TempFolder _dir = new("flm-ownership-");

    public void Dispose() => _dir.Dispose();

    private static List<TrainingExample> Examples(int count)
    {
        var random = new Random(3);
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            int[] prompt = [.. Enumerable.Range(0, random.Next(4, 10)).Select(_ => random.Next(10, 400))];
            int[] answer = [.. prompt.Take(3).Select(t => t + 1), 511];
            return new TrainingExample([.. prompt, .. answer], [.. prompt.Select(_ => TrainingExample.IgnoreIndex), .. answer], i + 1);
        })];
    }

    [Fact]
    public void Lora_training_with_evaluation_checkpoints_best_at_end_and_resume_leaves_no_tensor_to_the_finalizer()
    {
        var train = Examples(16);
        var eval = Examples(4);
        var options = new Hyperparameters
        {
            LoraR = 4, BatchSize = 2, GradientAccumulation = 2, MaxSteps = 6, LearningRate = 1e-2, WeightDecay = 0.01,
            LoggingSteps = 1, EvalSteps = 2, SaveSteps = 2, TargetModules = [LoraConfig.AllLinear],
        };
        string first = Path.Combine(_dir, "first"), resumed = Path.Combine(_dir, "resumed");

        long unowned = UnownedTensors.During(() =>
        {
            using (var model = ModelLoader.Load(Model, Cpu))
                new TrainingLoop(options).Run(model, Model, train, eval, first);
            using (var model = ModelLoader.Load(Model, Cpu))
                new TrainingLoop(options with { MaxSteps = 8 }).Run(model, Model, train, eval, resumed, Path.Combine(first, "checkpoints", "checkpoint-4"));
        });

        Assert.Equal(0, unowned);
        Assert.True(File.Exists(Path.Combine(resumed, "adapter", "adapter_model.safetensors")));
    }

    [Fact]
    public void Full_training_leaves_no_tensor_to_the_finalizer()
    {
        var options = new Hyperparameters { Full = true, BatchSize = 2, GradientAccumulation = 1, MaxSteps = 3, EvalSteps = 3, SaveSteps = 3 };

        long unowned = UnownedTensors.During(() =>
        {
            using var model = ModelLoader.Load(Model, Cpu);
            new TrainingLoop(options).Run(model, Model, Examples(6), Examples(2), _dir);
        });

        Assert.Equal(0, unowned);
        Assert.True(File.Exists(Path.Combine(_dir, "model", "model.safetensors")));
    }

    [Fact]
    public void Evaluation_with_sampling_penalties_and_batches_leaves_no_tensor_to_the_finalizer()
    {
        var tokenizer = HfTokenizer.Load(Model);
        string data = EvalJsonl.Write(Path.Combine(_dir, "eval.jsonl"),
            EvalJsonl.Chat(tokenizer, "请问怎么退货？", "您好，七天内可以申请退货。"),
            EvalJsonl.Chat(tokenizer, "Can I change the address?", "Yes, before the order ships."),
            EvalJsonl.Chat(tokenizer, "发票怎么开？", "下单时填写抬头即可。"));
        var sampling = new SamplingOptions { MaxTokens = 6, Temperature = 0.9, TopP = 0.8, TopK = 20, RepetitionPenalty = 1.3, Seed = 7 };

        EvaluationReport? report = null;
        long unowned = UnownedTensors.During(() =>
            report = Evaluator.Run(new EvaluationRequest(Model, Model, data), new EvaluationOptions { Sampling = sampling, BatchSize = 2, Load = Cpu }));

        Assert.Equal(0, unowned);
        Assert.Equal(3, report!.Records.Count);
    }
}
