using System.Text.Json;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>Reference tokenizations from the shared fixtures (llama.cpp / transformers.js outputs).</summary>
internal static class TokenizerFixtures
{
    public static readonly string[] TinyModels = ["tiny-llama", "tiny-qwen2", "tiny-qwen3", "tiny-glm", "tiny-glm4"];

    public static string Qwen3Dir => RepoPaths.Fixture("tokenizers", "qwen3");

    /// <summary>The Mistral-7B SentencePiece-style BPE tokenizer (byte_fallback, "▁" spaces).</summary>
    public static string SpmBpeDir => RepoPaths.Fixture("tokenizers", "spm-bpe");

    public static string TinyModelDir(string model) => RepoPaths.Fixture("models", model);

    public sealed record Case(string Text, int[] Ids);

    public static IReadOnlyList<Case> Qwen3Cases() => ReadCases(Path.Combine(Qwen3Dir, "expected.json"), "cases");

    public static IReadOnlyList<Case> SpmBpeCases() => ReadCases(Path.Combine(SpmBpeDir, "expected.json"), "cases");

    public static IReadOnlyList<Case> TinyModelCases(string model) =>
        ReadCases(Path.Combine(TinyModelDir(model), "expected.json"), "tokenize");

    private static List<Case> ReadCases(string path, string property)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty(property).EnumerateArray()
            .Select(entry => new Case(
                entry.GetProperty("text").GetString()!,
                entry.GetProperty("ids").EnumerateArray().Select(id => id.GetInt32()).ToArray()))
            .ToList();
    }
}

/// <summary>The 11 MB Qwen3 tokenizer, loaded once for all tests that use it.</summary>
public sealed class Qwen3TokenizerFixture
{
    public HfTokenizer Tokenizer { get; } = HfTokenizer.Load(TokenizerFixtures.Qwen3Dir);
}

/// <summary>The 32,000-token SentencePiece-style tokenizer, loaded once for all tests that use it.</summary>
public sealed class SpmBpeTokenizerFixture
{
    public HfTokenizer Tokenizer { get; } = HfTokenizer.Load(TokenizerFixtures.SpmBpeDir);
}
