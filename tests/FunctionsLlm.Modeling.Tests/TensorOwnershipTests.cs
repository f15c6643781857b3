using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Modeling.Lora;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests;

/// <summary>
/// Loading, generation, adapters and merging leave no tensor to the finalizer, where it could be freed during a
/// native call (issue 23). Exact counts, whatever the JIT does with lifetimes.
/// </summary>
[Collection(UnownedTensors.Collection)]
public sealed class TensorOwnershipTests : IDisposable
{
    private static readonly ModelLoadOptions Cpu32 = new(CPU, ScalarType.Float32);
    private readonly TempFolder _dir = new("flm-ownership-");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public void Batched_sampled_generation_with_penalties_logprobs_and_stops_leaves_no_tensor_to_the_finalizer(string name)
    {
        var fixture = FixtureModel.Get(name);
        var tokenizer = HfTokenizer.Load(fixture.Directory);
        int[][] prompts = [.. fixture.GreedyCases.Select(c => c.PromptIds).Take(2), [.. fixture.GreedyCases[0].PromptIds.Take(3)]];
        var sampling = new SamplingOptions
        {
            MaxTokens = 12, Temperature = 0.8, TopP = 0.9, TopK = 40, RepetitionPenalty = 1.2, TopLogprobs = 3, StopStrings = ["。"], Seed = 5,
        };

        IReadOnlyList<GenerationResult> results = [];
        long unowned = UnownedTensors.During(() =>
        {
            using var model = ModelLoader.Load(fixture.Directory, Cpu32);
            var generator = new TextGenerator(model, tokenizer);
            results = generator.GenerateBatch(prompts, sampling);
            generator.Generate(prompts[0], SamplingOptions.Greedy with { MaxTokens = 4 });
        });

        Assert.Equal(0, unowned);
        Assert.Equal(3, results.Count);
        Assert.All(results, r => Assert.NotEmpty(r.TokenIds));
    }

    [Fact]
    public void Injecting_saving_loading_and_merging_an_adapter_leaves_no_tensor_to_the_finalizer()
    {
        var fixture = FixtureModel.Get("tiny-qwen2");
        var config = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = [LoraConfig.AllLinear] };
        string adapter = Path.Combine(_dir, "adapter"), merged = Path.Combine(_dir, "merged");

        long unowned = UnownedTensors.During(() =>
        {
            using (var model = ModelLoader.Load(fixture.Directory, Cpu32))
            using (var generator = new Generator(11))
            {
                LoraInjector.Inject(model, config, generator);
                using (no_grad())
                using (var scope = NewDisposeScope())
                {
                    foreach (var factor in model.parameters().Where(p => p.requires_grad))
                        factor.normal_(0, 0.02, generator);
                }
                PeftAdapter.Save(model, config, adapter);
            }
            using (var reloaded = ModelLoader.Load(fixture.Directory, Cpu32))
                PeftAdapter.Load(reloaded, adapter);
            LoraMerger.Merge(fixture.Directory, adapter, merged);
        });

        Assert.Equal(0, unowned);
        Assert.True(File.Exists(Path.Combine(merged, "model.safetensors")));
    }

    [Fact]
    public void A_model_initialised_from_its_config_and_written_leaves_no_tensor_to_the_finalizer()
    {
        var fixture = FixtureModel.Get("tiny-llama");
        string written = Path.Combine(_dir, "initialised");

        long unowned = UnownedTensors.During(() =>
        {
            using var model = ModelLoader.Initialize(fixture.Directory, seed: 3, Cpu32);
            ModelFolder.CopyAllButWeights(fixture.Directory, written);
            SafetensorsWriter.WriteCheckpoint(written, model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
            using var reloaded = ModelLoader.Load(written, Cpu32);
        });

        Assert.Equal(0, unowned);
    }
}
