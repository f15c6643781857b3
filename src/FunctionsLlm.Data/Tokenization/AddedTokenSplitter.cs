using System.Text.RegularExpressions;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// Cuts text into added tokens and the stretches between them, like Hugging Face's AddedVocabulary:
/// at each position the leftmost, then longest, token wins; single_word, lstrip and rstrip are honoured.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly Regex? _alternation;
    private readonly Dictionary<string, AddedToken> _byContent;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens, Func<AddedToken, string> matchText)
    {
        _byContent = new Dictionary<string, AddedToken>(StringComparer.Ordinal);
        foreach (var token in tokens)
        {
            var text = matchText(token);
            if (text.Length > 0)
                _byContent.TryAdd(text, token);
        }

        if (_byContent.Count == 0)
            return;

        // Longest first: .NET tries alternatives in order, which turns leftmost-first into leftmost-longest.
        var alternatives = _byContent.Keys
            .OrderByDescending(content => content.Length)
            .ThenBy(content => content, StringComparer.Ordinal)
            .Select(Regex.Escape);
        _alternation = new Regex(string.Join('|', alternatives), RegexOptions.CultureInvariant);
    }

    /// <summary>A piece of the text: either an added token (<see cref="Token"/> set) or plain text.</summary>
    public readonly record struct Segment(string Text, AddedToken? Token);

    public List<Segment> Split(string text)
    {
        var segments = new List<Segment>();
        if (_alternation is null || text.Length == 0)
        {
            if (text.Length > 0)
                segments.Add(new Segment(text, null));
            return segments;
        }

        var plainStart = 0;
        for (var match = _alternation.Match(text); match.Success; match = match.NextMatch())
        {
            var token = _byContent[match.Value];
            var start = match.Index;
            var end = match.Index + match.Length;
            if (start < plainStart)
                continue;
            if (token.SingleWord && (IsWordCharBefore(text, start) || IsWordCharAt(text, end)))
                continue;
            if (token.LeftStrip)
            {
                while (start > plainStart && char.IsWhiteSpace(text[start - 1]))
                    start--;
            }

            if (token.RightStrip)
            {
                while (end < text.Length && char.IsWhiteSpace(text[end]))
                    end++;
            }

            if (start > plainStart)
                segments.Add(new Segment(text[plainStart..start], null));
            segments.Add(new Segment(token.Content, token));
            plainStart = end;
        }

        if (plainStart < text.Length)
            segments.Add(new Segment(text[plainStart..], null));
        return segments;
    }

    private static bool IsWordCharBefore(string text, int index) => index > 0 && char.IsLetterOrDigit(text[index - 1]);

    private static bool IsWordCharAt(string text, int index) => index < text.Length && char.IsLetterOrDigit(text[index]);
}
