using FunctionsLlm.Data.Templating.Syntax;

namespace FunctionsLlm.Data.Templating.Runtime;

internal sealed partial class Interpreter
{
    public object? Evaluate(Expression expression, Scope scope)
    {
        try
        {
            return EvaluateUnpositioned(expression, scope);
        }
        catch (TemplateRenderException error) when (!error.HasPosition)
        {
            throw error.At(expression.Position);
        }
        catch (Exception error) when (error is ArithmeticException or ArgumentException or FormatException)
        {
            throw new TemplateRenderException(error.Message).At(expression.Position);
        }
    }

    private object? EvaluateUnpositioned(Expression expression, Scope scope) => expression switch
    {
        LiteralExpression literal => literal.Value,
        IdentifierExpression identifier => scope.Lookup(identifier.Name),
        ListExpression list => new ListValue(list.Items.Select(item => Evaluate(item, scope)).ToList(), list.IsTuple),
        DictExpression dict => EvaluateDict(dict, scope),
        MemberExpression member => Members.Get(Evaluate(member.Target, scope), Evaluate(member.Property, scope)),
        SliceExpression slice => EvaluateSlice(slice, scope),
        CallExpression call => EvaluateCall(call, scope),
        UnaryExpression unary => Operators.Unary(unary.Operator, Evaluate(unary.Operand, scope)),
        BinaryExpression binary => EvaluateBinary(binary, scope),
        FilterExpression filter => Filters.Apply(this, filter.Name, Evaluate(filter.Operand, scope), filter.HasParentheses,
            EvaluateArguments(filter.Arguments, filter.KeywordArguments, scope)),
        TestExpression test => TestFunctions.Run(test.Name, Evaluate(test.Operand, scope),
            test.Arguments.Select(argument => Evaluate(argument, scope)).ToList()) != test.Negated,
        SelectExpression select => ValueSemantics.IsTruthy(Evaluate(select.Condition, scope))
            ? Evaluate(select.Value, scope)
            : Undefined.Instance,
        ConditionalExpression conditional => Evaluate(
            ValueSemantics.IsTruthy(Evaluate(conditional.Condition, scope)) ? conditional.WhenTrue : conditional.WhenFalse, scope),
        _ => throw new TemplateRenderException($"unknown expression {expression.GetType().Name}"),
    };

    public CallArguments EvaluateArguments(IReadOnlyList<Expression> positional, IReadOnlyList<KeywordArgument> keywords, Scope scope)
    {
        var values = positional.Select(argument => Evaluate(argument, scope)).ToList();
        var named = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var keyword in keywords)
        {
            if (!named.TryAdd(keyword.Name, Evaluate(keyword.Value, scope)))
                throw new TemplateRenderException($"got multiple values for keyword argument '{keyword.Name}'");
        }

        return new CallArguments(values, named);
    }

    private object? EvaluateBinary(BinaryExpression binary, Scope scope)
    {
        var left = Evaluate(binary.Left, scope);
        return binary.Operator switch
        {
            "and" => ValueSemantics.IsTruthy(left) ? Evaluate(binary.Right, scope) : left,
            "or" => ValueSemantics.IsTruthy(left) ? left : Evaluate(binary.Right, scope),
            _ => Operators.Binary(binary.Operator, left, Evaluate(binary.Right, scope)),
        };
    }

    private DictValue EvaluateDict(DictExpression expression, Scope scope)
    {
        var dict = new DictValue();
        foreach (var (keyExpression, valueExpression) in expression.Entries)
        {
            if (Evaluate(keyExpression, scope) is not string key)
                throw new TemplateRenderException("dictionary keys must be strings");
            dict.Items[key] = Evaluate(valueExpression, scope);
        }

        return dict;
    }

    private object? EvaluateCall(CallExpression call, Scope scope)
    {
        var arguments = EvaluateArguments(call.Arguments, call.KeywordArguments, scope);
        var callee = Evaluate(call.Callee, scope);
        if (callee is not FunctionValue function)
        {
            var name = call.Callee switch
            {
                IdentifierExpression identifier => identifier.Name,
                MemberExpression { Property: LiteralExpression { Value: string method } } => method,
                _ => "expression",
            };
            throw new TemplateRenderException(callee is Undefined
                ? $"unknown function or method '{name}'"
                : $"'{name}' is not callable (it is a {TypeNames.Of(callee)})");
        }

        return function.Invoke(arguments, scope);
    }

    private object? EvaluateSlice(SliceExpression slice, Scope scope)
    {
        var target = Evaluate(slice.Target, scope);
        long? Bound(Expression? expression) => expression is null
            ? null
            : Evaluate(expression, scope) switch
            {
                long value => value,
                Undefined => null,
                var other => throw new TemplateRenderException($"slice indices must be integers, got {TypeNames.Of(other)}"),
            };

        var (start, stop, step) = (Bound(slice.Start), Bound(slice.Stop), Bound(slice.Step) ?? 1);
        return target switch
        {
            ListValue list => new ListValue(Slicing.Slice(list.Items, start, stop, step)),
            string text => string.Concat(Slicing.Slice(Slicing.CodePoints(text), start, stop, step)),
            _ => throw new TemplateRenderException($"cannot slice {TypeNames.Of(target)}"),
        };
    }
}
