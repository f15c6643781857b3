using System.Text.Json.Nodes;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Decoder;

/// <summary>mistral = llama weights and layout plus an optional sliding attention window.</summary>
public sealed class MistralWindowTests : IDisposable
{
    private static readonly ModelLoadOptions Cpu32 = new(CPU, ScalarType.Float32);
    private readonly TempFolder _dir = new("flm-mistral-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Without_a_window_mistral_reproduces_llama_cpps_llama_logits()
    {
        var fixture = FixtureModel.Get("tiny-llama");
        using var model = ModelLoader.Load(AsMistral(slidingWindow: null), Cpu32);
        var (ids, name) = fixture.LogitCases[2];
        using var noGrad = no_grad();
        using var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
        using var logits = model.Forward(input);
        using var expected = SafetensorsFile.Open(fixture.ExpectedLogitsPath);
        using var reference = expected.Read(name);
        TensorAssert.Close(reference, logits.squeeze(0), fixture.Tolerance, "mistral as llama");
    }

    [Fact]
    public void With_a_window_tokens_beyond_the_receptive_field_have_no_influence_and_the_cache_agrees()
    {
        const int window = 4, layers = 2, positions = 24;
        using var model = ModelLoader.Load(AsMistral(window), Cpu32);
        long[] ids = [.. Enumerable.Range(0, positions).Select(i => (long)((i * 53 + 7) % 500))];
        long[] changedEarly = [.. ids];
        changedEarly[2] = 400;   // reaches at most layers × (window − 1) = 6 positions further: up to position 8
        using var noGrad = no_grad();
        using var input = tensor(ids, [1, positions]);
        using var changedInput = tensor(changedEarly, [1, positions]);
        using var logits = model.Forward(input);
        using var changed = model.Forward(changedInput);

        TensorAssert.Equal(logits.narrow(1, 9, positions - 9), changed.narrow(1, 9, positions - 9), "beyond the receptive field");
        using (var near = logits.narrow(1, 2, 7))
        using (var changedNear = changed.narrow(1, 2, 7))
            Assert.True(TensorAssert.MaxDifference(near, changedNear) > 1e-4, "inside the receptive field the change must show");

        using var cache = model.CreateCache(1, positions);
        var pieces = new List<Tensor> { model.Forward(input.narrow(1, 0, 3), cache) };
        for (int i = 3; i < positions; i++)
            pieces.Add(model.Forward(input.narrow(1, i, 1), cache));
        using var stepwise = cat(pieces, 1);
        TensorAssert.Close(logits, stepwise, 1e-4, "cached decode with a window");
        pieces.ForEach(p => p.Dispose());
        Assert.Equal(layers, model.Config.NumHiddenLayers);
    }

    private string AsMistral(int? slidingWindow)
    {
        string source = FixtureModel.Get("tiny-llama").Directory;
        foreach (string file in Directory.GetFiles(source))
            File.Copy(file, Path.Combine(_dir, Path.GetFileName(file)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        config["model_type"] = "mistral";
        config["architectures"] = new JsonArray("MistralForCausalLM");
        config["sliding_window"] = slidingWindow;
        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJsonString());
        return _dir;
    }
}
