namespace FunctionsLlm.Data.Tokenization;

/// <summary>What tokenizer.json describes, validated and in the shapes the encoder needs.</summary>
internal sealed record TokenizerDefinition(
    Dictionary<string, int> Vocab,
    ITokenModel Model,
    IReadOnlyList<AddedToken> AddedTokens,
    TextNormalizer Normalizer,
    PostProcessorTemplate? Template,
    BpeModelDefinition? Bpe = null,
    PreTokenizerPipeline? ByteLevelPreTokenizer = null,
    SpacePrefix SpacePrefix = SpacePrefix.None);

/// <summary>tokenizer.json's <c>model</c> of type BPE.</summary>
internal sealed record BpeModelDefinition(
    Dictionary<string, int> Vocab,
    List<string> Merges,
    bool IgnoreMerges,
    string? UnknownToken,
    bool FuseUnknownTokens,
    bool ByteFallback);

/// <summary>The ids a TemplateProcessing post-processor puts around a single sequence (e.g. Llama 3's BOS).</summary>
internal sealed record PostProcessorTemplate(IReadOnlyList<int> PrefixIds, IReadOnlyList<int> SuffixIds);
