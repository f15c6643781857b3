namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>Unary and binary operators with the reference engine's typing rules.</summary>
internal static class Operators
{
    public static object? Unary(string op, object? operand)
    {
        if (op == "not")
            return !ValueSemantics.IsTruthy(operand);
        var sign = op == "-" ? -1 : 1;
        return operand switch
        {
            long l => (object)(sign * l),
            double d => sign * d,
            bool b => (long)(sign * (b ? 1 : 0)),
            _ => throw new TemplateRenderException($"bad operand type for unary {op}: {TypeNames.Of(operand)}"),
        };
    }

    public static object? Binary(string op, object? left, object? right)
    {
        switch (op)
        {
            case "==":
                return ValueSemantics.LooseEquals(left, right);
            case "!=":
                return !ValueSemantics.LooseEquals(left, right);
        }

        if (left is Undefined || right is Undefined)
        {
            if (right is Undefined && op is "in" or "not in")
                return op == "not in";
            throw new TemplateRenderException($"cannot apply '{op}' to an undefined value");
        }

        if (left is null || right is null)
            throw new TemplateRenderException($"cannot apply '{op}' to none");

        if (op == "~")
            return ValueFormatting.ToPrimitiveText(left) + ValueFormatting.ToPrimitiveText(right);
        if (op == "**" && left is long or double or bool && right is long or double or bool)
            return Power(left, right);
        if (ValueSemantics.IsNumber(left) && ValueSemantics.IsNumber(right))
            return Arithmetic(op, left!, right!);
        if (left is ListValue leftList && right is ListValue rightList && op == "+")
            return new ListValue([.. leftList.Items, .. rightList.Items]);
        if (right is ListValue container && op is "in" or "not in")
            return container.Items.Any(item => ValueSemantics.StrictEquals(item, left)) == (op == "in");
        if ((left is string || right is string) && op == "+")
            return ValueFormatting.ToPrimitiveText(left) + ValueFormatting.ToPrimitiveText(right);
        if (left is string needle && right is string haystack && op is "in" or "not in")
            return haystack.Contains(needle, StringComparison.Ordinal) == (op == "in");
        if (left is string key && right is DictValue dict && op is "in" or "not in")
            return dict.Items.ContainsKey(key) == (op == "in");

        throw new TemplateRenderException($"unsupported operator '{op}' between {TypeNames.Of(left)} and {TypeNames.Of(right)}");
    }

    private static object Power(object left, object right)
    {
        var a = ValueSemantics.ToDouble(left);
        var b = ValueSemantics.ToDouble(right);
        if (a == 0 && b < 0)
            throw new TemplateRenderException("0.0 cannot be raised to a negative power");
        var result = Math.Pow(a, b);
        if (!double.IsFinite(result))
            throw new TemplateRenderException("exponentiation result is not a finite real number");
        var isFloat = left is double || right is double || b < 0;
        return isFloat ? result : ToInteger(result);
    }

    private static object Arithmetic(string op, object left, object right)
    {
        var isFloat = left is double || right is double;
        if (!isFloat && op is "+" or "-" or "*" or "//" or "%")
            return IntegerArithmetic(op, (long)left, (long)right);

        var a = ValueSemantics.ToDouble(left);
        var b = ValueSemantics.ToDouble(right);
        return op switch
        {
            "+" => a + b,
            "-" => a - b,
            "*" => a * b,
            "/" => b == 0 ? throw new TemplateRenderException("division by zero") : a / b,
            "//" => b == 0 ? throw new TemplateRenderException("division by zero") : Math.Floor(a / b),
            "%" => b == 0 ? throw new TemplateRenderException("modulo by zero") : a % b,
            "<" => a < b,
            ">" => a > b,
            "<=" => a <= b,
            ">=" => a >= b,
            _ => throw new TemplateRenderException($"unsupported operator '{op}' between numbers"),
        };
    }

    private static object IntegerArithmetic(string op, long a, long b) => op switch
    {
        "+" => checked(a + b),
        "-" => checked(a - b),
        "*" => checked(a * b),
        "//" => b == 0 ? throw new TemplateRenderException("division by zero") : (long)Math.Floor((double)a / b),
        // JavaScript's % keeps the sign of the dividend (the reference engine differs from Python here).
        _ => b == 0 ? throw new TemplateRenderException("modulo by zero") : a % b,
    };

    private static object ToInteger(double value) =>
        Math.Abs(value) < 9.2e18 ? (object)(long)value : value;
}
