namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// A tokenizer file could not be read, or it describes something this loader does not implement.
/// The message names the file and the offending part.
/// </summary>
public sealed class TokenizerLoadException : Exception
{
    public TokenizerLoadException()
    {
    }

    public TokenizerLoadException(string message) : base(message)
    {
    }

    public TokenizerLoadException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public TokenizerLoadException(string filePath, string message, Exception? innerException = null)
        : base($"{filePath}: {message}", innerException)
    {
        FilePath = filePath;
    }

    /// <summary>The file that failed to load, when known.</summary>
    public string? FilePath { get; }
}
