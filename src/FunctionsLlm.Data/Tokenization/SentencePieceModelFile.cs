using Microsoft.ML.Tokenizers;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>Reads a SentencePiece tokenizer.model (Llama 2 originals, models shipped without tokenizer.json).</summary>
internal static class SentencePieceModelFile
{
    // A repeated message field is merged, so this appended normalizer_spec (field 3) only turns add_dummy_prefix off.
    private static readonly byte[] s_noDummyPrefix = [0x1a, 0x02, 0x18, 0x00];

    /// <param name="bytes">The content of the file at <paramref name="path"/>.</param>
    /// <exception cref="TokenizerLoadException">The file is not a SentencePiece model.</exception>
    public static TokenizerDefinition Read(string path, byte[] bytes, TokenizerConfig config)
    {
        var legacy = config.Legacy ?? true;
        var tokenizer = Create(path, legacy ? bytes : [.. bytes, .. s_noDummyPrefix]);
        var vocab = tokenizer.Vocabulary.ToDictionary(StringComparer.Ordinal);
        return new TokenizerDefinition(
            vocab,
            new SentencePieceFileModel(tokenizer, prefixOnlyAtStart: !legacy),
            AddedTokens(tokenizer, config),
            TextNormalizer.None,
            Template: null);
    }

    private static SentencePieceTokenizer Create(string path, byte[] model)
    {
        try
        {
            using var stream = new MemoryStream(model, writable: false);
            return SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            // Google.Protobuf's InvalidProtocolBufferException is an IOException.
            throw new TokenizerLoadException(path, $"is not a SentencePiece model this loader supports: {e.Message}", e);
        }
    }

    /// <summary>The model's unknown, BOS and EOS pieces, and tokenizer_config.json's added_tokens_decoder, as transformers recognises them in text.</summary>
    private static List<AddedToken> AddedTokens(SentencePieceTokenizer tokenizer, TokenizerConfig config)
    {
        var tokens = new Dictionary<int, AddedToken>();
        foreach (var (id, content) in new[]
                 {
                     (tokenizer.UnknownId, tokenizer.UnknownToken), (tokenizer.BeginningOfSentenceId, tokenizer.BeginningOfSentenceToken),
                     (tokenizer.EndOfSentenceId, tokenizer.EndOfSentenceToken),
                 })
        {
            if (id >= 0 && !string.IsNullOrEmpty(content))
                tokens[id] = new AddedToken(id, content, Special: true);
        }

        foreach (var token in ConfigAddedTokens.Read(config))
            tokens[token.Id] = token;

        return [.. tokens.Values];
    }
}
