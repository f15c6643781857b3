using System.Text;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>
/// The tokens of the text metrics, as sacrebleu's <c>tokenize="char"</c>: every Unicode scalar value (code point) is
/// one token and white space is dropped. No word segmentation, so Chinese and English text are measured alike.
/// </summary>
public static class CharacterTokens
{
    public static string[] Of(string text)
    {
        var tokens = new List<string>(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (!IsSpace(rune))
                tokens.Add(rune.ToString());
        }
        return [.. tokens];
    }

    /// <summary>Python's <c>str.split()</c> white space (what sacrebleu splits on): .NET's plus U+001C..U+001F.</summary>
    private static bool IsSpace(Rune rune) => Rune.IsWhiteSpace(rune) || rune.Value is >= 0x1C and <= 0x1F;
}
