namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>
/// JavaScript string semantics (whitespace set, trim), because the reference engine is @huggingface/jinja
/// and its output depends on them.
/// </summary>
internal static class JsText
{
    /// <summary>The characters JavaScript's <c>\s</c> and <c>String.prototype.trim</c> treat as whitespace.</summary>
    public const string WhitespaceClass = @"[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]";

    public static bool IsWhiteSpace(char c) => c switch
    {
        '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or '\u00a0' or '\u1680' or '\u2028' or '\u2029'
            or '\u202f' or '\u205f' or '\u3000' or '\ufeff' => true,
        >= '\u2000' and <= '\u200a' => true,
        _ => false,
    };

    public static bool IsWordChar(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_';

    public static bool IsDigit(char c) => c is >= '0' and <= '9';

    public static string TrimEnd(string s)
    {
        var end = s.Length;
        while (end > 0 && IsWhiteSpace(s[end - 1]))
            end--;
        return s[..end];
    }

    public static string TrimStart(string s)
    {
        var start = 0;
        while (start < s.Length && IsWhiteSpace(s[start]))
            start++;
        return s[start..];
    }

    public static string Trim(string s) => TrimStart(TrimEnd(s));
}
