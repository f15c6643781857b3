namespace FunctionsLlm.Data.Templating.Syntax;

internal abstract record Statement(SourcePosition Position);

internal sealed record TextStatement(SourcePosition Position, string Text) : Statement(Position);

internal sealed record OutputStatement(SourcePosition Position, Expression Value) : Statement(Position);

internal sealed record IfStatement(
    SourcePosition Position, Expression Condition, IReadOnlyList<Statement> Body, IReadOnlyList<Statement> Else)
    : Statement(Position);

/// <summary>Target is an identifier or a tuple of identifiers; Filter is the optional <c>if</c> clause.</summary>
internal sealed record ForStatement(
    SourcePosition Position, Expression Target, Expression Iterable, Expression? Filter,
    IReadOnlyList<Statement> Body, IReadOnlyList<Statement> Else)
    : Statement(Position);

internal sealed record BreakStatement(SourcePosition Position) : Statement(Position);

internal sealed record ContinueStatement(SourcePosition Position) : Statement(Position);

/// <summary><c>set target = value</c> or the block form <c>set target %}body{% endset</c> (Value is null).</summary>
internal sealed record SetStatement(
    SourcePosition Position, Expression Target, Expression? Value, IReadOnlyList<Statement> Body)
    : Statement(Position);

internal sealed record MacroParameter(string Name, Expression? Default);

internal sealed record MacroStatement(
    SourcePosition Position, string Name, IReadOnlyList<MacroParameter> Parameters, IReadOnlyList<Statement> Body)
    : Statement(Position);

internal sealed record CallBlockStatement(
    SourcePosition Position, CallExpression Call, IReadOnlyList<MacroParameter> CallerParameters,
    IReadOnlyList<Statement> Body)
    : Statement(Position);
