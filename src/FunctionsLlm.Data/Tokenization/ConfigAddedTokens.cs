namespace FunctionsLlm.Data.Tokenization;

/// <summary>tokenizer_config.json's added_tokens_decoder, which a folder with tokenizer.model and no tokenizer.json
/// has in place of tokenizer.json's added_tokens.</summary>
internal static class ConfigAddedTokens
{
    /// <summary>The entries with a non-negative integer id and non-empty content (transformers ignores the others).</summary>
    public static IEnumerable<AddedToken> Read(TokenizerConfig config)
    {
        foreach (var (key, entry) in config.AddedTokensDecoder ?? [])
        {
            if (int.TryParse(key, out var id) && id >= 0 && entry.Content is { Length: > 0 } content)
                yield return new AddedToken(id, content, entry.Special, entry.SingleWord, entry.LeftStrip, entry.RightStrip);
        }
    }
}
