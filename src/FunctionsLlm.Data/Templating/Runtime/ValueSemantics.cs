using System.Globalization;

namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>Truthiness, equality and ordering of runtime values, as the reference engine defines them.</summary>
internal static class ValueSemantics
{
    public static bool IsTruthy(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0 && !double.IsNaN(d),
        string s => s.Length > 0,
        ListValue list => list.Items.Count > 0,
        DictValue dict => dict.Items.Count > 0,
        _ => true,
    };

    public static bool IsNumber(object? value) => value is long or double;

    public static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new TemplateRenderException($"expected a number, got {TypeNames.Of(value)}"),
    };

    /// <summary><c>==</c>: the reference engine compares with JavaScript's loose equality on the raw values.</summary>
    public static bool LooseEquals(object? left, object? right)
    {
        if (left is null or Undefined || right is null or Undefined)
            return left is null or Undefined && right is null or Undefined;
        if (left is string ls && right is string rs)
            return string.Equals(ls, rs, StringComparison.Ordinal);
        if (IsPrimitive(left) && IsPrimitive(right))
            return ToJsNumber(left) == ToJsNumber(right);
        return ReferenceEquals(left, right);
    }

    /// <summary>Identity as JavaScript's <c>===</c> sees it (used by <c>in</c>, <c>equalto</c> and <c>unique</c>).</summary>
    public static bool StrictEquals(object? left, object? right) => (left, right) switch
    {
        (null or Undefined, null or Undefined) => true,
        (string a, string b) => string.Equals(a, b, StringComparison.Ordinal),
        (bool a, bool b) => a == b,
        (long or double, long or double) => ToDouble(left) == ToDouble(right),
        _ => ReferenceEquals(left, right),
    };

    /// <summary>Ordering for <c>sort</c> and <c>dictsort</c>: numbers (and booleans) numerically, strings by code unit.</summary>
    public static int Compare(object? left, object? right, bool caseSensitive)
    {
        if (left is null && right is null || left is Undefined && right is Undefined)
            return 0;
        if (left is null or Undefined || right is null or Undefined)
            throw new TemplateRenderException($"cannot compare {TypeNames.Of(left)} with {TypeNames.Of(right)}");
        if (left is long or double or bool && right is long or double or bool)
            return ToDouble(left).CompareTo(ToDouble(right));
        if (left is string a && right is string b)
        {
            return caseSensitive
                ? Math.Sign(string.CompareOrdinal(a, b))
                : Math.Sign(string.CompareOrdinal(a.ToLowerInvariant(), b.ToLowerInvariant()));
        }

        throw new TemplateRenderException($"cannot compare {TypeNames.Of(left)} with {TypeNames.Of(right)}");
    }

    private static bool IsPrimitive(object value) => value is bool or long or double or string;

    private static double ToJsNumber(object value) => value switch
    {
        string s => StringToNumber(s),
        _ => ToDouble(value),
    };

    private static double StringToNumber(string text)
    {
        var trimmed = JsText.Trim(text);
        if (trimmed.Length == 0)
            return 0;
        return double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? number : double.NaN;
    }
}
