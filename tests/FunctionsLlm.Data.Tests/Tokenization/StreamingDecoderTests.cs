using System.Text;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Tests.Tokenization;

public sealed class StreamingDecoderTests(Qwen3TokenizerFixture fixture) : IClassFixture<Qwen3TokenizerFixture>
{
    private readonly HfTokenizer _tokenizer = fixture.Tokenizer;

    public static TheoryData<string> MultiByteTexts()
    {
        var texts = TokenizerFixtures.Qwen3Cases().Select(c => c.Text).Where(text => text.Any(c => c > 0x7F));
        var tiny = TokenizerFixtures.TinyModelCases("tiny-qwen3").Select(c => c.Text).Where(text => text.Any(c => c > 0x7F));
        return [.. texts, .. tiny.Select(text => "tiny:" + text)];
    }

    [Theory]
    [MemberData(nameof(MultiByteTexts))]
    public void Token_by_token_output_never_breaks_a_character(string text)
    {
        var tokenizer = _tokenizer;
        if (text.StartsWith("tiny:", StringComparison.Ordinal))
        {
            // The tiny vocabulary is mostly single bytes, so nearly every character spans several tokens.
            tokenizer = HfTokenizer.Load(TokenizerFixtures.TinyModelDir("tiny-qwen3"));
            text = text["tiny:".Length..];
        }

        var decoder = new StreamingDecoder(tokenizer);
        var output = new StringBuilder();
        foreach (var id in tokenizer.Encode(text))
        {
            var piece = decoder.Push(id);
            Assert.DoesNotContain('\uFFFD', piece);
            output.Append(piece);
        }

        output.Append(decoder.Flush());
        Assert.Equal(text, output.ToString());
    }

    [Fact]
    public void Single_token_decode_splits_an_emoji_but_the_stream_holds_it_back()
    {
        var tiny = HfTokenizer.Load(TokenizerFixtures.TinyModelDir("tiny-qwen3"));
        var ids = tiny.Encode("😀");
        Assert.True(ids.Count > 1);

        var decoder = new StreamingDecoder(tiny);
        var pieces = ids.Select(decoder.Push).ToList();

        Assert.All(pieces.Take(pieces.Count - 1), piece => Assert.Equal("", piece));
        Assert.Equal("😀", pieces[^1]);
        Assert.Contains('\uFFFD', tiny.Decode([ids[0]]));
    }

    [Fact]
    public void Flush_turns_an_unfinished_character_into_a_replacement_character()
    {
        var tiny = HfTokenizer.Load(TokenizerFixtures.TinyModelDir("tiny-qwen3"));
        var decoder = new StreamingDecoder(tiny);

        Assert.Equal("", decoder.Push(tiny.Encode("😀")[0]));
        Assert.Equal("\uFFFD", decoder.Flush());
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void Added_tokens_are_inserted_as_written_and_end_a_pending_character_like_decode()
    {
        var tiny = HfTokenizer.Load(TokenizerFixtures.TinyModelDir("tiny-qwen3"));
        var emoji = tiny.Encode("😀");
        int[] ids = [emoji[0], 511, .. emoji, 510];
        var decoder = new StreamingDecoder(tiny);

        var streamed = string.Concat(ids.Select(decoder.Push)) + decoder.Flush();

        Assert.Equal("\uFFFD<|im_end|>😀<|im_start|>", streamed);
        Assert.Equal(tiny.Decode(ids), streamed);
    }

    [Fact]
    public void Special_tokens_can_be_skipped()
    {
        var decoder = new StreamingDecoder(_tokenizer, skipSpecialTokens: true);
        var text = string.Concat(_tokenizer.Encode("<|im_start|>assistant\nHi<|im_end|>").Select(decoder.Push)) + decoder.Flush();

        Assert.Equal("assistant\nHi", text);
    }
}
