using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>The spm-bpe fixture (Mistral-7B's SentencePiece-style tokenizer) against transformers.js and the Rust tokenizers.</summary>
public sealed class SpmBpeReferenceTests(SpmBpeTokenizerFixture fixture) : IClassFixture<SpmBpeTokenizerFixture>
{
    private readonly HfTokenizer _tokenizer = fixture.Tokenizer;

    public static TheoryData<int> CaseIndexes() => [.. Enumerable.Range(0, TokenizerFixtures.SpmBpeCases().Count)];

    public static TheoryData<int> RustCaseIndexes() =>
        [.. Enumerable.Range(0, SentencePieceStyleReference.Named("fixture").Cases.Count)];

    [Fact]
    public void Fixture_has_the_twelve_reference_cases() => Assert.Equal(12, TokenizerFixtures.SpmBpeCases().Count);

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Encode_matches_transformers_js(int index)
    {
        var reference = TokenizerFixtures.SpmBpeCases()[index];

        Assert.Equal(reference.Ids, _tokenizer.Encode(reference.Text));
        Assert.Equal(reference.Ids.Length, _tokenizer.CountTokens(reference.Text));
    }

    [Theory]
    [MemberData(nameof(RustCaseIndexes))]
    public void Encode_and_decode_match_the_tokenizers_library(int index)
    {
        var reference = SentencePieceStyleReference.Named("fixture").Cases[index];

        Assert.Equal(reference.Ids, _tokenizer.Encode(reference.Text));
        Assert.Equal(reference.IdsWithSpecial, _tokenizer.Encode(reference.Text, addSpecialTokens: true));
        Assert.Equal(reference.Decoded, _tokenizer.Decode(reference.Ids));
        Assert.Equal(reference.DecodedSkippingSpecial, _tokenizer.Decode(reference.Ids, skipSpecialTokens: true));
    }

    /// <summary>The fixture texts that the reference decoder gives back unchanged from their ids.</summary>
    public static TheoryData<int> RoundTripIndexes()
    {
        var decodedByRust = SentencePieceStyleReference.Named("fixture").Cases.ToDictionary(c => c.Text, c => c.Decoded);
        var cases = TokenizerFixtures.SpmBpeCases();
        return [.. Enumerable.Range(0, cases.Count).Where(i => decodedByRust[cases[i].Text] == cases[i].Text)];
    }

    [Fact]
    public void Only_the_text_with_a_special_token_does_not_round_trip_in_the_reference() =>
        // "<s>[INST]…" decodes to "<s> [INST]…": the "▁" the normalizer put after <s> stays a space.
        Assert.Equal(TokenizerFixtures.SpmBpeCases().Count - 1, RoundTripIndexes().Count);

    [Theory]
    [MemberData(nameof(RoundTripIndexes))]
    public void Text_comes_back_from_its_reference_ids(int index)
    {
        var reference = TokenizerFixtures.SpmBpeCases()[index];

        Assert.Equal(reference.Text, _tokenizer.Decode(reference.Ids));
        Assert.Equal(reference.Text, _tokenizer.Decode(_tokenizer.Encode(reference.Text)));
    }

    [Fact]
    public void Characters_outside_the_vocabulary_become_byte_tokens_and_decode_back()
    {
        var ids = _tokenizer.Encode("🦙");

        Assert.Equal([28705, 243, 162, 169, 156], ids); // "▁", then <0xF0><0x9F><0xA6><0x99>
        Assert.Equal("<0xF0>", _tokenizer.IdToToken(243));
        Assert.Equal("🦙", _tokenizer.Decode(ids));
        Assert.Equal([0xF0], _tokenizer.TokenBytes(243));
        Assert.Equal(" l"u8.ToArray(), _tokenizer.TokenBytes(_tokenizer.TokenToId("▁l")!.Value));
    }

    [Fact]
    public void Special_tokens_and_bos_come_from_the_files()
    {
        Assert.Equal(32_000, _tokenizer.VocabSize);
        Assert.Equal(1, _tokenizer.BosTokenId);
        Assert.Equal(2, _tokenizer.EosTokenId);
        Assert.Equal([1, 22557], _tokenizer.Encode("Hello", addSpecialTokens: true));
        Assert.Equal("Hello", _tokenizer.Decode([1, 22557, 2], skipSpecialTokens: true));
    }
}
