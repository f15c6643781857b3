using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Serving.Engine;
using static TorchSharp.torch;

namespace FunctionsLlm.Serving.Tests;

/// <summary>
/// The serving fixture (tiny-qwen3) stored in F32, three adapters for it that differ in rank, scaling and target
/// modules, and each adapter merged into it by <see cref="LoraMerger"/> (F32, so the merged model is W + ΔW exactly as
/// computed): the references multi-LoRA serving is checked against. Built once per test class.
/// </summary>
public sealed class AdapterModels : IDisposable
{
    private readonly TempFolder _root = new("flm-adapters-");

    public static readonly string[] Names = ["support", "billing", "returns"];

    private static readonly LoraConfig[] Configs =
    [
        new() { R = 2, LoraAlpha = 8, TargetModules = ["q_proj", "v_proj"] },
        new() { R = 8, LoraAlpha = 8, UseRsLora = true, TargetModules = [LoraConfig.AllLinear] },
        new() { R = 4, LoraAlpha = 4, TargetModules = ["o_proj", "down_proj"] },
    ];

    public AdapterModels()
    {
        BaseDirectory = _root.File("base");
        WriteF32Copy(TestModels.Directory(), BaseDirectory);
        for (int i = 0; i < Names.Length; i++)
        {
            RandomAdapter.Write(BaseDirectory, AdapterDirectory(Names[i]), Configs[i], seed: 40 + i, scale: 0.08);
            LoraMerger.Merge(BaseDirectory, AdapterDirectory(Names[i]), MergedDirectory(Names[i]));
        }
    }

    public string BaseDirectory { get; }

    public string AdapterDirectory(string name) => _root.File("adapters", name);

    public string MergedDirectory(string name) => _root.File("merged", name);

    /// <summary>An engine over the F32 base (served as <see cref="TestModels.Name"/>) with the adapters added (default: all three).</summary>
    public InferenceEngine Engine(EngineOptions options, params string[] adapters)
    {
        var engine = new InferenceEngine(ServedModel.Load(BaseDirectory, TestModels.Name, new ModelLoadOptions(CPU, ScalarType.Float32)), options);
        foreach (string name in adapters.Length == 0 ? Names : adapters)
            engine.AddAdapter(name, AdapterDirectory(name));
        return engine;
    }

    /// <summary>What the merged model of <paramref name="adapter"/> (the base for null) generates for the prompt alone.</summary>
    public GenerationResult Alone(string? adapter, IReadOnlyList<int> prompt, SamplingOptions options)
    {
        string directory = adapter is null ? BaseDirectory : MergedDirectory(adapter);
        using var model = ModelLoader.Load(directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        return new TextGenerator(model, HfTokenizer.Load(directory)).Generate(prompt, options);
    }

    private static void WriteF32Copy(string source, string destination)
    {
        using var model = ModelLoader.Load(source, new ModelLoadOptions(CPU, ScalarType.Float32));
        ModelFolder.CopyAllButWeights(source, destination);
        SafetensorsWriter.WriteCheckpoint(destination, model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
    }

    public void Dispose() => _root.Dispose();
}
