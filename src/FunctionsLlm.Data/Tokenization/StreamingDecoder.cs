using System.Runtime.InteropServices;
using System.Text;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// Decodes generated ids one at a time. A token can end in the middle of a UTF-8 character (emoji and CJK often
/// span tokens); those bytes are held back until the character is complete, so the text returned never contains
/// a broken character. Call <see cref="Flush"/> after the last id. The result equals <see cref="HfTokenizer.Decode"/>
/// of all ids. Not thread-safe: one instance per stream.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly HfTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private readonly List<byte> _tokenBytes = [];

    public StreamingDecoder(HfTokenizer tokenizer, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one id and returns the text completed by it (possibly empty).</summary>
    public string Push(int id)
    {
        _tokenBytes.Clear();
        if (_tokenizer.DecodeToken(id, _skipSpecialTokens, _tokenBytes) is { } addedToken)
            return Flush() + addedToken;
        return DecodeBytes(CollectionsMarshal.AsSpan(_tokenBytes), flush: false);
    }

    /// <summary>Returns what is still held back (an incomplete character becomes U+FFFD) and starts over.</summary>
    public string Flush() => DecodeBytes([], flush: true);

    /// <summary>Forgets any held-back bytes.</summary>
    public void Reset() => _utf8.Reset();

    private string DecodeBytes(ReadOnlySpan<byte> bytes, bool flush)
    {
        var chars = new char[_utf8.GetCharCount(bytes, flush)];
        var written = _utf8.GetChars(bytes, chars, flush);
        return new string(chars, 0, written);
    }
}
