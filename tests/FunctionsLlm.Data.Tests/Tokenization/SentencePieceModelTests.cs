using System.Text.Json;
using System.Text.Json.Nodes;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>A folder with tokenizer.model and no tokenizer.json, against SentencePiece itself (see SentencePieceModel/README.md).</summary>
public sealed class SentencePieceModelTests
{
    private static readonly string s_directory =
        Path.Combine(RepoPaths.Root, "tests", "FunctionsLlm.Data.Tests", "Tokenization", "SentencePieceModel");

    private static readonly HfTokenizer s_tokenizer = HfTokenizer.Load(s_directory);

    public static TheoryData<int> CaseIndexes() => [.. Enumerable.Range(0, ReadCases().Count)];

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Legacy_encoding_and_decoding_match_sentencepiece(int index)
    {
        var reference = ReadCases()[index];

        Assert.Equal(reference.Ids, s_tokenizer.Encode(reference.Text));
        Assert.Equal(reference.Decoded, s_tokenizer.Decode(reference.Ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Legacy_false_puts_the_prefix_only_before_the_start_of_the_text()
    {
        using var folder = CopyWithConfig(config => config["legacy"] = false);
        var tokenizer = HfTokenizer.Load(folder.Directory);

        foreach (var reference in ReadCases())
            Assert.Equal(reference.IdsLegacyFalse, tokenizer.Encode(reference.Text));
        Assert.Contains(ReadCases(), c => !c.IdsLegacyFalse.SequenceEqual(c.Ids));
    }

    [Fact]
    public void Bos_and_eos_come_from_the_model_and_the_config()
    {
        Assert.Equal(32_000, s_tokenizer.VocabSize);
        Assert.Equal(1, s_tokenizer.BosTokenId);
        Assert.Equal(2, s_tokenizer.EosTokenId);
        Assert.Equal([1, .. s_tokenizer.Encode("Hello")], s_tokenizer.Encode("Hello", addSpecialTokens: true));
        Assert.StartsWith("{% if messages[0]['role'] == 'system' %}", s_tokenizer.ChatTemplate, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokenizer_json_wins_over_tokenizer_model()
    {
        using var folder = CopyWithConfig(_ => { });
        File.WriteAllText(Path.Combine(folder.Directory, "tokenizer.model"), "not a model");
        File.Copy(Path.Combine(TokenizerFixtures.SpmBpeDir, "tokenizer.json"), Path.Combine(folder.Directory, "tokenizer.json"));

        Assert.Equal(ReadCases()[0].Ids, HfTokenizer.Load(folder.Directory).Encode(ReadCases()[0].Text));
    }

    [Fact]
    public void A_file_that_is_no_sentencepiece_model_names_the_file()
    {
        using var folder = CopyWithConfig(_ => { });
        var model = Path.Combine(folder.Directory, "tokenizer.model");
        File.WriteAllBytes(model, [0xff, 0xff, 0xff]);

        var error = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(folder.Directory));

        Assert.Equal(model, error.FilePath);
        Assert.Contains("SentencePiece model", error.Message, StringComparison.Ordinal);
    }

    private sealed record Case(string Text, int[] Ids, string Decoded, int[] IdsLegacyFalse);

    private static List<Case> ReadCases()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_directory, "expected.json")));
        return document.RootElement.GetProperty("cases").EnumerateArray()
            .Select(entry => new Case(
                entry.GetProperty("text").GetString()!,
                Ids(entry.GetProperty("ids")),
                entry.GetProperty("decoded").GetString()!,
                Ids(entry.GetProperty("ids_legacy_false"))))
            .ToList();

        static int[] Ids(JsonElement array) => array.EnumerateArray().Select(id => id.GetInt32()).ToArray();
    }

    private static TempModelFolder CopyWithConfig(Action<JsonObject> editConfig)
    {
        var folder = new TempModelFolder(Path.Combine(Path.GetTempPath(), "flm-spm-model-" + Guid.NewGuid().ToString("N")));
        Directory.CreateDirectory(folder.Directory);
        File.Copy(Path.Combine(s_directory, "tokenizer.model"), Path.Combine(folder.Directory, "tokenizer.model"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(s_directory, "tokenizer_config.json")))!.AsObject();
        editConfig(config);
        File.WriteAllText(Path.Combine(folder.Directory, "tokenizer_config.json"), config.ToJsonString());
        return folder;
    }

    private sealed record TempModelFolder(string Directory) : IDisposable
    {
        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
    }
}
