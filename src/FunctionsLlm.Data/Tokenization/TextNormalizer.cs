using System.Text;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// The supported tokenizer.json normalizers, applied in order: Unicode normal forms (NFC, NFD, NFKC, NFKD), and
/// Prepend and Replace, with which SentencePiece-style tokenizers turn "a b" into "▁a▁b". No steps: the text is unchanged.
/// </summary>
internal sealed class TextNormalizer(IReadOnlyList<TextNormalizer.IStep> steps)
{
    internal interface IStep
    {
        string Apply(string text);
    }

    internal sealed record UnicodeForm(NormalizationForm Form) : IStep
    {
        public string Apply(string text) => text.IsNormalized(Form) ? text : text.Normalize(Form);
    }

    /// <summary>Puts the prefix before any non-empty text.</summary>
    internal sealed record Prepend(string Prefix) : IStep
    {
        public string Apply(string text) => text.Length == 0 ? text : Prefix + text;
    }

    /// <summary>Replaces every occurrence of a literal string.</summary>
    internal sealed record Replace(string Pattern, string Content) : IStep
    {
        public string Apply(string text) => text.Replace(Pattern, Content, StringComparison.Ordinal);
    }

    public static TextNormalizer None { get; } = new([]);

    public IReadOnlyList<IStep> Steps { get; } = steps;

    public string Normalize(string text)
    {
        foreach (var step in Steps)
            text = step.Apply(text);
        return text;
    }
}
