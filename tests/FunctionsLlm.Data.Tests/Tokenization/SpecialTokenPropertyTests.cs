using System.Text.Json;
using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Tests;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>BOS/EOS/PAD as the fixture files declare them, read here independently of the loader.</summary>
public sealed class SpecialTokenPropertyTests
{
    public static TheoryData<string> FixtureDirs() =>
    [
        TokenizerFixtures.Qwen3Dir,
        .. TokenizerFixtures.TinyModels.Select(TokenizerFixtures.TinyModelDir),
    ];

    [Theory]
    [MemberData(nameof(FixtureDirs))]
    public void Bos_eos_pad_match_the_config_and_the_added_tokens(string directory)
    {
        var config = ReadJson(Path.Combine(directory, "tokenizer_config.json"));
        var addedTokenIds = ReadJson(Path.Combine(directory, "tokenizer.json")).GetProperty("added_tokens").EnumerateArray()
            .ToDictionary(token => token.GetProperty("content").GetString()!, token => token.GetProperty("id").GetInt32());

        var tokenizer = HfTokenizer.Load(directory);

        AssertToken(config, "bos_token", tokenizer.BosToken, tokenizer.BosTokenId);
        AssertToken(config, "eos_token", tokenizer.EosToken, tokenizer.EosTokenId);
        AssertToken(config, "pad_token", tokenizer.PadToken, tokenizer.PadTokenId);

        void AssertToken(JsonElement configJson, string field, string? token, int? id)
        {
            var expected = configJson.GetProperty(field);
            if (expected.ValueKind == JsonValueKind.Null)
            {
                Assert.Null(token);
                Assert.Null(id);
                return;
            }

            Assert.Equal(expected.GetString(), token);
            Assert.Equal(addedTokenIds[token!], id);
            Assert.Equal(token, tokenizer.IdToToken(id!.Value));
            Assert.Equal(id, tokenizer.TokenToId(token!));
            Assert.Equal(id, tokenizer.SpecialTokens[token!]);
        }
    }

    [Fact]
    public void Qwen3_values_are_the_known_ones()
    {
        var tokenizer = HfTokenizer.Load(TokenizerFixtures.Qwen3Dir);

        Assert.Null(tokenizer.BosTokenId);
        Assert.Equal(("<|im_end|>", 151_645), (tokenizer.EosToken, tokenizer.EosTokenId));
        Assert.Equal(("<|endoftext|>", 151_643), (tokenizer.PadToken, tokenizer.PadTokenId));
        Assert.Equal(14, tokenizer.SpecialTokens.Count);
        Assert.Equal(131_072, tokenizer.Config.ModelMaxLength);
        Assert.Equal("Qwen2Tokenizer", tokenizer.Config.TokenizerClass);
        Assert.Contains("<|im_start|>", tokenizer.Config.AdditionalSpecialTokens!);
    }

    [Fact]
    public void Tiny_model_special_tokens_agree_with_config_json()
    {
        foreach (var model in TokenizerFixtures.TinyModels)
        {
            var modelConfig = ReadJson(RepoPaths.Fixture("models", model, "config.json"));
            var tokenizer = HfTokenizer.Load(TokenizerFixtures.TinyModelDir(model));

            if (modelConfig.TryGetProperty("eos_token_id", out var eos) && eos.ValueKind == JsonValueKind.Number)
                Assert.Equal(eos.GetInt32(), tokenizer.EosTokenId);
            Assert.True(tokenizer.VocabSize <= modelConfig.GetProperty("vocab_size").GetInt32());
        }
    }

    private static JsonElement ReadJson(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.Clone();
    }
}
