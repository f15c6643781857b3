using System.Text;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// The per-text rules, applied to every text field as it is read: refuse control characters, normalise line endings,
/// strip surrounding whitespace (the seed rule), NFC, optional PII masking, refuse empty turns.
/// </summary>
internal sealed class TextRules(CleaningOptions options, CleaningStats stats)
{
    /// <summary>Returns the clean text, or an issue naming <paramref name="field"/>.</summary>
    public string? Apply(string raw, string field, bool mayBeEmpty, out RecordIssue issue)
    {
        issue = default;
        var control = IndexOfControlCharacter(raw);
        if (control >= 0)
        {
            issue = new RecordIssue(RejectReason.ControlCharacters,
                $"{field} contains control character U+{(int)raw[control]:X4} at position {control}");
            return null;
        }

        var text = raw;
        if (text.Contains('\r', StringComparison.Ordinal))
        {
            text = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
            stats.LineEndingsNormalized++;
        }
        var trimmed = text.Trim();
        if (trimmed.Length != text.Length)
        {
            stats.WhitespaceStripped++;
            text = trimmed;
        }
        if (!text.IsNormalized(NormalizationForm.FormC))
        {
            text = text.Normalize(NormalizationForm.FormC);
            stats.NfcNormalized++;
        }
        if (options.MaskPii)
        {
            (text, var masked) = PiiMasker.Mask(text);
            stats.PiiMasked += masked;
        }
        if (text.Length == 0 && !mayBeEmpty)
        {
            issue = new RecordIssue(RejectReason.EmptyTurn,
                raw.Length == 0 ? $"{field} is empty" : $"{field} is empty once whitespace is stripped");
            return null;
        }
        return text;
    }

    /// <summary>C0/C1 controls and DEL, except tab, line feed and carriage return.</summary>
    private static readonly System.Buffers.SearchValues<char> ControlCharacters = System.Buffers.SearchValues.Create(
        Enumerable.Range(0, 0xA0).Where(c => (c < 0x20 && c is not ('\t' or '\n' or '\r')) || c >= 0x7F)
            .Select(c => (char)c).ToArray());

    private static int IndexOfControlCharacter(string text) => text.AsSpan().IndexOfAny(ControlCharacters);
}
