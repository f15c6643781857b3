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
        if (!IsSurelyNfc(text) && !text.IsNormalized(NormalizationForm.FormC))
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

    /// <summary>
    /// A fast answer for the common case (ICU's check is slow): text made only of characters that never change under
    /// NFC and never combine with a neighbour — Latin-1 and Latin Extended, general punctuation (“ ” …), CJK ideographs and
    /// punctuation, full-width forms.
    /// </summary>
    private static bool IsSurelyNfc(string text)
    {
        var span = text.AsSpan();
        var first = span.IndexOfAnyInRange('\u0300', '\uFFFF');
        if (first < 0)
            return true;
        foreach (var c in span[first..])
        {
            var stable = c < '\u0300' || c is (>= '\u2002' and <= '\u206F') or (>= '\u3000' and <= '\u3029') or (>= '\u3030' and <= '\u303F')
                or (>= '\u4E00' and <= '\u9FFF') or (>= '\uFF01' and <= '\uFF9D') or (>= '\uFFA0' and <= '\uFFEF');
            if (!stable)
                return false;
        }
        return true;
    }

    /// <summary>C0 controls except tab, line feed and carriage return; DEL and C1 controls. Vectorised scans.</summary>
    private static int IndexOfControlCharacter(string text)
    {
        var span = text.AsSpan();
        var c1 = span.IndexOfAnyInRange('\u007F', '\u009F');
        var searchEnd = c1 < 0 ? span.Length : c1;
        var offset = 0;
        while (true)
        {
            var c0 = span[offset..searchEnd].IndexOfAnyInRange('\u0000', '\u001F');
            if (c0 < 0)
                return c1;
            offset += c0;
            if (span[offset] is not ('\t' or '\n' or '\r'))
                return offset;
            offset++;
        }
    }
}
