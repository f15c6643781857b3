using System.Runtime.InteropServices;
using System.Text;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// Decodes generated ids one at a time. A token can end in the middle of a UTF-8 character (emoji and CJK often
/// span tokens, and byte-fallback tokens are single bytes); those bytes are held back until the character is complete,
/// so the text returned never contains a broken character. Call <see cref="Flush"/> after the last id. The result
/// equals <see cref="HfTokenizer.Decode"/> of all ids. Not thread-safe: one instance per stream.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly HfTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private readonly List<byte> _tokenBytes = [];
    private bool _firstToken = true;
    private int _leadingSpacesToStrip;

    public StreamingDecoder(HfTokenizer tokenizer, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
        _leadingSpacesToStrip = tokenizer.LeadingSpacesToStrip;
    }

    /// <summary>Adds one id and returns the text completed by it (possibly empty).</summary>
    public string Push(int id)
    {
        _tokenBytes.Clear();
        if (_tokenizer.DecodeToken(id, _skipSpecialTokens, _firstToken, _tokenBytes) is not { } decoded)
            return "";
        _firstToken = false;
        if (decoded.AddedToken is { } addedToken)
            return StripLeadingSpaces(DecodeBytes([], flush: true) + addedToken);
        return StripLeadingSpaces(DecodeBytes(CollectionsMarshal.AsSpan(_tokenBytes), flush: false));
    }

    /// <summary>Returns what is still held back (an incomplete character becomes U+FFFD).</summary>
    public string Flush() => StripLeadingSpaces(DecodeBytes([], flush: true));

    /// <summary>Forgets any held-back bytes and starts a new text.</summary>
    public void Reset()
    {
        _utf8.Reset();
        _firstToken = true;
        _leadingSpacesToStrip = _tokenizer.LeadingSpacesToStrip;
    }

    private string DecodeBytes(ReadOnlySpan<byte> bytes, bool flush)
    {
        var chars = new char[_utf8.GetCharCount(bytes, flush)];
        var written = _utf8.GetChars(bytes, chars, flush);
        return new string(chars, 0, written);
    }

    /// <summary>The decoder's Strip applies to the start of the whole text, which may arrive over several pieces.</summary>
    private string StripLeadingSpaces(string piece)
    {
        if (_leadingSpacesToStrip == 0 || piece.Length == 0)
            return piece;
        var strip = 0;
        while (strip < _leadingSpacesToStrip && strip < piece.Length && piece[strip] == ' ')
            strip++;
        _leadingSpacesToStrip = strip < piece.Length ? 0 : _leadingSpacesToStrip - strip;
        return piece[strip..];
    }
}
