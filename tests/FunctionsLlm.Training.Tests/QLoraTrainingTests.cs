using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Modeling.Quantization;
using FunctionsLlm.Tests;
using static TorchSharp.torch;

namespace FunctionsLlm.Training.Tests;

/// <summary>
/// LoRA over a 4-bit base (QLoRA): it learns (its resume is TrainingLoopTests'), and is the same training as LoRA over the
/// dequantized weights held dense (libtorch's own autograd of a dense linear being the reference for the 4-bit backward).
/// </summary>
[Collection(TrainingRuns.Name)]
public sealed class QLoraTrainingTests : IDisposable
{
    private static readonly string Model = RepoPaths.Fixture("models", "tiny-qwen2");
    private static readonly ModelLoadOptions Cpu32 = new(CPU, ScalarType.Float32);
    private readonly TempFolder _dir = new("flm-qlora-");

    public void Dispose() => _dir.Dispose();

    private static readonly Hyperparameters Small = new()
    {
        LoraR = 8, LoraAlpha = 16, BatchSize = 4, GradientAccumulation = 2, Epochs = 3, LearningRate = 1e-2, LoraDropout = 0,
        WarmupRatio = 0.1, LoggingSteps = 2, EvalSteps = 4, SaveSteps = 4, SaveTotalLimit = 1000, TargetModules = [LoraConfig.AllLinear],
        Quantize = BaseQuantization.Nf4,
    };

    private static CausalLM LoadFourBit() => ModelLoader.Load(Model, Cpu32 with { Quantize = FourBitOptions.Nf4 });

    [Fact]
    public void Qlora_lowers_the_eval_loss_and_writes_a_peft_adapter_the_dense_base_loads()
    {
        var train = ShiftRuleExamples.Create(40, 1);
        var eval = ShiftRuleExamples.Create(8, 1);
        using var model = LoadFourBit();
        Assert.All(LoraInjector.LinearLayers(model).Where(l => l.Key != "lm_head").Select(l => l.Value), l => Assert.NotNull(l.Quantized));
        double before = CausalLmLoss.Mean(model, eval, 4, 509);

        var result = new TrainingLoop(Small).Run(model, Model, train, eval, _dir);

        Assert.True(result.FinalEvalLoss < before * 0.7, $"eval loss {before:F3} → {result.FinalEvalLoss:F3}");
        string adapter = Path.Combine(_dir, "adapter");
        using var reader = CheckpointReader.Open(adapter, "adapter_model");
        Assert.All(reader.Names, n => Assert.Matches(@"^base_model\.model\.model\.layers\.\d\.(self_attn|mlp)\.\w+_proj\.lora_[AB]\.weight$", n));
        using var dense = ModelLoader.Load(Model, Cpu32);
        long loraParameters = LoraInjector.LinearLayers(dense).Where(l => l.Key != "lm_head").Sum(l => 8 * (l.Value.InFeatures + l.Value.OutFeatures));
        long all = dense.parameters().Sum(p => p.numel()) + loraParameters;
        Assert.StartsWith($"trainable params: {loraParameters:N0} || all params: {all:N0} ", result.TrainableSummary);
        PeftAdapter.Load(dense, adapter);
        Assert.True(CausalLmLoss.Mean(dense, eval, 4, 509) < before, "the adapter helps the original base too");
    }

    [Fact]
    public void Qlora_is_lora_over_the_dequantized_weights()
    {
        var train = ShiftRuleExamples.Create(24, 5);
        var options = Small with { Epochs = 1, LoadBestModelAtEnd = false, EvalSteps = 100 };
        string quantizedDir = Path.Combine(_dir, "nf4");
        ModelQuantizer.Quantize(Model, quantizedDir, FourBitOptions.Nf4);
        using (var fourBit = ModelLoader.Load(quantizedDir, Cpu32))
            new TrainingLoop(options).Run(fourBit, quantizedDir, train, [], Path.Combine(_dir, "qlora"));
        using (var dense = ModelLoader.Load(quantizedDir, Cpu32 with { DequantizeFourBit = true }))
            new TrainingLoop(options).Run(dense, quantizedDir, train, [], Path.Combine(_dir, "lora"));

        using var scope = NewDisposeScope();
        using var qlora = CheckpointReader.Open(Path.Combine(_dir, "qlora", "adapter"), "adapter_model");
        using var lora = CheckpointReader.Open(Path.Combine(_dir, "lora", "adapter"), "adapter_model");
        Assert.Equal(lora.Names.Order(), qlora.Names.Order());
        foreach (string name in lora.Names)
            TensorAssert.Close(lora.Read(name), qlora.Read(name), 1e-4, name);
    }

    [Fact]
    public void Gradient_checkpointing_trains_the_same_adapter_bit_for_bit()
    {
        var train = ShiftRuleExamples.Create(24, 6);
        var options = Small with { Epochs = 1, LoadBestModelAtEnd = false, EvalSteps = 100, LoraDropout = 0.1 };
        using (var model = LoadFourBit())
            new TrainingLoop(options).Run(model, Model, train, [], Path.Combine(_dir, "plain"));
        using (var model = LoadFourBit())
            new TrainingLoop(options with { GradientCheckpointing = true }).Run(model, Model, train, [], Path.Combine(_dir, "checkpointed"));

        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "plain", "adapter", "adapter_model.safetensors")),
            File.ReadAllBytes(Path.Combine(_dir, "checkpointed", "adapter", "adapter_model.safetensors")));
    }
}
