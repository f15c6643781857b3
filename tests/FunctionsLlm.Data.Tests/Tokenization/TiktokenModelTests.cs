using System.Text;
using System.Text.Json;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>A folder with a tiktoken tokenizer.model (glm-4-9b-chat's format) against js-tiktoken (see TiktokenModel/README.md).</summary>
public sealed class TiktokenModelTests
{
    private static readonly HfTokenizer s_tokenizer = TiktokenModelReference.Tokenizer;

    public static TheoryData<int> CaseIndexes() => TiktokenModelReference.CaseIndexes();

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Encoding_and_decoding_match_js_tiktoken(int index)
    {
        var reference = TiktokenModelReference.Cases[index];

        Assert.Equal(reference.Ids, s_tokenizer.Encode(reference.Text));
        Assert.Equal(reference.Decoded, s_tokenizer.Decode(reference.Ids));
        Assert.Equal(reference.DecodedSkippingSpecial, s_tokenizer.Decode(reference.Ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Bytes_that_break_utf8_decode_to_replacement_characters_like_js_tiktoken()
    {
        foreach (var reference in TiktokenModelReference.DecodeCases)
            Assert.Equal(reference.Decoded, s_tokenizer.Decode(reference.Ids));
    }

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Token_bytes_spell_the_text_and_their_count_is_the_byte_length(int index)
    {
        var reference = TiktokenModelReference.Cases[index];

        Assert.Equal(Encoding.UTF8.GetBytes(reference.Text), reference.Ids.SelectMany(s_tokenizer.TokenBytes).ToArray());
        Assert.All(reference.Ids, id => Assert.Equal(s_tokenizer.TokenBytes(id).Length, s_tokenizer.TokenByteLength(id)));
    }

    [Fact]
    public void Special_tokens_follow_the_vocabulary_and_gmask_sop_start_an_encoding_with_special_tokens()
    {
        var ranks = File.ReadAllLines(Path.Combine(TiktokenModelReference.Directory, "tokenizer.model")).Length;

        Assert.Equal(ranks + 14, s_tokenizer.VocabSize);
        Assert.Equal(14, s_tokenizer.SpecialTokens.Count);
        Assert.Equal(ranks, s_tokenizer.EosTokenId);
        Assert.Equal(ranks, s_tokenizer.PadTokenId);
        Assert.Equal(ranks + 7, s_tokenizer.TokenToId("<|user|>"));
        Assert.Equal([ranks + 2, ranks + 4, .. s_tokenizer.Encode("Hello")], s_tokenizer.Encode("Hello", addSpecialTokens: true));
        Assert.StartsWith("[gMASK]<sop>", s_tokenizer.ChatTemplate, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokens_from_tiny_glm_are_spelled_as_its_tokenizer_json_spells_them()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizerFixtures.TinyModelDir("tiny-glm"), "tokenizer.json")));
        var vocab = document.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject().ToList();

        Assert.Equal(502, vocab.Count);
        Assert.All(vocab, entry => Assert.Equal(entry.Name, s_tokenizer.IdToToken(entry.Value.GetInt32())));
    }

    [Fact]
    public void The_pre_tokenizer_pattern_is_the_one_the_reference_was_made_with() =>
        Assert.Equal(TiktokenModelFile.GlmPattern, TiktokenModelReference.PatStr);
}
