using System.Text.RegularExpressions;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// Replaces personal data with placeholders: e-mail addresses → [EMAIL], mainland-China resident ID numbers (valid
/// checksum) → [ID_NUMBER], phone numbers (mainland mobile, landline with area code, +country numbers) → [PHONE].
/// Service numbers such as 400-000-0000 are not personal and stay.
/// </summary>
public static partial class PiiMasker
{
    public const string Email = "[EMAIL]";
    public const string IdNumber = "[ID_NUMBER]";
    public const string Phone = "[PHONE]";

    /// <summary>Returns the masked text and how many replacements were made.</summary>
    public static (string Text, int Masked) Mask(string text)
    {
        var masked = 0;
        text = EmailPattern().Replace(text, _ => { masked++; return Email; });
        text = IdPattern().Replace(text, m =>
        {
            if (!IsValidIdChecksum(m.Value)) return m.Value;
            masked++;
            return IdNumber;
        });
        text = PhonePattern().Replace(text, _ => { masked++; return Phone; });
        return (text, masked);
    }

    /// <summary>GB 11643-1999: weighted sum of the first 17 digits mod 11 selects the check character.</summary>
    internal static bool IsValidIdChecksum(string id)
    {
        ReadOnlySpan<int> weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        const string checks = "10X98765432";
        var sum = 0;
        for (var i = 0; i < 17; i++)
            sum += (id[i] - '0') * weights[i];
        return char.ToUpperInvariant(id[17]) == checks[sum % 11];
    }

    [GeneratedRegex(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}", RegexOptions.CultureInvariant)]
    private static partial Regex EmailPattern();

    // 6-digit area code, birth date 18xx-20xx, 3-digit sequence, check digit or X.
    [GeneratedRegex(@"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    // Mainland mobile (optionally +86), landline 0AA(A)-NNNNNNN(N), or an international +CC number.
    [GeneratedRegex(@"(?<![\d+])(?:(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}|0\d{2,3}-\d{7,8}|\+(?!86)\d{1,3}[ -]?\(?\d{1,4}\)?[ -]?\d{3,4}[ -]?\d{3,4})(?!\d)", RegexOptions.CultureInvariant)]
    private static partial Regex PhonePattern();
}
