namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>Attribute and item access (<c>x.name</c>, <c>x['name']</c>, <c>x[0]</c>) and the built-in methods.</summary>
internal static class Members
{
    public static object? Get(object? target, object? key)
    {
        switch (target)
        {
            case DictValue or NamespaceValue:
                if (key is not string name)
                    throw new TemplateRenderException($"cannot access a mapping with a {TypeNames.Of(key)} key");
                var items = target is DictValue dict ? dict.Items : ((NamespaceValue)target).Items;
                if (items.TryGetValue(name, out var value))
                    return value;
                return target is DictValue mapping ? DictMethods.Get(mapping, name) : Undefined.Instance;
            case ListValue or string:
                return key switch
                {
                    long index => Index(target, index),
                    string member => target is string text ? StringMethods.Get(text, member) : ListMember((ListValue)target, member),
                    _ => throw new TemplateRenderException($"cannot index a {TypeNames.Of(target)} with a {TypeNames.Of(key)}"),
                };
            default:
                if (key is not string)
                    throw new TemplateRenderException($"cannot index {TypeNames.Of(target)} with a {TypeNames.Of(key)}");
                return Undefined.Instance;
        }
    }

    /// <summary>Like JavaScript's <c>Array.prototype.at</c>: negative indices count from the end, out of range is undefined.</summary>
    private static object? Index(object target, long index)
    {
        var count = target is string s ? s.Length : ((ListValue)target).Items.Count;
        if (index < 0)
            index += count;
        if (index < 0 || index >= count)
            return Undefined.Instance;
        return target is string text ? text[(int)index].ToString() : ((ListValue)target).Items[(int)index];
    }

    private static object? ListMember(ListValue list, string name) =>
        name == "length" ? (long)list.Items.Count : Undefined.Instance;
}
