namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// One family of tokenizer model: how normalized text between added tokens becomes model ids, and how a model token
/// becomes bytes of text again. From tokenizer.json, <see cref="ByteLevelBpeModel"/> (GPT-2, Llama 3, Qwen) and
/// <see cref="SentencePieceStyleBpeModel"/> (Llama 2, Mistral, TinyLlama); from tokenizer.model,
/// <see cref="SentencePieceFileModel"/> or <see cref="TiktokenFileModel"/> (glm-4-9b-chat).
/// </summary>
internal interface ITokenModel
{
    /// <summary>What the decoder does beyond turning each token into its bytes.</summary>
    DecodingRules Decoding { get; }

    /// <summary>Appends the ids of a stretch of normalized text.</summary>
    /// <param name="startsInput">The stretch is the start of the text being encoded (nothing, not even an added token, before it).</param>
    void Encode(string text, bool startsInput, List<int> ids);

    /// <summary>Appends the bytes of text a model token stands for.</summary>
    /// <param name="firstToken">The token is the first one being decoded.</param>
    void AppendBytes(int id, string token, bool firstToken, List<byte> destination);

    /// <summary>How many bytes <see cref="AppendBytes"/> appends for a token that is not the first.</summary>
    int ByteCount(int id, string token);
}

/// <param name="LeadingSpacesToStrip">At most this many spaces are removed from the start of the decoded text
/// (the decoder's Strip step, undoing the "▁" SentencePiece puts before the text).</param>
internal sealed record DecodingRules(int LeadingSpacesToStrip)
{
    public static DecodingRules None { get; } = new(0);
}
