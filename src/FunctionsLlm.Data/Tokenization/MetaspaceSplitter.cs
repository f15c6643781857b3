namespace FunctionsLlm.Data.Tokenization;

/// <summary>When the Metaspace pre-tokenizer puts the replacement character before a piece of text.</summary>
internal enum PrependScheme
{
    /// <summary>Before every piece that does not already start with it.</summary>
    Always,

    /// <summary>Only before the start of the input (not after an added token).</summary>
    First,

    Never,
}

/// <summary>
/// The Metaspace pre-tokenizer of SentencePiece-style tokenizers: spaces become the replacement ("▁"), which may be
/// prepended, and with <c>split</c> the text is cut before every replacement character.
/// </summary>
internal sealed class MetaspaceSplitter(char replacement, PrependScheme prependScheme, bool split)
{
    public PrependScheme PrependScheme => prependScheme;

    public void Split(string text, bool startsInput, List<string> pieces)
    {
        if (text.Length == 0)
            return;

        text = text.Replace(' ', replacement);
        var prepend = prependScheme == PrependScheme.Always || (prependScheme == PrependScheme.First && startsInput);
        if (prepend && text[0] != replacement)
            text = replacement + text;

        if (!split)
        {
            pieces.Add(text);
            return;
        }

        var start = 0;
        for (var i = 1; i < text.Length; i++)
        {
            if (text[i] != replacement)
                continue;
            pieces.Add(text[start..i]);
            start = i;
        }

        pieces.Add(text[start..]);
    }
}
