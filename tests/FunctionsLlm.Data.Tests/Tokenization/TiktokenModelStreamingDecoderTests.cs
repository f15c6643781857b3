using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Tests.Tokenization;

public sealed class TiktokenModelStreamingDecoderTests
{
    private static readonly HfTokenizer s_tokenizer = TiktokenModelReference.Tokenizer;

    public static TheoryData<int> CaseIndexes() => TiktokenModelReference.CaseIndexes();

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Streamed_text_equals_the_js_tiktoken_decoding_and_never_shows_a_broken_character(int index)
    {
        var reference = TiktokenModelReference.Cases[index];

        foreach (var skip in new[] { false, true })
        {
            var decoder = new StreamingDecoder(s_tokenizer, skipSpecialTokens: skip);
            var pieces = reference.Ids.Select(decoder.Push).Append(decoder.Flush()).ToList();

            Assert.All(pieces, piece => Assert.DoesNotContain('\uFFFD', piece));
            Assert.Equal(skip ? reference.DecodedSkippingSpecial : reference.Decoded, string.Concat(pieces));
        }
    }

    [Fact]
    public void An_emoji_spread_over_byte_tokens_comes_out_with_its_last_byte()
    {
        var reference = TiktokenModelReference.Cases.Single(c => c.Text.StartsWith("emoji ", StringComparison.Ordinal));
        var ids = reference.Ids.Take(9).ToArray();
        var decoder = new StreamingDecoder(s_tokenizer);

        var pieces = ids.Select(decoder.Push).ToList();

        Assert.Equal([0xF0, 0x9F], s_tokenizer.TokenBytes(ids[6]));
        Assert.Equal([145, 141], ids[7..]); // "emoji ", then 👍 as the token F0 9F and the bytes 91 8D
        Assert.Equal(["e", "m", "o", "j", "i", " ", "", "", "👍"], pieces);
    }
}
