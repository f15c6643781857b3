using System.Globalization;
using System.Text.RegularExpressions;

namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>JavaScript's lenient <c>parseInt(s, 10)</c> / <c>parseFloat(s)</c>, used by the int and float filters.</summary>
internal static partial class JsParsing
{
    [GeneratedRegex(@"^[+-]?[0-9]+")]
    private static partial Regex IntegerPrefix();

    [GeneratedRegex(@"^[+-]?(Infinity|[0-9]+\.?[0-9]*([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?)")]
    private static partial Regex FloatPrefix();

    /// <summary>The leading integer of the text (after whitespace), or null when there is none (NaN).</summary>
    public static object? ParseInt(string text)
    {
        var match = IntegerPrefix().Match(JsText.TrimStart(text));
        if (!match.Success)
            return null;
        return long.TryParse(match.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? (object)value
            : double.Parse(match.Value, CultureInfo.InvariantCulture);
    }

    public static object? ParseFloat(string text)
    {
        var match = FloatPrefix().Match(JsText.TrimStart(text));
        if (!match.Success)
            return null;
        var literal = match.Value;
        if (literal.EndsWith("Infinity", StringComparison.Ordinal))
            return literal.StartsWith('-') ? double.NegativeInfinity : double.PositiveInfinity;
        return double.Parse(literal, NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
