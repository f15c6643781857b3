using System.Text.Json;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Gguf;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Modeling.Tests.Gguf;

/// <summary>
/// Real tokenizers written as GGUF vocabularies and tokenized by llama.cpp: its ids must be the fixtures' (from
/// transformers.js and llama.cpp's own conversion), which are also ours.
/// </summary>
public sealed class GgufVocabularyTests : IDisposable
{
    private readonly TempFolder _dir = new("flm-gguf-vocab-");

    public void Dispose() => _dir.Dispose();

    /// <summary>The 32,000-token Mistral vocabulary (SentencePiece-style BPE with byte fallback, legacy "▁" prefix).</summary>
    [Fact]
    public void A_sentencepiece_style_tokenizer_tokenizes_in_llama_cpp_as_in_transformers()
    {
        var (llama, cases) = Load("spm-bpe");
        using (llama)
        {
            foreach (var (text, ids) in cases)
                Assert.True(ids.SequenceEqual(llama.Tokenize(text)), $"'{text}': transformers.js {string.Join(' ', ids)}, llama.cpp {string.Join(' ', llama.Tokenize(text))}");
        }
    }

    /// <summary>The real Qwen3 tokenizer: byte-level BPE with the qwen2 pre-tokenizer, Chinese, emoji, special tokens.</summary>
    [Fact]
    public void Qwen3s_tokenizer_tokenizes_in_llama_cpp_as_in_transformers()
    {
        var (llama, cases) = Load("qwen3");
        using (llama)
        {
            foreach (var (text, ids) in cases)
                Assert.True(ids.SequenceEqual(llama.Tokenize(text)), $"'{text}': transformers.js {string.Join(' ', ids)}, llama.cpp {string.Join(' ', llama.Tokenize(text))}");
            Assert.Equal("qwen2", llama.Metadata["tokenizer.ggml.pre"]);
        }
    }

    private (LlamaCpp Llama, List<(string Text, int[] Ids)> Cases) Load(string name)
    {
        string dir = RepoPaths.Fixture("tokenizers", name), gguf = _dir.File(name + ".gguf");
        Assert.Empty(GgufExporter.ExportVocabulary(dir, gguf));
        var tokenizer = HfTokenizer.Load(dir);
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
        var cases = CasesOf(expected.RootElement);
        Assert.NotEmpty(cases);
        foreach (var (text, ids) in cases)
            Assert.Equal(ids, tokenizer.Encode(text));
        return (new LlamaCpp(gguf, vocabularyOnly: true), cases);
    }

    private static List<(string Text, int[] Ids)> CasesOf(JsonElement root)
    {
        var list = root.ValueKind == JsonValueKind.Array ? root : root.EnumerateObject().First(p => p.Value.ValueKind == JsonValueKind.Array).Value;
        return [.. list.EnumerateArray().Select(c => (c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray()))];
    }
}
