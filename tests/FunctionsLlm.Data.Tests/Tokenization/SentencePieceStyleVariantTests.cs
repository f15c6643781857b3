using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Tests.Tokenization;

/// <summary>
/// The Metaspace pre-tokenizer and decoder, and &lt;unk&gt; without byte fallback, on edited copies of the spm-bpe
/// fixture, against what Hugging Face's Rust tokenizers gives for the same edits.
/// </summary>
public sealed class SentencePieceStyleVariantTests
{
    public static TheoryData<string> VariantNames() => [.. SentencePieceStyleReference.Variants.Select(v => v.Name).Where(n => n != "fixture")];

    [Theory]
    [MemberData(nameof(VariantNames))]
    public void Ids_and_decoded_text_match_the_tokenizers_library(string name)
    {
        var variant = SentencePieceStyleReference.Named(name);
        using var files = TokenizerJsonVariant.Create(variant.Apply, sourceDirectory: TokenizerFixtures.SpmBpeDir);
        var tokenizer = HfTokenizer.Load(files.Directory);

        foreach (var reference in variant.Cases)
        {
            Assert.Equal(reference.Ids, tokenizer.Encode(reference.Text));
            Assert.Equal(reference.IdsWithSpecial, tokenizer.Encode(reference.Text, addSpecialTokens: true));
            Assert.Equal(DecodedBytesAsText(reference.Decoded, reference), tokenizer.Decode(reference.Ids));
            Assert.Equal(DecodedBytesAsText(reference.DecodedSkippingSpecial, reference), tokenizer.Decode(reference.Ids, skipSpecialTokens: true));
        }
    }

    /// <summary>
    /// A decoder without ByteFallback shows byte tokens as "&lt;0xF0&gt;"; this project always decodes them to bytes,
    /// which is what the reference gives with ByteFallback (the unedited fixture's decoder) when the ids are the same.
    /// </summary>
    private static string DecodedBytesAsText(string decoded, SentencePieceStyleReference.Case reference)
    {
        if (!decoded.Contains("<0x", StringComparison.Ordinal))
            return decoded;
        var withByteFallback = SentencePieceStyleReference.Named("metaspace-first-split").Cases.Single(c => c.Text == reference.Text);
        Assert.Equal(withByteFallback.Ids, reference.Ids);
        return decoded == reference.Decoded ? withByteFallback.Decoded : withByteFallback.DecodedSkippingSpecial;
    }
}
