using System.Text;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// How SentencePiece-style tokens spell text: the replacement ("▁") is a space and a <c>&lt;0xNN&gt;</c> token is one
/// byte, whatever the decoder says, so decoded text never shows one.
/// </summary>
internal sealed class SentencePieceSpelling
{
    private readonly SentencePieceDecoder _decoder;
    private readonly int[] _byteTokenIds = new int[256];
    private readonly Dictionary<int, byte> _byteOfToken = [];

    public SentencePieceSpelling(IReadOnlyDictionary<string, int> vocab, SentencePieceDecoder decoder)
    {
        _decoder = decoder;
        for (var b = 0; b < 256; b++)
        {
            _byteTokenIds[b] = vocab.GetValueOrDefault($"<0x{b:X2}>", -1);
            if (_byteTokenIds[b] >= 0)
                _byteOfToken[_byteTokenIds[b]] = (byte)b;
        }
    }

    /// <summary>The id of the <c>&lt;0xNN&gt;</c> token for a byte, or -1 when the vocabulary has none.</summary>
    public int ByteTokenId(byte b) => _byteTokenIds[b];

    public void AppendBytes(int id, string token, bool firstToken, List<byte> destination)
    {
        if (_byteOfToken.TryGetValue(id, out var b))
            destination.Add(b);
        else
            destination.AddRange(Encoding.UTF8.GetBytes(SpellOut(token, firstToken)));
    }

    public int ByteCount(int id, string token) =>
        _byteOfToken.ContainsKey(id) ? 1 : Encoding.UTF8.GetByteCount(SpellOut(token, firstToken: false));

    private string SpellOut(string token, bool firstToken) =>
        token.Replace(_decoder.Replacement, firstToken && _decoder.FirstTokenDropsReplacement ? "" : " ", StringComparison.Ordinal);
}

/// <summary>
/// A SentencePiece-style decoder: the replacement ("▁") is a space again, byte tokens are bytes, and the space the
/// encoder put before the text is removed, either by Strip (<see cref="LeadingSpacesToStrip"/>) or, for the Metaspace
/// decoder, by dropping the replacement characters of the first token.
/// </summary>
internal sealed record SentencePieceDecoder(string Replacement, int LeadingSpacesToStrip, bool FirstTokenDropsReplacement);
