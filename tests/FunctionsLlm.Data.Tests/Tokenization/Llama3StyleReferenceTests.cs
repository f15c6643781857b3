using System.Text.Json;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>Ids from transformers.js for a Llama-3-style tokenizer (ignore_merges, BOS template); see Llama3Style/README.md.</summary>
public sealed class Llama3StyleReferenceTests
{
    private static readonly string s_directory =
        Path.Combine(RepoPaths.Root, "tests", "FunctionsLlm.Data.Tests", "Tokenization", "Llama3Style");

    private static readonly HfTokenizer s_tokenizer = HfTokenizer.Load(s_directory);

    public static TheoryData<int> CaseIndexes() => [.. Enumerable.Range(0, ReadCases().Count)];

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Encode_matches_transformers_js(int index)
    {
        var reference = ReadCases()[index];

        Assert.Equal(reference.Ids, s_tokenizer.Encode(reference.Text));
        Assert.Equal(reference.IdsWithSpecial, s_tokenizer.Encode(reference.Text, addSpecialTokens: true));
        Assert.Equal(reference.Text, s_tokenizer.Decode(reference.Ids));
    }

    [Fact]
    public void Bos_comes_from_the_config_and_matches_the_template()
    {
        Assert.Equal("<|begin_of_text|>", s_tokenizer.BosToken);
        Assert.Equal(514, s_tokenizer.BosTokenId);
    }

    private sealed record Case(string Text, int[] Ids, int[] IdsWithSpecial);

    private static List<Case> ReadCases()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_directory, "expected.json")));
        return document.RootElement.GetProperty("cases").EnumerateArray()
            .Select(entry => new Case(
                entry.GetProperty("text").GetString()!,
                Ids(entry.GetProperty("ids")),
                Ids(entry.GetProperty("ids_with_special"))))
            .ToList();

        static int[] Ids(JsonElement array) => array.EnumerateArray().Select(id => id.GetInt32()).ToArray();
    }
}
