namespace FunctionsLlm.Data.Templating.Syntax;

internal enum TokenKind
{
    Text,
    Comment,
    NumericLiteral,
    StringLiteral,
    Identifier,
    Equals,
    OpenParen,
    CloseParen,
    OpenStatement,
    CloseStatement,
    OpenExpression,
    CloseExpression,
    OpenSquareBracket,
    CloseSquareBracket,
    OpenCurlyBracket,
    CloseCurlyBracket,
    Comma,
    Dot,
    Colon,
    Pipe,
    AdditiveOperator,
    MultiplicativeOperator,
    ExponentiationOperator,
    ComparisonOperator,
    UnaryOperator,
}

/// <summary>A lexed token; <see cref="Position"/> points into the original (not preprocessed) source.</summary>
internal sealed class Token(TokenKind kind, string value, SourcePosition position)
{
    public TokenKind Kind { get; } = kind;

    public string Value { get; set; } = value;

    public SourcePosition Position { get; } = position;

    public override string ToString() => $"{Kind} '{Value}'";
}
