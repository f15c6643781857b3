using System.Text.Json.Nodes;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Tests.Tokenization;

public sealed class TokenizerLoadErrorTests
{
    [Fact]
    public void Missing_tokenizer_json_names_the_file()
    {
        var directory = Path.Combine(Path.GetTempPath(), "flm-missing-" + Guid.NewGuid().ToString("N"));

        var error = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(directory));

        Assert.Equal(Path.Combine(directory, "tokenizer.json"), error.FilePath);
        Assert.Contains("not found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Explicitly_named_config_that_is_missing_is_an_error()
    {
        using var variant = TokenizerJsonVariant.Create();
        var missing = Path.Combine(variant.Directory, "nope.json");

        var error = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(variant.TokenizerJsonPath, missing));

        Assert.Equal(missing, error.FilePath);
    }

    [Fact]
    public void Model_folder_without_config_loads_with_an_empty_config()
    {
        using var variant = TokenizerJsonVariant.Create();
        File.Delete(variant.ConfigPath);

        var tokenizer = HfTokenizer.Load(variant.Directory);

        Assert.Null(tokenizer.EosTokenId);
        Assert.Null(tokenizer.ChatTemplate);
        Assert.Equal([72, 101, 395, 111], tokenizer.Encode("Hello"));
    }

    [Fact]
    public void Broken_json_names_the_file_and_says_it_is_invalid_json()
    {
        using var variant = TokenizerJsonVariant.Create();
        File.WriteAllText(variant.TokenizerJsonPath, "{\"model\": {\"type\": \"BPE\",");

        var error = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(variant.Directory));

        Assert.Equal(variant.TokenizerJsonPath, error.FilePath);
        Assert.Contains("invalid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Broken_config_json_names_the_config_file()
    {
        using var variant = TokenizerJsonVariant.Create();
        File.WriteAllText(variant.ConfigPath, "not json");

        var error = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(variant.Directory));

        Assert.Equal(variant.ConfigPath, error.FilePath);
    }

    [Theory]
    [InlineData("Unigram")]
    [InlineData("WordPiece")]
    [InlineData("WordLevel")]
    public void Unsupported_model_type_is_refused_naming_it_and_what_is_supported(string type)
    {
        var error = LoadError(json => json["model"]!["type"] = type);

        Assert.Contains($"\"{type}\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("BPE", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_pre_tokenizer_is_refused() =>
        AssertRefused(json => json["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁" }, "Metaspace");

    [Fact]
    public void Unsupported_pre_tokenizer_inside_a_sequence_is_refused_with_its_position() =>
        AssertRefused(
            json => json["pre_tokenizer"]!["pretokenizers"]!.AsArray().Insert(0, new JsonObject { ["type"] = "Digits", ["individual_digits"] = true }),
            "pre_tokenizer.pretokenizers[0] of type \"Digits\"");

    [Fact]
    public void Split_behaviours_other_than_isolated_are_refused() =>
        AssertRefused(json => json["pre_tokenizer"]!["pretokenizers"]![0]!["behavior"] = "Removed", "\"Removed\"");

    [Fact]
    public void Pre_tokenizer_without_byte_level_is_refused() =>
        AssertRefused(json => json["pre_tokenizer"]!["pretokenizers"]!.AsArray().RemoveAt(1), "ByteLevel");

    [Fact]
    public void Unsupported_normalizer_is_refused() =>
        AssertRefused(json => json["normalizer"] = new JsonObject { ["type"] = "Lowercase" }, "\"Lowercase\"");

    [Fact]
    public void Unsupported_decoder_is_refused() =>
        AssertRefused(json => json["decoder"] = new JsonObject { ["type"] = "Metaspace" }, "decoder of type \"Metaspace\"");

    [Fact]
    public void Unsupported_post_processor_is_refused() =>
        AssertRefused(json => json["post_processor"] = new JsonObject { ["type"] = "RobertaProcessing" }, "\"RobertaProcessing\"");

    [Fact]
    public void Byte_fallback_with_a_byte_level_pre_tokenizer_is_refused() =>
        AssertRefused(json => json["model"]!["byte_fallback"] = true, "byte_fallback");

    [Fact]
    public void Merge_of_tokens_outside_the_vocabulary_is_refused() =>
        Assert.Contains("model.merges", LoadError(json => json["model"]!["merges"]!.AsArray().Add("zz qq")).Message, StringComparison.Ordinal);

    [Fact]
    public void Config_token_that_is_not_in_the_vocabulary_is_refused()
    {
        using var variant = TokenizerJsonVariant.Create(editConfig: config => config["eos_token"] = "<|nope|>");

        var error = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(variant.Directory));

        Assert.Equal(variant.ConfigPath, error.FilePath);
        Assert.Contains("eos_token \"<|nope|>\"", error.Message, StringComparison.Ordinal);
    }

    private static void AssertRefused(Action<JsonObject> edit, string expectedInMessage)
    {
        var error = LoadError(edit);

        Assert.Contains(expectedInMessage, error.Message, StringComparison.Ordinal);
        Assert.Contains("supported", error.Message, StringComparison.Ordinal);
    }

    private static TokenizerLoadException LoadError(Action<JsonObject> edit)
    {
        using var variant = TokenizerJsonVariant.Create(edit);
        var error = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(variant.Directory));
        Assert.Equal(variant.TokenizerJsonPath, error.FilePath);
        Assert.StartsWith(variant.TokenizerJsonPath, error.Message, StringComparison.Ordinal);
        return error;
    }
}
