namespace FunctionsLlm.Data.Templating.Syntax;

internal abstract record Expression(SourcePosition Position);

internal sealed record LiteralExpression(SourcePosition Position, object? Value) : Expression(Position);

internal sealed record IdentifierExpression(SourcePosition Position, string Name) : Expression(Position);

internal sealed record ListExpression(SourcePosition Position, IReadOnlyList<Expression> Items, bool IsTuple)
    : Expression(Position);

internal sealed record DictExpression(SourcePosition Position, IReadOnlyList<(Expression Key, Expression Value)> Entries)
    : Expression(Position);

/// <summary><c>object.name</c> (Property is a string literal) or <c>object[expr]</c>.</summary>
internal sealed record MemberExpression(SourcePosition Position, Expression Target, Expression Property)
    : Expression(Position);

internal sealed record SliceExpression(
    SourcePosition Position, Expression Target, Expression? Start, Expression? Stop, Expression? Step)
    : Expression(Position);

internal sealed record KeywordArgument(string Name, Expression Value);

internal sealed record CallExpression(
    SourcePosition Position, Expression Callee, IReadOnlyList<Expression> Arguments,
    IReadOnlyList<KeywordArgument> KeywordArguments)
    : Expression(Position);

internal sealed record UnaryExpression(SourcePosition Position, string Operator, Expression Operand)
    : Expression(Position);

internal sealed record BinaryExpression(SourcePosition Position, string Operator, Expression Left, Expression Right)
    : Expression(Position);

/// <summary><c>operand | name(args)</c>; HasParentheses distinguishes <c>|f</c> from <c>|f()</c>.</summary>
internal sealed record FilterExpression(
    SourcePosition Position, Expression Operand, string Name, bool HasParentheses,
    IReadOnlyList<Expression> Arguments, IReadOnlyList<KeywordArgument> KeywordArguments)
    : Expression(Position);

internal sealed record TestExpression(
    SourcePosition Position, Expression Operand, string Name, bool Negated, IReadOnlyList<Expression> Arguments)
    : Expression(Position);

/// <summary><c>value if condition</c> without an else branch (undefined when the condition is false).</summary>
internal sealed record SelectExpression(SourcePosition Position, Expression Value, Expression Condition)
    : Expression(Position);

internal sealed record ConditionalExpression(
    SourcePosition Position, Expression Condition, Expression WhenTrue, Expression WhenFalse)
    : Expression(Position);
