namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// What another runtime needs to rebuild a tokenizer.json BPE tokenizer: every token by id (model vocabulary and added
/// tokens, <c>null</c> where an id is unused), the merges in rank order, and how text is cut before the merges.
/// GGUF export writes llama.cpp's vocabulary from it.
/// </summary>
/// <param name="ByteLevel">Byte-level BPE (GPT-2, Llama 3, Qwen); otherwise SentencePiece-style (Llama 2, Mistral).</param>
/// <param name="SplitPatterns">The Oniguruma regexes of the pre-tokenizer's splits, in order (ByteLevel's own GPT-2 split included).</param>
/// <param name="AddPrefixSpace">ByteLevel's add_prefix_space.</param>
/// <param name="IgnoreMerges">A piece that is itself a token is that token (Llama 3).</param>
/// <param name="UnknownId">model.unk_token's id.</param>
/// <param name="SpacePrefix">SentencePiece-style: where a "▁" is put before the text (a Prepend normalizer or Metaspace's prepend_scheme).</param>
/// <param name="SpecialIds">Added tokens marked special.</param>
/// <param name="AddedIds">Every added token, special or not.</param>
public sealed record BpeVocabulary(
    bool ByteLevel,
    IReadOnlyList<string?> Tokens,
    IReadOnlyList<string> Merges,
    IReadOnlyList<string> SplitPatterns,
    bool AddPrefixSpace,
    bool IgnoreMerges,
    IReadOnlySet<int> SpecialIds,
    IReadOnlySet<int> AddedIds,
    SpacePrefix SpacePrefix = SpacePrefix.None,
    int? UnknownId = null);

/// <summary>Where a SentencePiece-style tokenizer puts a "▁" before the text.</summary>
public enum SpacePrefix
{
    None,

    /// <summary>Before every stretch of text between added tokens (a Prepend normalizer, Metaspace "always").</summary>
    EverySegment,

    /// <summary>Only at the start of the input (Metaspace "first").</summary>
    InputStart,
}
