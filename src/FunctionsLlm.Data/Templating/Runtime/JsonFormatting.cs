using System.Globalization;
using System.Text;

namespace FunctionsLlm.Data.Templating.Runtime;

internal sealed record JsonOptions(int? Indent = null, bool EnsureAscii = false, bool SortKeys = false,
    (string Item, string Key)? Separators = null);

/// <summary>
/// The <c>tojson</c> filter and container printing, matching @huggingface/jinja: Python's default separators
/// (<c>", "</c> and <c>": "</c>, or <c>","</c> when indenting), non-ASCII kept unless ensure_ascii.
/// </summary>
internal static class JsonFormatting
{
    public static string Serialize(object? value, JsonOptions options, bool undefinedAsNull)
    {
        var builder = new StringBuilder();
        Write(builder, value, options, 0, undefinedAsNull);
        return builder.ToString();
    }

    private static void Write(StringBuilder builder, object? value, JsonOptions options, int depth, bool undefinedAsNull)
    {
        switch (value)
        {
            case null:
                builder.Append("null");
                break;
            case Undefined:
                builder.Append(undefinedAsNull ? "null" : "undefined");
                break;
            case bool b:
                builder.Append(b ? "true" : "false");
                break;
            case long l:
                builder.Append(l.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                builder.Append(double.IsFinite(d) ? ValueFormatting.JsNumber(d) : "null");
                break;
            case string s:
                WriteString(builder, s, options.EnsureAscii);
                break;
            case ListValue list:
                WriteContainer(builder, '[', ']', list.Items.Select(item => (Key: (string?)null, Value: item)).ToList(),
                    options, depth, undefinedAsNull);
                break;
            case DictValue or NamespaceValue:
                var items = value is DictValue dict ? dict.Items : ((NamespaceValue)value).Items;
                var entries = items.Select(pair => (Key: (string?)pair.Key, pair.Value)).ToList();
                if (options.SortKeys)
                    entries = [.. entries.OrderBy(e => e.Key, StringComparer.InvariantCulture)];
                WriteContainer(builder, '{', '}', entries, options, depth, undefinedAsNull);
                break;
            default:
                throw new TemplateRenderException($"cannot convert {TypeNames.Of(value)} to JSON");
        }
    }

    private static void WriteContainer(StringBuilder builder, char open, char close,
        List<(string? Key, object? Value)> entries, JsonOptions options, int depth, bool undefinedAsNull)
    {
        var indent = options.Indent is > 0 ? new string(' ', options.Indent.Value) : null;
        var (itemSeparator, keySeparator) = options.Separators ?? (indent is null ? (", ", ": ") : (",", ": "));
        builder.Append(open);
        for (var i = 0; i < entries.Count; i++)
        {
            if (i > 0)
                builder.Append(itemSeparator);
            if (indent is not null)
                builder.Append('\n').Insert(builder.Length, indent, depth + 1);
            if (entries[i].Key is { } key)
            {
                WriteString(builder, key, options.EnsureAscii);
                builder.Append(keySeparator);
            }

            Write(builder, entries[i].Value, options, depth + 1, undefinedAsNull);
        }

        if (indent is not null && entries.Count > 0)
            builder.Append('\n').Insert(builder.Length, indent, depth);
        builder.Append(close);
    }

    /// <summary>JSON.stringify's string escaping; with ensure_ascii every char from U+007F up becomes \uXXXX.</summary>
    private static void WriteString(StringBuilder builder, string text, bool ensureAscii)
    {
        builder.Append('"');
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                default:
                    var loneSurrogate = char.IsHighSurrogate(c) ? i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1])
                        : char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(text[i - 1]));
                    if (c < 0x20 || loneSurrogate || (ensureAscii && c >= 0x7f))
                        builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        builder.Append(c);
                    break;
            }
        }

        builder.Append('"');
    }
}
