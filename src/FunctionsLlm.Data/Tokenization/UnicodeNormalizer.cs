using System.Text;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// The tokenizer.json normalizers that are plain Unicode normal forms (NFC, NFD, NFKC, NFKD), applied in order.
/// An empty list leaves the text unchanged.
/// </summary>
internal sealed class UnicodeNormalizer(IReadOnlyList<NormalizationForm> forms)
{
    public static UnicodeNormalizer None { get; } = new([]);

    public IReadOnlyList<NormalizationForm> Forms { get; } = forms;

    public string Normalize(string text)
    {
        foreach (var form in Forms)
        {
            if (!text.IsNormalized(form))
                text = text.Normalize(form);
        }

        return text;
    }
}
