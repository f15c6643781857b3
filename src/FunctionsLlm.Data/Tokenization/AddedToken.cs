namespace FunctionsLlm.Data.Tokenization;

/// <summary>An entry of tokenizer.json <c>added_tokens</c>: text matched as a whole before the model runs.</summary>
/// <param name="SingleWord">Only matched when not glued to a letter or digit on either side.</param>
/// <param name="LeftStrip">The match also swallows the whitespace before it.</param>
/// <param name="RightStrip">The match also swallows the whitespace after it.</param>
/// <param name="Normalized">Matched against the normalized text instead of the raw text.</param>
internal sealed record AddedToken(
    int Id,
    string Content,
    bool Special,
    bool SingleWord = false,
    bool LeftStrip = false,
    bool RightStrip = false,
    bool Normalized = false);
