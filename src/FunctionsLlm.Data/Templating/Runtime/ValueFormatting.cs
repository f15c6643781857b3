using System.Globalization;
using System.Text;

namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>
/// How values turn into text. The reference engine (@huggingface/jinja) prints like JavaScript: <c>true</c>,
/// nothing for none/undefined, floats with a trailing <c>.0</c> when integral, containers as compact JSON.
/// </summary>
internal static class ValueFormatting
{
    /// <summary>Text of <c>{{ value }}</c>; null when nothing is printed (none and undefined).</summary>
    public static string? ToOutput(object? value) => value switch
    {
        null or Undefined => null,
        _ => ToText(value),
    };

    /// <summary>The <c>toString()</c> of a runtime value (none prints as "null" here, as in the reference).</summary>
    public static string ToText(object? value) => value switch
    {
        null => "null",
        Undefined => "undefined",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatToText(d),
        ListValue or DictValue or NamespaceValue => JsonFormatting.Serialize(value, new JsonOptions(), undefinedAsNull: false),
        FunctionValue f => throw new TemplateRenderException($"cannot print function '{f.Name}'"),
        _ => throw new TemplateRenderException($"cannot print a value of type {value.GetType().Name}"),
    };

    /// <summary>Primitive conversion used by <c>~</c>, string <c>+</c> and <c>join</c> (floats lose their <c>.0</c>).</summary>
    public static string ToPrimitiveText(object? value) => value switch
    {
        null or Undefined => "",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => JsNumber(d),
        _ => throw new TemplateRenderException($"cannot convert {TypeNames.Of(value)} to a string"),
    };

    public static string FloatToText(double value)
    {
        if (value == 0 && double.IsNegative(value))
            return "-0.0";
        return double.IsFinite(value) && Math.Floor(value) == value && Math.Abs(value) < 1e21
            ? value.ToString("F1", CultureInfo.InvariantCulture)
            : JsNumber(value);
    }

    /// <summary>JavaScript's Number.prototype.toString(): shortest round-trip digits, exponent outside 1e-7..1e21.</summary>
    public static string JsNumber(double value)
    {
        if (double.IsNaN(value))
            return "NaN";
        if (double.IsPositiveInfinity(value))
            return "Infinity";
        if (double.IsNegativeInfinity(value))
            return "-Infinity";
        if (value == 0)
            return "0";

        var (digits, exponent) = Decompose(Math.Abs(value).ToString("R", CultureInfo.InvariantCulture));
        var builder = new StringBuilder(value < 0 ? "-" : "");
        var k = digits.Length;
        var n = exponent + 1;
        if (k <= n && n <= 21)
            builder.Append(digits).Append('0', n - k);
        else if (0 < n && n <= 21)
            builder.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        else if (-6 < n && n <= 0)
            builder.Append("0.").Append('0', -n).Append(digits);
        else
        {
            builder.Append(digits[0]);
            if (k > 1)
                builder.Append('.').Append(digits, 1, k - 1);
            builder.Append('e').Append(n - 1 >= 0 ? "+" : "-").Append(Math.Abs(n - 1).ToString(CultureInfo.InvariantCulture));
        }

        return builder.ToString();
    }

    /// <summary>Splits "1.2345E+003"/"123.45" into significant digits and the decimal exponent of the first one.</summary>
    private static (string Digits, int Exponent) Decompose(string text)
    {
        var exponent = 0;
        var e = text.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(text[(e + 1)..], CultureInfo.InvariantCulture);
            text = text[..e];
        }

        var dot = text.IndexOf('.');
        var integerPart = dot < 0 ? text : text[..dot];
        var fraction = dot < 0 ? "" : text[(dot + 1)..];
        var all = integerPart + fraction;
        var leadingZeros = all.Length - all.TrimStart('0').Length;
        var digits = all.Trim('0');
        exponent += integerPart.Length - 1 - leadingZeros;
        return (digits.Length == 0 ? "0" : digits, exponent);
    }
}

internal static class TypeNames
{
    public static string Of(object? value) => value switch
    {
        null => "none",
        Undefined => "undefined",
        bool => "boolean",
        long => "integer",
        double => "float",
        string => "string",
        ListValue { IsTuple: true } => "tuple",
        ListValue => "list",
        DictValue => "dict",
        NamespaceValue => "namespace",
        FunctionValue => "function",
        _ => value.GetType().Name,
    };
}
