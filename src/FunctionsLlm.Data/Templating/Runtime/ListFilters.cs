namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>Filters on lists: first, last, length, reverse, sort, unique, join, selectattr/rejectattr, map, select/reject.</summary>
internal static class ListFilters
{
    public static bool TryApply(Interpreter interpreter, string name, ListValue list, CallArguments args, out object? result)
    {
        var items = list.Items;
        result = name switch
        {
            "list" => list,
            "first" => items.Count > 0 ? items[0] : Undefined.Instance,
            "last" => items.Count > 0 ? items[^1] : Undefined.Instance,
            "length" => (long)items.Count,
            "reverse" => new ListValue(Enumerable.Reverse(items).ToList()),
            "string" => ValueFormatting.ToText(list),
            "unique" => new ListValue(Unique(items)),
            "sort" => Sort(items, args),
            "selectattr" or "rejectattr" => SelectAttribute(items, args, keep: name == "selectattr"),
            "select" or "reject" => Select(items, args, keep: name == "select"),
            "map" => Map(interpreter, items, args),
            _ => Undefined.Instance,
        };
        return result is not Undefined || name is "first" or "last";
    }

    private static List<object?> Unique(List<object?> items)
    {
        var unique = new List<object?>();
        foreach (var item in items)
        {
            if (!unique.Any(seen => ValueSemantics.StrictEquals(seen, item)))
                unique.Add(item);
        }

        return unique;
    }

    private static ListValue Sort(List<object?> items, CallArguments args)
    {
        var reverse = Arguments.Bool(args.PositionalOrKeyword(0, "reverse"), false, "reverse");
        var caseSensitive = Arguments.Bool(args.PositionalOrKeyword(1, "case_sensitive"), false, "case_sensitive");
        var attribute = args.PositionalOrKeyword(2, "attribute") switch
        {
            Undefined or null => null,
            string s => s,
            long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => throw new TemplateRenderException("sort attribute must be a string or an integer"),
        };
        object? SortKey(object? item) => attribute is null ? item : AttributePath(item, attribute);
        var sorted = items.OrderBy(item => item, Comparer<object?>.Create((a, b) =>
        {
            var result = ValueSemantics.Compare(SortKey(a), SortKey(b), caseSensitive);
            return reverse ? -result : result;
        }));
        return new ListValue(sorted.ToList());
    }

    /// <summary>Follows a dotted path ("a.b.0") through mappings and lists; undefined when a step is missing.</summary>
    private static object? AttributePath(object? item, string path)
    {
        var value = item;
        foreach (var part in path.Split('.'))
        {
            value = value switch
            {
                DictValue dict => dict.Items.GetValueOrDefault(part, Undefined.Instance),
                NamespaceValue ns => ns.Items.GetValueOrDefault(part, Undefined.Instance),
                ListValue list when int.TryParse(part, out var index) && index >= 0 && index < list.Items.Count => list.Items[index],
                _ => Undefined.Instance,
            };
            if (value is Undefined)
                return value;
        }

        return value;
    }

    private static ListValue SelectAttribute(List<object?> items, CallArguments args, bool keep)
    {
        var attribute = args.PositionalOrKeyword(0, "attribute") as string
            ?? throw new TemplateRenderException("selectattr/rejectattr need an attribute name");
        var testName = args.Positional.Count > 1 ? args.Positional[1] as string
            ?? throw new TemplateRenderException("the test name of selectattr/rejectattr must be a string") : null;
        var testArguments = args.Positional.Skip(2).ToList();
        var selected = new List<object?>();
        foreach (var item in items)
        {
            var fields = item switch
            {
                DictValue dict => dict.Items,
                NamespaceValue ns => ns.Items,
                _ => throw new TemplateRenderException("selectattr/rejectattr can only be applied to a list of mappings"),
            };

            // Like the reference engine, an item without the attribute fails the test (so rejectattr keeps it).
            var passes = fields.TryGetValue(attribute, out var value)
                && (testName is null ? ValueSemantics.IsTruthy(value) : TestFunctions.Run(testName, value, testArguments));
            if (passes == keep)
                selected.Add(item);
        }

        return new ListValue(selected);
    }

    private static ListValue Select(List<object?> items, CallArguments args, bool keep)
    {
        var testName = args.Positional.Count > 0 ? args.Positional[0] as string
            ?? throw new TemplateRenderException("the test name of select/reject must be a string") : null;
        var testArguments = args.Positional.Skip(1).ToList();
        return new ListValue(items.Where(item =>
            (testName is null ? ValueSemantics.IsTruthy(item) : TestFunctions.Run(testName, item, testArguments)) == keep).ToList());
    }

    private static ListValue Map(Interpreter interpreter, List<object?> items, CallArguments args)
    {
        if (args.Keywords.TryGetValue("attribute", out var attributeValue))
        {
            var attribute = attributeValue as string ?? throw new TemplateRenderException("map attribute must be a string");
            var fallback = args.Keywords.GetValueOrDefault("default", Undefined.Instance);
            return new ListValue(items.Select(item =>
            {
                if (item is not (DictValue or NamespaceValue))
                    throw new TemplateRenderException("map(attribute=...) can only be applied to a list of mappings");
                var value = AttributePath(item, attribute);
                return value is Undefined ? fallback : value;
            }).ToList());
        }

        if (args.Positional.Count == 0 || args.Positional[0] is not string filterName)
            throw new TemplateRenderException("map needs a filter name or attribute=");
        var filterArguments = new CallArguments(args.Positional.Skip(1).ToList(), args.Keywords);
        var hasArguments = filterArguments.Positional.Count > 0 || filterArguments.Keywords.Count > 0;
        return new ListValue(items.Select(item => Filters.Apply(interpreter, filterName, item, hasArguments, filterArguments)).ToList());
    }
}
