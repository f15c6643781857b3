namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// A tokenizer.model, told apart by its content: a SentencePiece model (a binary protobuf ModelProto, Llama 2's kind)
/// or a tiktoken vocabulary (text lines "BASE64TOKEN RANK", THUDM's glm-4-9b-chat).
/// </summary>
internal static class TokenizerModelFile
{
    public const string FileName = "tokenizer.model";

    // A SentencePiece ModelProto starts with its first piece: field 1, length-delimited.
    private const byte SentencePiecePiecesTag = 0x0a;

    /// <param name="configPath">tokenizer_config.json beside it, or null when the folder has none.</param>
    /// <exception cref="TokenizerLoadException">The file cannot be read, is neither kind, or is an invalid one of them.</exception>
    public static TokenizerDefinition Read(string path, TokenizerConfig config, string? configPath)
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerLoadException(path, $"cannot be read: {e.Message}", e);
        }

        if (TiktokenRanks.LooksLikeTiktoken(content))
            return TiktokenModelFile.Read(path, content, config, configPath);
        if (content is [SentencePiecePiecesTag, ..])
            return SentencePieceModelFile.Read(path, content, config);
        throw new TokenizerLoadException(path,
            "is neither a SentencePiece model (a binary protobuf ModelProto) nor a tiktoken vocabulary " +
            "(text lines of a base64 token, a space and its rank, as glm-4-9b-chat ships).");
    }
}
