using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Tests.Tokenization;

public sealed class SpmBpeStreamingDecoderTests(SpmBpeTokenizerFixture fixture) : IClassFixture<SpmBpeTokenizerFixture>
{
    private readonly HfTokenizer _tokenizer = fixture.Tokenizer;

    public static TheoryData<int> CaseIndexes() => [.. Enumerable.Range(0, SentencePieceStyleReference.Named("fixture").Cases.Count)];

    [Fact]
    public void A_character_split_over_byte_fallback_tokens_is_held_back_until_its_last_byte()
    {
        int[] ids = [28705, 243, 162, 169, 156, 8814, 2786]; // "▁", <0xF0><0x9F><0xA6><0x99> (🦙), "▁ll", "ama"
        var decoder = new StreamingDecoder(_tokenizer);

        var pieces = ids.Select(decoder.Push).ToList();

        Assert.Equal(["", "", "", "", "🦙", " ll", "ama"], pieces);
        Assert.Equal("", decoder.Flush());
        Assert.Equal("🦙 llama", SentencePieceStyleReference.Named("fixture").Cases.Single(c => c.Text == "🦙 llama").Decoded);
    }

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Streamed_text_equals_the_reference_decoding_and_never_shows_a_byte_token(int index)
    {
        var reference = SentencePieceStyleReference.Named("fixture").Cases[index];

        foreach (var skip in new[] { false, true })
        {
            var decoder = new StreamingDecoder(_tokenizer, skipSpecialTokens: skip);
            var pieces = reference.Ids.Select(decoder.Push).Append(decoder.Flush()).ToList();

            Assert.All(pieces, piece => Assert.DoesNotContain("<0x", piece, StringComparison.Ordinal));
            Assert.All(pieces, piece => Assert.DoesNotContain('\uFFFD', piece));
            Assert.Equal(skip ? reference.DecodedSkippingSpecial : reference.Decoded, string.Concat(pieces));
        }
    }

    [Fact]
    public void The_space_before_the_first_word_is_stripped_once_and_again_after_reset()
    {
        var ids = _tokenizer.Encode("It shipped");
        var decoder = new StreamingDecoder(_tokenizer);

        Assert.Equal("It shipped", string.Concat(ids.Select(decoder.Push)) + decoder.Flush());
        decoder.Reset();
        Assert.Equal("It", decoder.Push(ids[0]));
    }
}
