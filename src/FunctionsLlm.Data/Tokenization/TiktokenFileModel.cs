using Microsoft.ML.Tokenizers;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// A tiktoken vocabulary run by Microsoft.ML.Tokenizers' <see cref="TiktokenTokenizer"/>, as tiktoken.Encoding runs it:
/// the pattern cuts the text into pieces, a piece that is a token is that token, any other is merged from its bytes,
/// the lowest rank first. Tokens decode to their bytes.
/// </summary>
internal sealed class TiktokenFileModel(TiktokenTokenizer tokenizer, PreTokenizerRegex pattern, byte[]?[] bytesByRank) : ITokenModel
{
    public DecodingRules Decoding => DecodingRules.None;

    public void Encode(string text, bool startsInput, List<int> ids)
    {
        var pieces = new List<string>();
        pattern.SplitIsolated(text, pieces);
        foreach (var piece in pieces)
            ids.AddRange(tokenizer.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
    }

    public void AppendBytes(int id, string token, bool firstToken, List<byte> destination) => destination.AddRange(BytesOf(id));

    public int ByteCount(int id, string token) => BytesOf(id).Length;

    private byte[] BytesOf(int id) =>
        (uint)id < (uint)bytesByRank.Length && bytesByRank[id] is { } bytes
            ? bytes
            : throw new ArgumentOutOfRangeException(nameof(id), id, "No token of the tiktoken vocabulary has this rank.");
}
