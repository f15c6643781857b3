using System.Text;
using Microsoft.ML.Tokenizers;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// SentencePiece-style BPE as Hugging Face converts it (Llama 2, Mistral, TinyLlama): spaces are "▁" (put in by the
/// normalizer or the Metaspace pre-tokenizer), the merges work on characters, and a character outside the vocabulary
/// becomes its UTF-8 bytes as <c>&lt;0xNN&gt;</c> tokens (<c>byte_fallback</c>) or else <c>&lt;unk&gt;</c>.
/// Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> applies the merges to each run of vocabulary characters.
/// </summary>
internal sealed class SentencePieceStyleBpeModel : ITokenModel
{
    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocab;
    private readonly bool _ignoreMerges;
    private readonly MetaspaceSplitter? _preTokenizer;
    private readonly SentencePieceSpelling _spelling;
    private readonly bool _byteFallback;
    private readonly int? _unknownId;
    private readonly bool _fuseUnknown;

    public SentencePieceStyleBpeModel(BpeModelDefinition model, MetaspaceSplitter? preTokenizer, SentencePieceDecoder decoder,
        string tokenizerJsonPath)
    {
        _vocab = model.Vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _ignoreMerges = model.IgnoreMerges;
        _preTokenizer = preTokenizer;
        _spelling = new SentencePieceSpelling(model.Vocab, decoder);
        _byteFallback = model.ByteFallback;
        _fuseUnknown = model.FuseUnknownTokens;
        if (model.UnknownToken is { } unknown)
        {
            _unknownId = model.Vocab.TryGetValue(unknown, out var id) ? id : throw new TokenizerLoadException(
                tokenizerJsonPath, $"model.unk_token \"{unknown}\" is not in model.vocab.");
        }

        _bpe = BpeEngine.Create(model, byteLevel: false, tokenizerJsonPath);
        Decoding = new DecodingRules(decoder.LeadingSpacesToStrip);
    }

    public DecodingRules Decoding { get; }

    /// <summary>The Metaspace pre-tokenizer's prepend scheme; Never without one.</summary>
    public PrependScheme PrependScheme => _preTokenizer?.PrependScheme ?? PrependScheme.Never;

    public void Encode(string text, bool startsInput, List<int> ids)
    {
        if (_preTokenizer is null)
        {
            EncodeWord(text, ids);
            return;
        }

        var pieces = new List<string>();
        _preTokenizer.Split(text, startsInput, pieces);
        foreach (var piece in pieces)
            EncodeWord(piece, ids);
    }

    public void AppendBytes(int id, string token, bool firstToken, List<byte> destination) =>
        _spelling.AppendBytes(id, token, firstToken, destination);

    public int ByteCount(int id, string token) => _spelling.ByteCount(id, token);

    /// <summary>
    /// Like the tokenizers library's BPE: vocabulary characters are merged, others become byte tokens or an unknown
    /// token. A pending unknown token is placed before the next vocabulary character (or at the end), after any byte
    /// tokens in between, exactly as there.
    /// </summary>
    private void EncodeWord(string word, List<int> ids)
    {
        if (_ignoreMerges && _vocab.TryGetValue(word, out var whole))
        {
            ids.Add(whole);
            return;
        }

        int? pendingUnknown = null;
        var runStart = -1;
        for (var i = 0; i < word.Length;)
        {
            var length = char.IsSurrogatePair(word, i) ? 2 : 1;
            if (_vocab.ContainsKey(word.AsSpan(i, length)))
            {
                if (runStart < 0)
                {
                    FlushUnknown(ref pendingUnknown, ids);
                    runStart = i;
                }
            }
            else
            {
                if (runStart >= 0)
                    ids.AddRange(Merge(word[runStart..i]));
                runStart = -1;
                if (!TryAddBytes(word.AsSpan(i, length), ids))
                    AddUnknown(ref pendingUnknown, ids);
            }

            i += length;
        }

        if (runStart >= 0)
            ids.AddRange(Merge(word[runStart..]));
        FlushUnknown(ref pendingUnknown, ids);
    }

    private IReadOnlyList<int> Merge(string run) => _bpe.EncodeToIds(run, considerPreTokenization: false, considerNormalization: false);

    private bool TryAddBytes(ReadOnlySpan<char> character, List<int> ids)
    {
        if (!_byteFallback)
            return false;
        Span<byte> bytes = stackalloc byte[4];
        var count = Encoding.UTF8.GetBytes(character, bytes);
        foreach (var b in bytes[..count])
        {
            if (_spelling.ByteTokenId(b) < 0)
                return false;
        }

        foreach (var b in bytes[..count])
            ids.Add(_spelling.ByteTokenId(b));
        return true;
    }

    private void AddUnknown(ref int? pendingUnknown, List<int> ids)
    {
        if (_unknownId is not { } unknown)
            return;
        if (pendingUnknown is { } previous && !_fuseUnknown)
            ids.Add(previous);
        pendingUnknown = unknown;
    }

    private static void FlushUnknown(ref int? pendingUnknown, List<int> ids)
    {
        if (pendingUnknown is { } unknown)
            ids.Add(unknown);
        pendingUnknown = null;
    }
}
