using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Checkpoints;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Modeling.Lora;
using FunctionsLlm.Serving.Engine;
using FunctionsLlm.Training.Jobs;
using static TorchSharp.torch;

namespace FunctionsLlm.Serving.Tests;

/// <summary>
/// The serving fixture (tiny-qwen3) stored in F32, three adapters trained on it (<see cref="TrainJob"/>, each on its own
/// made-up task, with different ranks, scalings and target modules), and each adapter merged into it by
/// <see cref="LoraMerger"/> (F32, so the merged model is W + ΔW exactly as computed): the references multi-LoRA serving
/// is checked against. Built once per test class.
/// </summary>
public sealed class AdapterModels : IDisposable
{
    private readonly TempFolder _root = new("flm-adapters-");
    private readonly Dictionary<string, string> _adapters = [];

    public static readonly string[] Names = ["support", "billing", "returns"];

    private static readonly Hyperparameters[] Settings =
    [
        new() { LoraR = 2, LoraAlpha = 8, TargetModules = ["q_proj", "v_proj"] },
        new() { LoraR = 8, LoraAlpha = 8, UseRsLora = true, TargetModules = [LoraConfig.AllLinear] },
        new() { LoraR = 4, LoraAlpha = 4, TargetModules = ["o_proj", "down_proj"] },
    ];

    public AdapterModels()
    {
        BaseDirectory = _root.File("base");
        WriteF32Copy(TestModels.Directory(), BaseDirectory);
        for (int i = 0; i < Names.Length; i++)
        {
            string data = _root.File($"task-{i}.jsonl");
            File.WriteAllLines(data, TaskRecords(i));
            var trained = TrainJob.Run(Settings[i] with
            {
                LoraDropout = 0, LearningRate = 0.02, MaxSteps = 24, BatchSize = 4, GradientAccumulation = 1, WarmupSteps = 0,
                LoggingSteps = 24, EvalSteps = 1000, SaveSteps = 1000, Seed = 7 + i,
            }, BaseDirectory, data, null, _root.File("runs", Names[i]));
            _adapters[Names[i]] = trained.OutputDir;
            LoraMerger.Merge(BaseDirectory, AdapterDirectory(Names[i]), MergedDirectory(Names[i]));
        }
    }

    public string BaseDirectory { get; }

    public string AdapterDirectory(string name) => _adapters[name];

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

    /// <summary>Adapter i's made-up task: after a few ids, continue with the sequence that steps by 3 + 2i (labels on the continuation).</summary>
    private static IEnumerable<string> TaskRecords(int i) => Enumerable.Range(0, 32).Select(record =>
    {
        int[] prompt = [.. Enumerable.Range(0, 4).Select(j => 20 + ((record * 13) + (j * 7)) % 400)];
        int[] answer = [.. Enumerable.Range(1, 12).Select(j => (prompt[^1] + (j * (3 + (2 * i)))) % 500)];
        int[] labels = [.. prompt.Select(_ => -100), .. answer];
        return $"{{\"input_ids\": [{string.Join(",", [.. prompt, .. answer])}], \"labels\": [{string.Join(",", labels)}]}}";
    });

    private static void WriteF32Copy(string source, string destination)
    {
        using var model = ModelLoader.Load(source, new ModelLoadOptions(CPU, ScalarType.Float32));
        ModelFolder.CopyAllButWeights(source, destination);
        SafetensorsWriter.WriteCheckpoint(destination, model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
    }

    public void Dispose() => _root.Dispose();
}
