using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Lora;

public class LoraInjectorTests
{
    private static CausalLM Load(string name) =>
        ModelLoader.Load(FixtureModel.Get(name).Directory, new ModelLoadOptions(CPU, ScalarType.Float32));

    [Fact]
    public void The_seed_targets_adapt_q_k_v_o_of_every_layer_and_peft_counts_the_parameters()
    {
        using var model = Load("tiny-llama");
        var adapted = LoraInjector.Inject(model, new LoraConfig { R = 8, LoraAlpha = 16 });

        Assert.Equal(8, adapted.Count);
        Assert.Contains("model.layers.1.self_attn.o_proj", adapted);
        // tiny-llama: hidden 64, 4 heads and 2 KV heads of 16 → q, o: 64×64; k, v: 32×64; two layers.
        // LoRA per layer: q 8·64 + 64·8, k 8·64 + 32·8, v the same, o as q = 3,584; base: 151,872 (see below).
        long basePerLayer = (64 * 64 * 2) + (32 * 64 * 2) + (3 * 64 * 160) + (2 * 64);
        long all = (2 * basePerLayer) + (2 * 512 * 64) + 64 + (2 * 3584);
        Assert.Equal($"trainable params: 7,168 || all params: {all:N0} || trainable%: {100.0 * 7168 / all:F4}",
            LoraInjector.TrainableSummary(model));
    }

    [Fact]
    public void All_linear_adapts_attention_and_mlp_but_not_the_output_head()
    {
        using var model = Load("tiny-llama");
        var adapted = LoraInjector.Inject(model, new LoraConfig { TargetModules = [LoraConfig.AllLinear] });

        Assert.Equal(14, adapted.Count);
        Assert.Contains("model.layers.0.mlp.down_proj", adapted);
        Assert.DoesNotContain("lm_head", adapted);
    }

    [Fact]
    public void Factors_follow_peft_init_and_leave_the_model_output_unchanged()
    {
        using var model = Load("tiny-qwen3");
        using var noGrad = no_grad();
        using var ids = tensor(new long[] { 5, 9, 200, 301, 7 }, [1, 5]);
        using var before = model.Forward(ids);

        LoraInjector.Inject(model, new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = ["q_proj", "gate_proj"] }, new Generator(1));
        using var after = model.Forward(ids);

        TensorAssert.Equal(before, after, "B = 0 at init");
        var q = LoraInjector.LinearLayers(model)["model.layers.0.self_attn.q_proj"];
        Assert.Equal(new long[] { 4, 64 }, q.lora_A!.weight.shape);
        Assert.Equal(new long[] { 128, 4 }, q.lora_B!.weight.shape);   // qwen3: 4 heads × head_dim 32
        double bound = 1 / Math.Sqrt(64);
        Assert.True(TensorAssert.MaxMagnitude(q.lora_A.weight) <= bound);
        Assert.True(q.lora_A.weight.std().item<float>() > bound / 3);    // U(−b, b) has σ = b/√3 ≈ 0.58 b
        Assert.Equal(0, TensorAssert.MaxMagnitude(q.lora_B.weight));
        Assert.Equal(2.0, q.LoraScaling);
        Assert.All(model.named_parameters(), p => Assert.Equal(p.name.Contains(".lora_", StringComparison.Ordinal), p.parameter.requires_grad));
    }

    [Fact]
    public void Rslora_scales_by_alpha_over_the_square_root_of_r()
    {
        using var model = Load("tiny-qwen2");
        LoraInjector.Inject(model, new LoraConfig { R = 16, LoraAlpha = 32, UseRsLora = true });
        Assert.Equal(8.0, LoraInjector.LinearLayers(model)["model.layers.0.self_attn.v_proj"].LoraScaling);
    }

    [Fact]
    public void Targets_that_match_nothing_are_an_error_listing_the_layer_names()
    {
        using var model = Load("tiny-llama");
        var error = Assert.Throws<LoraException>(() => LoraInjector.Inject(model, new LoraConfig { TargetModules = ["c_attn"] }));
        Assert.Contains("match no linear layer", error.Message);
        Assert.Contains("q_proj", error.Message);
    }

    [Fact]
    public void The_adapter_adds_scaling_times_b_a_x_to_the_layer_output()
    {
        using var model = Load("tiny-llama");
        LoraInjector.Inject(model, new LoraConfig { R = 2, LoraAlpha = 6, LoraDropout = 0 });
        var layer = LoraInjector.LinearLayers(model)["model.layers.0.self_attn.k_proj"];
        using var noGrad = no_grad();
        layer.lora_B!.weight.copy_(randn([32, 2], generator: new Generator(3)));
        using var x = randn([3, 64], generator: new Generator(4));

        using var expected = x.matmul(layer.weight!.t()) + x.matmul(layer.lora_A!.weight.t()).matmul(layer.lora_B.weight.t()) * 3.0;
        using var actual = layer.forward(x);
        TensorAssert.Close(expected, actual, 1e-5, "y = Wx + (α/r)·BAx");
        layer.LoraEnabled = false;
        using var baseOnly = layer.forward(x);
        TensorAssert.Close(x.matmul(layer.weight!.t()), baseOnly, 1e-6, "disabled");
    }
}
