using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Tests.Tokenization;

public sealed class Qwen3ReferenceTests(Qwen3TokenizerFixture fixture) : IClassFixture<Qwen3TokenizerFixture>
{
    private readonly HfTokenizer _tokenizer = fixture.Tokenizer;

    public static TheoryData<int> CaseIndexes() => [.. Enumerable.Range(0, TokenizerFixtures.Qwen3Cases().Count)];

    [Fact]
    public void Fixture_has_the_seventeen_reference_cases() => Assert.Equal(17, TokenizerFixtures.Qwen3Cases().Count);

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Encode_matches_reference_ids(int index)
    {
        var reference = TokenizerFixtures.Qwen3Cases()[index];

        Assert.Equal(reference.Ids, _tokenizer.Encode(reference.Text));
    }

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Decode_of_reference_ids_returns_the_text(int index)
    {
        var reference = TokenizerFixtures.Qwen3Cases()[index];

        Assert.Equal(reference.Text, _tokenizer.Decode(reference.Ids));
    }

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void CountTokens_equals_the_reference_length(int index)
    {
        var reference = TokenizerFixtures.Qwen3Cases()[index];

        Assert.Equal(reference.Ids.Length, _tokenizer.CountTokens(reference.Text));
    }

    [Fact]
    public void Qwen_adds_no_bos_even_when_special_tokens_are_requested() =>
        Assert.Equal(_tokenizer.Encode("Hello world"), _tokenizer.Encode("Hello world", addSpecialTokens: true));

    [Fact]
    public void Skipping_special_tokens_leaves_only_the_text()
    {
        var ids = _tokenizer.Encode("<|im_start|>user\nhi<|im_end|>");

        Assert.Equal("user\nhi", _tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Non_special_added_tokens_are_recognised_and_kept_when_skipping_special_tokens()
    {
        var ids = _tokenizer.Encode("<think>\nok\n</think>");

        Assert.Equal(_tokenizer.TokenToId("<think>"), ids[0]);
        Assert.Equal(_tokenizer.TokenToId("</think>"), ids[^1]);
        Assert.Equal("<think>\nok\n</think>", _tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Vocabulary_counts_model_tokens_plus_added_tokens()
    {
        Assert.Equal(151_643 + 26, _tokenizer.VocabSize);
        Assert.Equal("Ġworld", _tokenizer.IdToToken(1879));
        Assert.Equal(1879, _tokenizer.TokenToId("Ġworld"));
        Assert.Null(_tokenizer.IdToToken(151_935)); // an embedding padding row, not a token
    }

    [Fact]
    public void Ids_without_a_token_are_skipped_when_decoding() =>
        Assert.Equal("Hello", _tokenizer.Decode([9707, 151_935]));

    [Fact]
    public void Chat_template_comes_from_tokenizer_config() =>
        Assert.StartsWith("{%- if tools %}", _tokenizer.ChatTemplate, StringComparison.Ordinal);
}
