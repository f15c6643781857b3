using System.Globalization;

namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>
/// Filters. Behaviour follows @huggingface/jinja; filters it lacks (count, select, reject, map by filter name,
/// round, escape, trim(chars)) follow Python Jinja.
/// </summary>
internal static class Filters
{
    public static object? Apply(Interpreter interpreter, string name, object? operand, bool hasParentheses, CallArguments args)
    {
        switch (name)
        {
            case "safe":
                return operand;
            case "tojson":
                return JsonFormatting.Serialize(operand, JsonOptionsFrom(args), undefinedAsNull: true);
            case "default" or "d":
                var fallback = args.Positional.Count > 0 ? args.Positional[0]
                    : args.Keywords.TryGetValue("default_value", out var named) ? named : "";
                var whenFalsy = Arguments.Bool(args.PositionalOrKeyword(1, "boolean"), false, "boolean");
                return operand is Undefined || (whenFalsy && !ValueSemantics.IsTruthy(operand)) ? fallback : operand;
            case "join" when hasParentheses || operand is ListValue:
                return Join(operand, args);
            case "int" or "float" when hasParentheses:
                return ToNumber(name, operand, args);
            case "count":
                return Apply(interpreter, "length", operand, false, CallArguments.None);
            case "e" or "escape":
                return Escape(operand);
        }

        if (operand is ListValue list && ListFilters.TryApply(interpreter, name, list, args, out var listResult))
            return listResult;
        if (hasParentheses && args.Positional.Count == 0 && args.Keywords.Count == 0 && name is not ("indent" or "replace" or "map"))
            return Apply(interpreter, name, operand, hasParentheses: false, args);

        return operand switch
        {
            string text => StringFilter(name, text, args),
            long or double => NumberFilter(name, operand, args),
            DictValue dict => DictFilter(name, dict, args),
            bool b => BoolFilter(name, b),
            _ => throw UnknownFilter(name, operand),
        };
    }

    public static TemplateRenderException UnknownFilter(string name, object? operand) =>
        new($"unknown filter '{name}' for a value of type {TypeNames.Of(operand)}");

    private static JsonOptions JsonOptionsFrom(CallArguments args)
    {
        var indent = args.Keywords.GetValueOrDefault("indent", Undefined.Instance) switch
        {
            Undefined or null => (int?)null,
            long l => (int)l,
            _ => throw new TemplateRenderException("tojson indent must be an integer"),
        };
        var separators = args.Keywords.GetValueOrDefault("separators", Undefined.Instance) switch
        {
            Undefined or null => ((string, string)?)null,
            ListValue { Items: [string item, string key] } => (item, key),
            _ => throw new TemplateRenderException("tojson separators must be a tuple of two strings"),
        };
        return new JsonOptions(indent,
            Arguments.Bool(args.Keywords.GetValueOrDefault("ensure_ascii", Undefined.Instance), false, "ensure_ascii"),
            Arguments.Bool(args.Keywords.GetValueOrDefault("sort_keys", Undefined.Instance), false, "sort_keys"),
            separators);
    }

    private static string Join(object? operand, CallArguments args)
    {
        var items = operand switch
        {
            string text => Slicing.CodePoints(text).Cast<object?>().ToList(),
            ListValue list => list.Items,
            _ => throw new TemplateRenderException($"cannot apply filter 'join' to {TypeNames.Of(operand)}"),
        };
        var separator = Arguments.String(args.PositionalOrKeyword(0, "separator"), "", "separator");
        return string.Join(separator, items.Select(ValueFormatting.ToPrimitiveText));
    }

    private static object? ToNumber(string name, object? operand, CallArguments args)
    {
        var fallback = args.PositionalOrKeyword(0, "default") is Undefined
            ? (name == "int" ? (object)0L : 0.0)
            : args.PositionalOrKeyword(0, "default");
        return operand switch
        {
            string text => (name == "int" ? JsParsing.ParseInt(text) : JsParsing.ParseFloat(text)) ?? fallback,
            long or double => operand,
            bool b => name == "int" ? (object)(b ? 1L : 0L) : (b ? 1.0 : 0.0),
            _ => throw new TemplateRenderException($"cannot apply filter '{name}' to {TypeNames.Of(operand)}"),
        };
    }

    private static string Escape(object? operand) => operand switch
    {
        string text => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal).Replace("'", "&#39;", StringComparison.Ordinal)
            .Replace("\"", "&#34;", StringComparison.Ordinal),
        long or double or bool => ValueFormatting.ToText(operand),
        _ => throw new TemplateRenderException($"cannot apply filter 'escape' to {TypeNames.Of(operand)}"),
    };

    private static object? StringFilter(string name, string text, CallArguments args) => name switch
    {
        "length" => (long)text.Length,
        "upper" => text.ToUpperInvariant(),
        "lower" => text.ToLowerInvariant(),
        "title" => StringMethods.Title(text),
        "capitalize" => StringMethods.Capitalize(text),
        "trim" => args.PositionalOrKeyword(0, "chars") is string chars ? text.Trim(chars.ToCharArray()) : JsText.Trim(text),
        "string" => text,
        "int" => JsParsing.ParseInt(text) ?? 0L,
        "float" => JsParsing.ParseFloat(text) ?? 0.0,
        "indent" => Indent(text, args),
        "replace" => StringMethods.Replace(text, args),
        "list" => new ListValue(Slicing.CodePoints(text).Cast<object?>().ToList()),
        _ => throw UnknownFilter(name, text),
    };

    private static string Indent(string text, CallArguments args)
    {
        var width = args.PositionalOrKeyword(0, "width") switch
        {
            Undefined => "    ",
            long l => new string(' ', (int)l),
            string s => s,
            _ => throw new TemplateRenderException("indent width must be an integer"),
        };
        var first = Arguments.Bool(args.PositionalOrKeyword(1, "first"), false, "first");
        var blank = Arguments.Bool(args.PositionalOrKeyword(2, "blank"), false, "blank");
        var lines = text.Split('\n');
        return string.Join('\n', lines.Select((line, i) => (!first && i == 0) || (!blank && line.Length == 0) ? line : width + line));
    }

    private static object? NumberFilter(string name, object number, CallArguments args) => name switch
    {
        "abs" => number is long l ? (object)Math.Abs(l) : Math.Abs((double)number),
        "int" => number is long ? number : (object)(long)Math.Floor((double)number),
        "float" => ValueSemantics.ToDouble(number),
        "string" => ValueFormatting.ToText(number),
        "round" => Round(ValueSemantics.ToDouble(number), args),
        _ => throw UnknownFilter(name, number),
    };

    /// <summary>Python Jinja's round: always a float; 'common' rounds half away from zero.</summary>
    private static double Round(double value, CallArguments args)
    {
        var precision = (int)Arguments.Integer(args.PositionalOrKeyword(0, "precision"), 0, "precision");
        var factor = Math.Pow(10, precision);
        return Arguments.String(args.PositionalOrKeyword(1, "method"), "common", "method") switch
        {
            "common" => Math.Round(value * factor, MidpointRounding.AwayFromZero) / factor,
            "ceil" => Math.Ceiling(value * factor) / factor,
            "floor" => Math.Floor(value * factor) / factor,
            _ => throw new TemplateRenderException("round method must be 'common', 'ceil' or 'floor'"),
        };
    }

    private static object? DictFilter(string name, DictValue dict, CallArguments args) => name switch
    {
        "items" => DictMethods.Items(dict),
        "length" => (long)dict.Items.Count,
        "string" => ValueFormatting.ToText(dict),
        "dictsort" => DictMethods.DictSort(dict, args),
        _ => DictMethods.Get(dict, name) is FunctionValue method
            ? method.Invoke(args, new Scope(null))
            : throw UnknownFilter(name, dict),
    };

    private static object BoolFilter(string name, bool value) => name switch
    {
        "bool" => value,
        "int" => value ? 1L : 0L,
        "float" => value ? 1.0 : 0.0,
        "string" => value ? "true" : "false",
        _ => throw UnknownFilter(name, value),
    };
}
