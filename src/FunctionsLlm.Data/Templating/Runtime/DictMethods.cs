namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>Methods of mappings: <c>get</c>, <c>items</c>, <c>keys</c>, <c>values</c>, <c>dictsort</c>.</summary>
internal static class DictMethods
{
    public static object? Get(DictValue dict, string name) => name switch
    {
        "get" => new FunctionValue(name, (args, _) => GetItem(dict, args)),
        "items" => new FunctionValue(name, (_, _) => Items(dict)),
        "keys" => new FunctionValue(name, (_, _) => new ListValue(dict.Items.Keys.Cast<object?>().ToList())),
        "values" => new FunctionValue(name, (_, _) => new ListValue(dict.Items.Values.ToList())),
        "dictsort" => new FunctionValue(name, (args, _) => DictSort(dict, args)),
        _ => Undefined.Instance,
    };

    public static ListValue Items(DictValue dict) =>
        new(dict.Items.Select(pair => (object?)new ListValue([pair.Key, pair.Value])).ToList());

    private static object? GetItem(DictValue dict, CallArguments args)
    {
        if (args.PositionalOrKeyword(0, "key") is not string key)
            throw new TemplateRenderException("dict.get() key must be a string");
        if (dict.Items.TryGetValue(key, out var value))
            return value;
        return args.PositionalOrKeyword(1, "default") is Undefined ? null : args.PositionalOrKeyword(1, "default");
    }

    public static ListValue DictSort(DictValue dict, CallArguments args)
    {
        var caseSensitive = Arguments.Bool(args.PositionalOrKeyword(0, "case_sensitive"), false, "case_sensitive");
        var by = args.PositionalOrKeyword(1, "by") switch
        {
            Undefined => "key",
            string s when s is "key" or "value" => s,
            _ => throw new TemplateRenderException("dictsort 'by' must be 'key' or 'value'"),
        };
        var reverse = Arguments.Bool(args.PositionalOrKeyword(2, "reverse"), false, "reverse");
        var index = by == "key" ? 0 : 1;
        var sorted = Items(dict).Items.Cast<ListValue>().OrderBy(pair => pair, Comparer<ListValue>.Create((a, b) =>
        {
            var result = ValueSemantics.Compare(a.Items[index], b.Items[index], caseSensitive);
            return reverse ? -result : result;
        }));
        return new ListValue(sorted.Cast<object?>().ToList());
    }
}

/// <summary>Argument validation shared by filters and methods.</summary>
internal static class Arguments
{
    public static bool Bool(object? value, bool fallback, string name) => value switch
    {
        Undefined => fallback,
        bool b => b,
        _ => throw new TemplateRenderException($"'{name}' must be a boolean"),
    };

    public static string String(object? value, string fallback, string name) => value switch
    {
        Undefined => fallback,
        string s => s,
        _ => throw new TemplateRenderException($"'{name}' must be a string"),
    };

    public static long Integer(object? value, long fallback, string name) => value switch
    {
        Undefined => fallback,
        long l => l,
        _ => throw new TemplateRenderException($"'{name}' must be an integer"),
    };
}
