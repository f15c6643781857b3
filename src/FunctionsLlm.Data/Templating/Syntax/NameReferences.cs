namespace FunctionsLlm.Data.Templating.Syntax;

/// <summary>Finds whether a macro body mentions a variable (used to decide if it accepts varargs/kwargs).</summary>
internal static class NameReferences
{
    public static bool Contains(IReadOnlyList<Statement> body, string name) => body.Any(statement => Contains(statement, name));

    private static bool Contains(Statement statement, string name) => statement switch
    {
        OutputStatement output => Contains(output.Value, name),
        IfStatement branch => Contains(branch.Condition, name) || Contains(branch.Body, name) || Contains(branch.Else, name),
        ForStatement loop => Contains(loop.Iterable, name) || (loop.Filter is not null && Contains(loop.Filter, name))
            || Contains(loop.Body, name) || Contains(loop.Else, name),
        SetStatement set => (set.Value is not null && Contains(set.Value, name)) || Contains(set.Body, name),
        CallBlockStatement call => Contains(call.Call, name) || Contains(call.Body, name),
        _ => false,
    };

    private static bool Contains(Expression expression, string name) => expression switch
    {
        IdentifierExpression identifier => identifier.Name == name,
        ListExpression list => list.Items.Any(item => Contains(item, name)),
        DictExpression dict => dict.Entries.Any(entry => Contains(entry.Key, name) || Contains(entry.Value, name)),
        MemberExpression member => Contains(member.Target, name) || Contains(member.Property, name),
        SliceExpression slice => new[] { slice.Target, slice.Start, slice.Stop, slice.Step }
            .Any(part => part is not null && Contains(part, name)),
        CallExpression call => Contains(call.Callee, name) || call.Arguments.Any(a => Contains(a, name))
            || call.KeywordArguments.Any(k => Contains(k.Value, name)),
        UnaryExpression unary => Contains(unary.Operand, name),
        BinaryExpression binary => Contains(binary.Left, name) || Contains(binary.Right, name),
        FilterExpression filter => Contains(filter.Operand, name) || filter.Arguments.Any(a => Contains(a, name))
            || filter.KeywordArguments.Any(k => Contains(k.Value, name)),
        TestExpression test => Contains(test.Operand, name) || test.Arguments.Any(a => Contains(a, name)),
        SelectExpression select => Contains(select.Value, name) || Contains(select.Condition, name),
        ConditionalExpression conditional => Contains(conditional.Condition, name)
            || Contains(conditional.WhenTrue, name) || Contains(conditional.WhenFalse, name),
        _ => false,
    };
}
