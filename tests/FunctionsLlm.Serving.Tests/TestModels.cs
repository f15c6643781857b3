using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using FunctionsLlm.Serving.Engine;
using static TorchSharp.torch;

namespace FunctionsLlm.Serving.Tests;

/// <summary>Fixture models loaded for serving (fp32 on CPU), and sequential reference answers to compare with.</summary>
internal static class TestModels
{
    public const string Name = "tiny-qwen3";

    public static string Directory(string name = Name) => RepoPaths.Fixture("models", name);

    public static ServedModel Load(string name = Name) => ServedModel.Load(Directory(name), name, new ModelLoadOptions(CPU, ScalarType.Float32));

    public static InferenceEngine Engine(EngineOptions? options = null, string name = Name) => new(Load(name), options);

    /// <summary>
    /// The fixture with max_position_embeddings raised to 4096 (same weights) in a temporary folder: a request can then
    /// run for seconds, long enough to hold a row while a test checks the limits. The caller disposes it (the folder goes).
    /// </summary>
    public static TempFolder LongContextCopy()
    {
        var dir = new TempFolder("flm-long-context-");
        foreach (var file in System.IO.Directory.GetFiles(Directory()))
            File.Copy(file, dir.File(Path.GetFileName(file)));
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(dir.File("config.json")))!;
        config["max_position_embeddings"] = 4096;
        File.WriteAllText(dir.File("config.json"), config.ToJsonString());
        return dir;
    }

    /// <summary>What <c>flm generate</c> computes: one request alone, on its own loaded model.</summary>
    public static GenerationResult Alone(IReadOnlyList<int> prompt, SamplingOptions options, string name = Name)
    {
        using var model = ModelLoader.Load(Directory(name), new ModelLoadOptions(CPU, ScalarType.Float32));
        return new TextGenerator(model, HfTokenizer.Load(Directory(name))).Generate(prompt, options);
    }

    /// <summary>Distinct prompts of different lengths drawn from the vocabulary.</summary>
    public static int[][] Prompts(int count) =>
        [.. Enumerable.Range(0, count).Select(i => Enumerable.Range(0, 3 + (i * 5 % 17)).Select(j => 20 + ((i * 37) + (j * 11)) % 480).ToArray())];
}
