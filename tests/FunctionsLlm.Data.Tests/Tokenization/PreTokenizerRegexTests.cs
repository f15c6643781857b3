using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Tests.Tokenization;

public sealed class PreTokenizerRegexTests
{
    private const string QwenPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    [Theory]
    [InlineData("a?+b", "(?>a?)b")]
    [InlineData(@"[^\s\p{L}]++x", @"(?>[^\s\p{L}]+)x")]
    [InlineData(@"\p{L}*+", @"(?>\p{L}*)")]
    [InlineData("(ab)++c", "(?>(ab)+)c")]
    [InlineData(@"\p{N}{1,3}", @"\p{N}{1,3}")]
    [InlineData(@"a+?b", @"a+?b")]
    public void Possessive_quantifiers_become_atomic_groups(string oniguruma, string dotNet) =>
        Assert.Equal(dotNet, PreTokenizerRegex.Translate(oniguruma));

    [Fact]
    public void Case_insensitive_s_also_matches_long_s_as_unicode_case_folding_does() =>
        Assert.Equal(["it", "'ſ", "t"], Split(QwenPattern, "it'ſt"));

    [Fact]
    public void Supplementary_plane_letters_and_digits_are_matched_by_their_category()
    {
        // U+20000 is a letter (CJK Ext. B), U+1D7D8/U+1D7D9 are digits: Oniguruma sees code points, not surrogates.
        Assert.Equal(["𠀀abc", " ", "𝟘", "𝟙", " 😀👍🏽"], Split(QwenPattern, "𠀀abc 𝟘𝟙 😀👍🏽"));
    }

    [Fact]
    public void Qwen_pattern_keeps_whitespace_runs_like_the_reference()
    {
        Assert.Equal([" ", " leading", " spaces", "   "], Split(QwenPattern, "  leading spaces   "));
        Assert.Equal(["line", "1", "\n\n\n"], Split(QwenPattern, "line1\n\n\n"));
    }

    [Fact]
    public void Gpt2_pattern_splits_like_gpt2() =>
        Assert.Equal(["Hello", " world", "'s", "  ", " 123", "abc"], Split(PreTokenizerRegex.Gpt2Pattern, "Hello world's   123abc"));

    private static List<string> Split(string pattern, string text)
    {
        var pieces = new List<string>();
        new PreTokenizerRegex(pattern).SplitIsolated(text, pieces);
        return pieces;
    }
}
