using System.Text.Json.Nodes;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>A copy of a tokenizer's files (tiny-qwen3's unless another folder is named) in a temporary folder, edited to exercise one feature.</summary>
internal sealed class TokenizerJsonVariant : IDisposable
{
    private TokenizerJsonVariant(string directory) => Directory = directory;

    public string Directory { get; }

    public string TokenizerJsonPath => Path.Combine(Directory, "tokenizer.json");

    public string ConfigPath => Path.Combine(Directory, "tokenizer_config.json");

    public static TokenizerJsonVariant Create(Action<JsonObject>? editTokenizer = null, Action<JsonObject>? editConfig = null,
        string? sourceDirectory = null)
    {
        var variant = new TokenizerJsonVariant(Path.Combine(Path.GetTempPath(), "flm-tokenizer-" + Guid.NewGuid().ToString("N")));
        System.IO.Directory.CreateDirectory(variant.Directory);
        var source = sourceDirectory ?? TokenizerFixtures.TinyModelDir("tiny-qwen3");
        variant.Write("tokenizer.json", Path.Combine(source, "tokenizer.json"), editTokenizer);
        variant.Write("tokenizer_config.json", Path.Combine(source, "tokenizer_config.json"), editConfig);
        return variant;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    private void Write(string name, string sourcePath, Action<JsonObject>? edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(sourcePath))!.AsObject();
        edit?.Invoke(json);
        File.WriteAllText(Path.Combine(Directory, name), json.ToJsonString());
    }
}
