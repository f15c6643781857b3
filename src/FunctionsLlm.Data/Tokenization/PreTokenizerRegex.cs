using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// A Split pre-tokenizer pattern written for Oniguruma (what Hugging Face tokenizers uses), run with .NET regex
/// so that it finds the same pieces.
/// </summary>
/// <remarks>
/// Two differences need care. Syntax: possessive quantifiers (<c>?+ *+ ++</c>) become atomic groups, and inside
/// <c>(?i:…)</c> a literal <c>s</c> also matches 'ſ' (U+017F), which Unicode case folding maps to 's' but .NET does not.
/// Semantics: .NET matches UTF-16 code units, so a supplementary-plane letter is two surrogates that are not
/// <c>\p{L}</c>. When the text has surrogate pairs, the pattern runs on a stand-in string with one character
/// per code point, each pair replaced by a BMP character of the same Unicode category, and the matches are mapped back.
/// </remarks>
internal sealed class PreTokenizerRegex
{
    /// <summary>The pattern of the GPT-2 ByteLevel pre-tokenizer (<c>use_regex: true</c>).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly char[] s_categoryStandIns = BuildCategoryStandIns();

    private readonly Regex _regex;

    public PreTokenizerRegex(string oniguruma)
    {
        OnigurumaPattern = oniguruma;
        DotNetPattern = Translate(oniguruma);
        _regex = new Regex(DotNetPattern, RegexOptions.CultureInvariant | RegexOptions.Compiled);
    }

    public string OnigurumaPattern { get; }

    public string DotNetPattern { get; }

    /// <summary>Splits <paramref name="text"/> the way the Split pre-tokenizer's "Isolated" behaviour does:
    /// every match is a piece and so is every stretch of text between matches.</summary>
    public void SplitIsolated(string text, List<string> pieces)
    {
        var position = 0;
        foreach (var (start, length) in Matches(text))
        {
            if (length == 0)
                continue;
            if (start > position)
                pieces.Add(text[position..start]);
            pieces.Add(text.Substring(start, length));
            position = start + length;
        }

        if (position < text.Length)
            pieces.Add(text[position..]);
    }

    private IEnumerable<(int Start, int Length)> Matches(string text)
    {
        if (!HasSurrogatePair(text))
        {
            for (var match = _regex.Match(text); match.Success; match = match.NextMatch())
                yield return (match.Index, match.Length);
            yield break;
        }

        var (standIn, originalIndex) = BuildStandIn(text);
        for (var match = _regex.Match(standIn); match.Success; match = match.NextMatch())
        {
            var start = originalIndex[match.Index];
            yield return (start, originalIndex[match.Index + match.Length] - start);
        }
    }

    private static bool HasSurrogatePair(string text)
    {
        for (var i = 0; i + 1 < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && char.IsLowSurrogate(text[i + 1]))
                return true;
        }

        return false;
    }

    /// <returns>The stand-in string and, for each of its positions (plus its end), the index in <paramref name="text"/>.</returns>
    private static (string StandIn, int[] OriginalIndex) BuildStandIn(string text)
    {
        var standIn = new StringBuilder(text.Length);
        var originalIndex = new List<int>(text.Length + 1);
        for (var i = 0; i < text.Length; i++)
        {
            originalIndex.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]));
                standIn.Append(s_categoryStandIns[(int)category]);
                i++;
            }
            else
            {
                standIn.Append(text[i]);
            }
        }

        originalIndex.Add(text.Length);
        return (standIn.ToString(), originalIndex.ToArray());
    }

    /// <summary>For each Unicode category, a non-ASCII BMP character of that category that no case folding
    /// relates to an ASCII letter, so it cannot match a literal in the pattern.</summary>
    private static char[] BuildCategoryStandIns()
    {
        var standIns = new char[Enum.GetValues<UnicodeCategory>().Length];
        for (var c = 0xFFFD; c >= 0x100; c--)
        {
            if (c is >= 0xD800 and <= 0xDFFF or 0x130 or 0x131 or 0x17F or 0x212A or 0x212B)
                continue;
            standIns[(int)CharUnicodeInfo.GetUnicodeCategory((char)c)] = (char)c;
        }

        return standIns;
    }

    internal static string Translate(string oniguruma)
    {
        var output = new StringBuilder(oniguruma.Length + 16);
        var groupStarts = new Stack<(int OutputIndex, bool CaseInsensitive)>();
        var caseInsensitive = false;
        var lastAtomStart = -1;

        for (var i = 0; i < oniguruma.Length; i++)
        {
            var c = oniguruma[i];
            switch (c)
            {
                case '\\':
                    lastAtomStart = output.Length;
                    output.Append(c);
                    if (i + 1 < oniguruma.Length)
                    {
                        var escaped = oniguruma[++i];
                        output.Append(escaped);
                        if (escaped is 'p' or 'P' && i + 1 < oniguruma.Length && oniguruma[i + 1] == '{')
                        {
                            var close = oniguruma.IndexOf('}', i + 1);
                            if (close < 0)
                                throw new ArgumentException($"Unterminated \\{escaped}{{ in pattern", nameof(oniguruma));
                            output.Append(oniguruma, i + 1, close - i);
                            i = close;
                        }
                    }

                    break;
                case '[':
                    lastAtomStart = output.Length;
                    i = CopyCharacterClass(oniguruma, i, output);
                    break;
                case '(':
                    groupStarts.Push((output.Length, caseInsensitive));
                    if (string.CompareOrdinal(oniguruma, i, "(?i:", 0, 4) == 0)
                        caseInsensitive = true;
                    output.Append(c);
                    break;
                case ')':
                    output.Append(c);
                    if (groupStarts.Count > 0)
                    {
                        (lastAtomStart, caseInsensitive) = groupStarts.Pop();
                    }

                    break;
                case '?' or '*' or '+' when i + 1 < oniguruma.Length && oniguruma[i + 1] == '+' && lastAtomStart >= 0:
                    // Possessive quantifier: X?+ is the atomic group (?>X?).
                    output.Append(c);
                    output.Insert(lastAtomStart, "(?>");
                    output.Append(')');
                    i++;
                    break;
                case 's' or 'S' when caseInsensitive:
                    lastAtomStart = output.Length;
                    output.Append("[sſ]");
                    break;
                default:
                    if (c is not ('?' or '*' or '+' or '|' or '{' or '}'))
                        lastAtomStart = output.Length;
                    output.Append(c);
                    break;
            }
        }

        return output.ToString();
    }

    private static int CopyCharacterClass(string pattern, int start, StringBuilder output)
    {
        var i = start;
        output.Append(pattern[i++]);
        if (i < pattern.Length && pattern[i] == '^')
            output.Append(pattern[i++]);
        if (i < pattern.Length && pattern[i] == ']')
            output.Append(pattern[i++]);
        for (; i < pattern.Length; i++)
        {
            var c = pattern[i];
            output.Append(c);
            if (c == '\\' && i + 1 < pattern.Length)
                output.Append(pattern[++i]);
            else if (c == '[')
                throw new ArgumentException("Nested character classes are not supported", nameof(pattern));
            else if (c == ']')
                return i;
        }

        throw new ArgumentException("Unterminated character class", nameof(pattern));
    }
}
