using Microsoft.ML.Tokenizers;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>Builds the Microsoft.ML.Tokenizers <see cref="BpeTokenizer"/> that applies the merges to one piece of text.</summary>
internal static class BpeEngine
{
    /// <exception cref="TokenizerLoadException">The vocabulary or merges are rejected.</exception>
    public static BpeTokenizer Create(BpeModelDefinition model, bool byteLevel, string tokenizerJsonPath)
    {
        try
        {
            // A SentencePiece-style model hands the engine only characters of the vocabulary (it does byte fallback
            // and <unk> itself), so it gets no unknown token.
            return BpeTokenizer.Create(new BpeOptions(model.Vocab)
            {
                Merges = model.Merges,
                ByteLevel = byteLevel,
                UnknownToken = byteLevel ? model.UnknownToken : null,
                FuseUnknownTokens = model.FuseUnknownTokens,
            });
        }
        catch (InvalidOperationException e)
        {
            throw new TokenizerLoadException(tokenizerJsonPath, $"model.merges: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new TokenizerLoadException(tokenizerJsonPath, $"model: {e.Message}", e);
        }
    }
}
