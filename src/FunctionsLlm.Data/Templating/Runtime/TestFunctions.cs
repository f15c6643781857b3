namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>Jinja tests (<c>x is defined</c>, <c>x is equalto 3</c>, ...), typed as in the reference engine.</summary>
internal static class TestFunctions
{
    public static bool Run(string name, object? value, IReadOnlyList<object?> args)
    {
        object? Argument() => args.Count > 0
            ? args[0]
            : throw new TemplateRenderException($"test '{name}' needs an argument");

        return name switch
        {
            "defined" => value is not Undefined,
            "undefined" => value is Undefined,
            "none" => value is null,
            "boolean" => value is bool,
            "true" => value is true,
            "false" => value is false,
            "string" => value is string,
            "number" => value is long or double,
            "integer" => value is long,
            "float" => value is double,
            "mapping" => value is DictValue,
            "iterable" => value is ListValue or string,
            "sequence" => value is ListValue or DictValue or string,
            "callable" => value is FunctionValue,
            "lower" => value is string lower && lower == lower.ToLowerInvariant(),
            "upper" => value is string upper && upper == upper.ToUpperInvariant(),
            "odd" => Integer(name, value) % 2 != 0,
            "even" => Integer(name, value) % 2 == 0,
            "divisibleby" => Integer(name, Argument()) is var divisor && divisor != 0
                ? Integer(name, value) % divisor == 0
                : throw new TemplateRenderException("divisibleby 0"),
            "equalto" or "eq" or "==" or "sameas" => ValueSemantics.StrictEquals(value, Argument()),
            "ne" or "!=" => !ValueSemantics.StrictEquals(value, Argument()),
            "lt" or "<" => Order(value, Argument()) < 0,
            "le" or "<=" => Order(value, Argument()) <= 0,
            "gt" or ">" => Order(value, Argument()) > 0,
            "ge" or ">=" => Order(value, Argument()) >= 0,
            "in" => Contains(Argument(), value),
            _ => throw new TemplateRenderException($"unknown test '{name}'"),
        };
    }

    private static long Integer(string test, object? value) =>
        value as long? ?? throw new TemplateRenderException($"test '{test}' needs an integer, got {TypeNames.Of(value)}");

    private static int Order(object? left, object? right) => ValueSemantics.Compare(left, right, caseSensitive: true);

    private static bool Contains(object? container, object? item) => container switch
    {
        ListValue list => list.Items.Any(element => ValueSemantics.StrictEquals(element, item)),
        string text when item is string part => text.Contains(part, StringComparison.Ordinal),
        DictValue dict when item is string key => dict.Items.ContainsKey(key),
        _ => throw new TemplateRenderException($"test 'in' cannot look into {TypeNames.Of(container)}"),
    };
}
