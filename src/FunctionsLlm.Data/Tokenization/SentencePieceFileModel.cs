using Microsoft.ML.Tokenizers;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// A SentencePiece tokenizer.model (BPE or Unigram) run by Microsoft.ML.Tokenizers' <see cref="SentencePieceTokenizer"/>,
/// the way transformers' slow LlamaTokenizer runs it: each stretch of text between added tokens is encoded on its own,
/// with the dummy prefix "▁" (legacy), or with "▁" only before the start of the text (legacy false).
/// </summary>
internal sealed class SentencePieceFileModel : ITokenModel
{
    private readonly SentencePieceTokenizer _tokenizer;
    private readonly bool _prefixOnlyAtStart;
    private readonly SentencePieceSpelling _spelling;

    /// <param name="prefixOnlyAtStart">legacy false: <paramref name="tokenizer"/> adds no dummy prefix, the start of the text gets one here.</param>
    public SentencePieceFileModel(SentencePieceTokenizer tokenizer, bool prefixOnlyAtStart)
    {
        _tokenizer = tokenizer;
        _prefixOnlyAtStart = prefixOnlyAtStart;
        var stripsPrefix = tokenizer.AddDummyPrefix || prefixOnlyAtStart;
        _spelling = new SentencePieceSpelling(tokenizer.Vocabulary, new SentencePieceDecoder("▁", stripsPrefix ? 1 : 0, false));
        Decoding = new DecodingRules(stripsPrefix ? 1 : 0);
    }

    public DecodingRules Decoding { get; }

    public void Encode(string text, bool startsInput, List<int> ids)
    {
        if (text.Length == 0)
            return;
        if (_prefixOnlyAtStart && startsInput)
            text = " " + text;
        ids.AddRange(_tokenizer.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false));
    }

    public void AppendBytes(int id, string token, bool firstToken, List<byte> destination) =>
        _spelling.AppendBytes(id, token, firstToken, destination);

    public int ByteCount(int id, string token) => _spelling.ByteCount(id, token);
}
