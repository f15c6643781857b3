using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Lora;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Lora;

public sealed class LoraSlotsTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-lora-slots-");

    public void Dispose() => _dir.Dispose();

    /// <summary>Three adapters that differ in rank, scaling and target modules.</summary>
    private static readonly LoraConfig[] Configs =
    [
        new() { R = 2, LoraAlpha = 8, TargetModules = ["q_proj", "v_proj"] },
        new() { R = 8, LoraAlpha = 8, UseRsLora = true, TargetModules = [LoraConfig.AllLinear] },
        new() { R = 4, LoraAlpha = 4, TargetModules = ["o_proj", "down_proj"] },
    ];

    private static CausalLM Load(string name) => ModelLoader.Load(FixtureModel.Get(name).Directory, new ModelLoadOptions(CPU, ScalarType.Float32));

    private string[] WriteAdapters(string name) =>
        [.. Configs.Select((config, i) =>
        {
            string dir = Path.Combine(_dir, $"{name}-{i}");
            RandomAdapter.Write(FixtureModel.Get(name).Directory, dir, config, seed: 10 + i);
            return dir;
        })];

    /// <summary>Each row's logits when its adapter is the model's only one (PEFT's single-adapter forward), or the base's.</summary>
    private static Tensor Alone(string name, string? adapterDir, long[] prompt)
    {
        using var model = Load(name);
        if (adapterDir is not null)
            PeftAdapter.Load(model, adapterDir);
        using var noGrad = no_grad();
        using var ids = tensor(prompt, [1, prompt.Length]);
        return model.Forward(ids);
    }

    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public void Rows_for_different_adapters_and_the_base_in_one_batch_each_get_their_adapter_alone(string name)
    {
        string[] adapters = WriteAdapters(name);
        int[] slotPerRow = [0, -1, 1, 2, 1, -1];
        long[][] prompts = [.. slotPerRow.Select((_, row) => Enumerable.Range(0, 7).Select(j => (long)(3 + (row * 31) + (j * 17)) % 500).ToArray())];
        using var model = Load(name);
        using var slots = new LoraSlots(model, count: 3, maxRank: 8);
        for (int slot = 0; slot < adapters.Length; slot++)
            slots.Load(slot, adapters[slot]);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(prompts.SelectMany(p => p).ToArray(), [prompts.Length, 7]);
        Tensor batched;
        using (slots.Select(slotPerRow))
            batched = model.Forward(ids);

        var baseLogits = Alone(name, null, prompts[0]);
        for (int row = 0; row < prompts.Length; row++)
        {
            int slot = slotPerRow[row];
            var expected = Alone(name, slot < 0 ? null : adapters[slot], prompts[row]);
            TensorAssert.Close(expected[0], batched[row], 2e-5);
        }
        // Not vacuous: every adapter moves the logits well beyond the tolerance.
        foreach (string adapter in adapters)
            Assert.True(Alone(name, adapter, prompts[0]).sub(baseLogits).abs().max().item<float>() > 1e-2);
    }

    [Fact]
    public void A_decoding_row_gets_the_same_bits_in_a_batch_as_alone()
    {
        string[] adapters = WriteAdapters("tiny-llama");
        int[] slotPerRow = [0, -1, 1, 2, 2, 0, -1, 1];
        using var model = Load("tiny-llama");
        using var slots = new LoraSlots(model, count: 3, maxRank: 8);
        for (int slot = 0; slot < adapters.Length; slot++)
            slots.Load(slot, adapters[slot]);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long[] tokens = [.. slotPerRow.Select((_, row) => (long)(11 + (row * 53)))];
        Tensor batched;
        using (slots.Select(slotPerRow))
            batched = model.Forward(tensor(tokens, [tokens.Length, 1]));
        for (int row = 0; row < tokens.Length; row++)
        {
            using (slots.Select([slotPerRow[row]]))
                TensorAssert.Equal(model.Forward(tensor(new[] { tokens[row] }, [1, 1]))[0], batched[row], $"row {row}");
        }
    }

    [Fact]
    public void A_slot_reloaded_with_another_adapter_serves_only_the_new_one_and_a_cleared_slot_the_base()
    {
        string[] adapters = WriteAdapters("tiny-qwen2");
        long[] prompt = [5, 9, 200, 31, 7];
        using var model = Load("tiny-qwen2");
        using var slots = new LoraSlots(model, count: 1, maxRank: 8);
        slots.Load(0, adapters[1]);
        slots.Load(0, adapters[0]);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(prompt, [1, prompt.Length]);
        using (slots.Select([0]))
            TensorAssert.Close(Alone("tiny-qwen2", adapters[0], prompt), model.Forward(ids), 2e-5);
        slots.Clear(0);
        using (slots.Select([0]))
            TensorAssert.Close(Alone("tiny-qwen2", null, prompt), model.Forward(ids), 0);
    }

    [Fact]
    public void An_adapter_above_the_largest_rank_or_for_another_model_is_refused_before_any_weight_is_read()
    {
        string[] adapters = WriteAdapters("tiny-qwen2");
        string glmAdapter = Path.Combine(_dir, "glm");   // adapts GLM's fused gate_up_proj, which qwen2 does not have
        RandomAdapter.Write(FixtureModel.Get("tiny-glm").Directory, glmAdapter, Configs[1], seed: 3);
        using var model = Load("tiny-qwen2");
        using var slots = new LoraSlots(model, count: 2, maxRank: 4);

        var tooLarge = Assert.Throws<LoraException>(() => slots.Load(0, adapters[1]));
        Assert.Contains("rank 8 is above the largest rank served, 4", tooLarge.Message);
        var otherModel = Assert.Throws<LoraException>(() => slots.Load(1, glmAdapter));
        Assert.Contains("mlp.gate_up_proj', which is not a linear layer of this model", otherModel.Message);
    }
}
