namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>Python slice semantics (<c>[a:b:c]</c> with negative indices and steps).</summary>
internal static class Slicing
{
    public static List<T> Slice<T>(IReadOnlyList<T> items, long? start, long? stop, long step)
    {
        if (step == 0)
            throw new TemplateRenderException("slice step cannot be zero");
        long count = items.Count;
        long from, to;
        if (step > 0)
        {
            from = start is { } s ? (s < 0 ? Math.Max(count + s, 0) : Math.Min(s, count)) : 0;
            to = stop is { } e ? (e < 0 ? Math.Max(count + e, 0) : Math.Min(e, count)) : count;
        }
        else
        {
            from = start is { } s ? (s < 0 ? Math.Max(count + s, -1) : Math.Min(s, count - 1)) : count - 1;
            to = stop is { } e ? (e < -1 ? Math.Max(count + e, -1) : Math.Min(e, count - 1)) : -1;
        }

        var result = new List<T>();
        for (var i = from; step > 0 ? i < to : i > to; i += step)
            result.Add(items[(int)i]);
        return result;
    }

    /// <summary>Strings are sliced by code point (the reference uses <c>Array.from(string)</c>).</summary>
    public static List<string> CodePoints(string text)
    {
        var result = new List<string>(text.Length);
        for (var i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1)
            result.Add(char.IsSurrogatePair(text, i) ? text.Substring(i, 2) : text[i].ToString());
        return result;
    }
}
