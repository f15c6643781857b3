using System.Text;
using System.Text.RegularExpressions;

namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>
/// String methods as the reference engine implements them. Note: <c>strip/lstrip/rstrip</c> ignore a chars argument
/// and trim whitespace, and <c>capitalize</c>/<c>title</c> leave the other letters alone, exactly like @huggingface/jinja.
/// </summary>
internal static partial class StringMethods
{
    [GeneratedRegex(@"\b[A-Za-z0-9_]", RegexOptions.ECMAScript)]
    private static partial Regex WordStart();

    [GeneratedRegex(@"[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+")]
    private static partial Regex NonWhitespaceRun();

    public static object? Get(string text, string name) => name switch
    {
        "length" => (long)text.Length,
        "upper" => Method(name, _ => text.ToUpperInvariant()),
        "lower" => Method(name, _ => text.ToLowerInvariant()),
        "strip" => Method(name, _ => JsText.Trim(text)),
        "lstrip" => Method(name, _ => JsText.TrimStart(text)),
        "rstrip" => Method(name, _ => JsText.TrimEnd(text)),
        "title" => Method(name, _ => Title(text)),
        "capitalize" => Method(name, _ => Capitalize(text)),
        "startswith" => Method(name, args => Affix(text, args, name, (s, p) => s.StartsWith(p, StringComparison.Ordinal))),
        "endswith" => Method(name, args => Affix(text, args, name, (s, p) => s.EndsWith(p, StringComparison.Ordinal))),
        "split" => Method(name, args => Split(text, args)),
        "replace" => Method(name, args => Replace(text, args)),
        "join" => Method(name, args => Join(text, args)),
        _ => Undefined.Instance,
    };

    public static string Title(string text) => WordStart().Replace(text, match => match.Value.ToUpperInvariant());

    public static string Capitalize(string text) =>
        text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    public static string Replace(string text, CallArguments args)
    {
        if (args.PositionalOrKeyword(0, "old") is not string oldValue || args.PositionalOrKeyword(1, "new") is not string newValue)
            throw new TemplateRenderException("replace() arguments must be strings");
        var count = args.PositionalOrKeyword(2, "count") switch
        {
            Undefined or null => -1,
            long l => l,
            _ => throw new TemplateRenderException("replace() count must be an integer"),
        };
        if (count == 0)
            return text;
        if (oldValue.Length == 0)
            return ReplaceEmpty(text, newValue, count);

        var builder = new StringBuilder();
        var position = 0;
        for (var replaced = 0L; count < 0 || replaced < count; replaced++)
        {
            var found = text.IndexOf(oldValue, position, StringComparison.Ordinal);
            if (found < 0)
                break;
            builder.Append(text, position, found - position).Append(newValue);
            position = found + oldValue.Length;
        }

        return builder.Append(text, position, text.Length - position).ToString();
    }

    private static FunctionValue Method(string name, Func<CallArguments, object?> body) => new(name, (args, _) => body(args));

    /// <summary>An empty pattern inserts before every code point and at the end, as the reference's regex does.</summary>
    private static string ReplaceEmpty(string text, string newValue, long count)
    {
        var builder = new StringBuilder();
        var remaining = count < 0 ? long.MaxValue : count;
        foreach (var codePoint in Slicing.CodePoints(text))
        {
            if (remaining-- > 0)
                builder.Append(newValue);
            builder.Append(codePoint);
        }

        if (remaining > 0)
            builder.Append(newValue);
        return builder.ToString();
    }

    private static bool Affix(string text, CallArguments args, string name, Func<string, string, bool> matches) =>
        args.PositionalOrKeyword(0, "prefix") switch
        {
            string pattern => matches(text, pattern),
            ListValue list => list.Items.Any(item => item is string pattern
                ? matches(text, pattern)
                : throw new TemplateRenderException($"{name}() tuple elements must be strings")),
            _ => throw new TemplateRenderException($"{name}() argument must be a string or a tuple of strings"),
        };

    private static ListValue Split(string text, CallArguments args)
    {
        var separator = args.PositionalOrKeyword(0, "sep");
        var maxSplit = args.PositionalOrKeyword(1, "maxsplit") switch
        {
            Undefined => -1,
            long l => l,
            _ => throw new TemplateRenderException("split() maxsplit must be an integer"),
        };

        var parts = new List<object?>();
        if (separator is null or Undefined)
        {
            var trimmed = JsText.TrimStart(text);
            foreach (Match match in NonWhitespaceRun().Matches(trimmed))
            {
                if (maxSplit != -1 && parts.Count >= maxSplit)
                {
                    parts.Add(trimmed[match.Index..]);
                    break;
                }

                parts.Add(match.Value);
            }

            return new ListValue(parts);
        }

        if (separator is not string sep)
            throw new TemplateRenderException("split() separator must be a string or none");
        if (sep.Length == 0)
            throw new TemplateRenderException("split() separator must not be empty");
        var pieces = text.Split(sep);
        if (maxSplit != -1 && pieces.Length > maxSplit)
            pieces = [.. pieces.Take((int)maxSplit), string.Join(sep, pieces.Skip((int)maxSplit))];
        return new ListValue(pieces.Cast<object?>().ToList());
    }

    /// <summary><c>sep.join(items)</c> with Python semantics (the reference engine has no such method).</summary>
    private static string Join(string separator, CallArguments args) => args.PositionalOrKeyword(0, "iterable") switch
    {
        ListValue list => string.Join(separator, list.Items.Select(item => item as string
            ?? throw new TemplateRenderException($"join() expects strings, got {TypeNames.Of(item)}"))),
        string text => string.Join(separator, Slicing.CodePoints(text)),
        var other => throw new TemplateRenderException($"join() argument must be a list of strings, got {TypeNames.Of(other)}"),
    };
}
