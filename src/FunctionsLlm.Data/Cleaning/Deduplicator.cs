using System.Globalization;
using System.Text;
using FunctionsLlm.Data.Reading;
using FunctionsLlm.Data.Records;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// Remembers a 128-bit fingerprint of every kept conversation (about 40 bytes per record), exact and normalised
/// (case, width, whitespace and punctuation ignored), and where it was first seen.
/// </summary>
internal sealed class Deduplicator(DedupMode mode)
{
    private readonly Dictionary<UInt128, SourceLocation> _exact = [];
    private readonly Dictionary<UInt128, SourceLocation> _normalized = [];

    /// <summary>Returns an issue if the conversation was seen before; otherwise remembers it.</summary>
    public RecordIssue? Check(Conversation conversation, SourceLocation location)
    {
        if (mode == DedupMode.None)
            return null;
        var exact = ConversationFingerprint.Of(conversation);
        if (_exact.TryGetValue(exact, out var first))
            return new RecordIssue(RejectReason.Duplicate, $"same conversation as {first}");
        if (mode == DedupMode.Normalized)
        {
            var normalized = ConversationFingerprint.Of(conversation, Normalize);
            if (_normalized.TryGetValue(normalized, out first))
                return new RecordIssue(RejectReason.NearDuplicate,
                    $"same conversation as {first} once case, width, whitespace and punctuation are ignored");
            _normalized.Add(normalized, location);
        }
        _exact.Add(exact, location);
        return null;
    }

    /// <summary>NFKC folds full-width forms (，！Ａ) into their plain ones; then only letters and digits count.</summary>
    internal static string Normalize(string text)
    {
        var folded = text.Normalize(NormalizationForm.FormKC);
        var builder = new StringBuilder(folded.Length);
        foreach (var rune in folded.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber
                or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber or UnicodeCategory.NonSpacingMark)
                builder.Append(Rune.ToLowerInvariant(rune).ToString());
        }
        return builder.ToString();
    }
}
