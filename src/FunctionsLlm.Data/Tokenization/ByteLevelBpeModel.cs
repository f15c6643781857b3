using Microsoft.ML.Tokenizers;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// Byte-level BPE (GPT-2, Llama 3, Qwen2/3): the pre-tokenizer cuts the text into pieces, each piece's UTF-8 bytes are
/// spelled in the byte-level alphabet and merged by Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>.
/// </summary>
internal sealed class ByteLevelBpeModel : ITokenModel
{
    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int> _vocab;
    private readonly bool _ignoreMerges;
    private readonly PreTokenizerPipeline _preTokenizer;

    public ByteLevelBpeModel(BpeModelDefinition model, PreTokenizerPipeline preTokenizer, string tokenizerJsonPath)
    {
        _vocab = model.Vocab;
        _ignoreMerges = model.IgnoreMerges;
        _preTokenizer = preTokenizer;
        _bpe = BpeEngine.Create(model, byteLevel: true, tokenizerJsonPath);
    }

    public DecodingRules Decoding => DecodingRules.None;

    public void Encode(string text, bool startsInput, List<int> ids)
    {
        foreach (var piece in _preTokenizer.Split(text))
        {
            // ignore_merges (Llama 3): a piece that is itself a vocabulary entry is that entry, whatever the merges say.
            if (_ignoreMerges && _vocab.TryGetValue(ByteLevelAlphabet.Encode(piece), out var id))
            {
                ids.Add(id);
                continue;
            }

            ids.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
        }
    }

    public void AppendBytes(int id, string token, bool firstToken, List<byte> destination) =>
        ByteLevelAlphabet.AppendBytes(token, destination);

    public int ByteCount(int id, string token) => ByteLevelAlphabet.ByteCount(token);
}
