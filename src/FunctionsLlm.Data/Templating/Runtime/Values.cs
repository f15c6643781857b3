namespace FunctionsLlm.Data.Templating.Runtime;

// Runtime values are: null (None), Undefined, bool, long, double, string, ListValue, DictValue, NamespaceValue
// and FunctionValue. Integers and floats stay distinct because they print differently (2 vs 2.0).

/// <summary>Jinja's Undefined: falsy, prints nothing, and attribute access on it yields Undefined again.</summary>
internal sealed class Undefined
{
    public static readonly Undefined Instance = new();

    private Undefined()
    {
    }

    public override string ToString() => "undefined";
}

/// <summary>A list, or a tuple when <see cref="IsTuple"/> (tuples only differ when a filter insists on one).</summary>
internal sealed class ListValue(List<object?> items, bool isTuple = false)
{
    public List<object?> Items { get; } = items;

    public bool IsTuple { get; } = isTuple;
}

/// <summary>An insertion-ordered mapping with string keys.</summary>
internal sealed class DictValue(OrderedDictionary<string, object?> items)
{
    public DictValue()
        : this(new OrderedDictionary<string, object?>(StringComparer.Ordinal))
    {
    }

    public OrderedDictionary<string, object?> Items { get; } = items;
}

/// <summary>The object returned by <c>namespace(...)</c>; the only value whose attributes <c>set</c> may assign.</summary>
internal sealed class NamespaceValue(OrderedDictionary<string, object?> items)
{
    public OrderedDictionary<string, object?> Items { get; } = items;
}

internal sealed record CallArguments(IReadOnlyList<object?> Positional, IReadOnlyDictionary<string, object?> Keywords)
{
    public static readonly CallArguments None = new([], new Dictionary<string, object?>());

    public object? PositionalOrKeyword(int index, string name) =>
        index < Positional.Count ? Positional[index] : Keywords.TryGetValue(name, out var value) ? value : Undefined.Instance;
}

/// <summary>A callable: a global function, a bound string/dict method or a macro.</summary>
internal sealed class FunctionValue(string name, Func<CallArguments, Scope, object?> invoke)
{
    public string Name { get; } = name;

    public object? Invoke(CallArguments arguments, Scope callerScope) => invoke(arguments, callerScope);
}
