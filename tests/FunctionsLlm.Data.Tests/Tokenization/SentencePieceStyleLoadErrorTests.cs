using System.Text.Json.Nodes;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>SentencePiece-style tokenizer.json parts this project does not reproduce are refused, naming the field.</summary>
public sealed class SentencePieceStyleLoadErrorTests
{
    [Fact]
    public void Byte_level_decoder_without_a_byte_level_pre_tokenizer_is_refused() =>
        AssertRefused(json => json["decoder"] = new JsonObject { ["type"] = "ByteLevel" }, "decoder of type \"ByteLevel\"");

    [Fact]
    public void Unknown_prepend_scheme_is_refused() =>
        AssertRefused(json => json["pre_tokenizer"] = Metaspace("sometimes"), "pre_tokenizer: Metaspace prepend_scheme \"sometimes\"");

    [Fact]
    public void Metaspace_replacement_must_be_one_character() =>
        AssertRefused(json =>
        {
            json["pre_tokenizer"] = Metaspace("always");
            json["pre_tokenizer"]!["replacement"] = "__";
        }, "pre_tokenizer: Metaspace needs a one-character \"replacement\"");

    [Fact]
    public void Regex_replace_normalizer_is_refused() =>
        AssertRefused(json => json["normalizer"]!["normalizers"]![1]!["pattern"] = new JsonObject { ["Regex"] = " +" },
            "normalizer.normalizers[1]: Replace is supported only with");

    [Fact]
    public void Strip_of_trailing_spaces_is_refused() =>
        AssertRefused(json => json["decoder"]!["decoders"]![3]!["stop"] = 1, "decoder.decoders[3] of type \"Strip\"");

    [Fact]
    public void Decoder_that_leaves_the_replacement_character_is_refused() =>
        AssertRefused(json => json["decoder"]!["decoders"]!.AsArray().RemoveAt(0), "decoder: turns no \"▁\" back into a space");

    [Fact]
    public void Unknown_token_outside_the_vocabulary_is_refused() =>
        AssertRefused(json => json["model"]!["unk_token"] = "<nope>", "model.unk_token \"<nope>\" is not in model.vocab");

    private static JsonObject Metaspace(string scheme) =>
        new() { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = scheme, ["split"] = false };

    private static void AssertRefused(Action<JsonObject> edit, string expectedInMessage)
    {
        using var variant = TokenizerJsonVariant.Create(edit, sourceDirectory: TokenizerFixtures.SpmBpeDir);

        var error = Assert.Throws<TokenizerLoadException>(() => HfTokenizer.Load(variant.Directory));

        Assert.Equal(variant.TokenizerJsonPath, error.FilePath);
        Assert.Contains(expectedInMessage, error.Message, StringComparison.Ordinal);
    }
}
