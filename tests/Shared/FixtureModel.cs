using System.Text.Json;

namespace FunctionsLlm.Tests;

/// <summary>A tiny model of ../shared/fixtures/models and what llama.cpp computed for it (expected.json).</summary>
internal sealed class FixtureModel
{
    public static readonly string[] Names = ["tiny-llama", "tiny-qwen2", "tiny-qwen3", "tiny-glm", "tiny-glm4"];

    public static TheoryData<string> All => new(Names);

    private FixtureModel(string name)
    {
        Name = name;
        Directory = RepoPaths.Fixture("models", name);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "expected.json")));
        var root = json.RootElement;
        Tolerance = root.GetProperty("tolerance").GetProperty("max_abs").GetSingle();
        LogitCases = [.. root.GetProperty("logits").EnumerateArray()
            .Select(c => (Ids(c.GetProperty("input_ids")), c.GetProperty("tensor").GetString()!))];
        GreedyCases = [.. root.GetProperty("greedy").EnumerateArray()
            .Select(c => (Ids(c.GetProperty("prompt_ids")), Ids(c.GetProperty("greedy_ids"))))];
    }

    public string Name { get; }

    public string Directory { get; }

    public float Tolerance { get; }

    /// <summary>Input ids and the name of their (tokens, vocab) logits in expected_logits.safetensors.</summary>
    public IReadOnlyList<(int[] InputIds, string Tensor)> LogitCases { get; }

    public IReadOnlyList<(int[] PromptIds, int[] GreedyIds)> GreedyCases { get; }

    public string ExpectedLogitsPath => Path.Combine(Directory, "expected_logits.safetensors");

    public static FixtureModel Get(string name) => new(name);

    /// <summary>Copies the model's files into <paramref name="folder"/> (created if need be), for a test that edits a copy; returns the folder.</summary>
    public string CopyTo(string folder)
    {
        System.IO.Directory.CreateDirectory(folder);
        foreach (string file in System.IO.Directory.EnumerateFiles(Directory))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        return folder;
    }

    private static int[] Ids(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];
}
