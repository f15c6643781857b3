using System.Globalization;

namespace FunctionsLlm.Data.Templating.Syntax;

/// <summary>Expression grammar with @huggingface/jinja's precedence (tests and filters bind tighter than arithmetic).</summary>
internal sealed partial class Parser
{
    private static readonly HashSet<string> TestArgumentStoppers = ["and", "or", "else", "if", "in", "not", "is"];

    private Expression ParseExpression()
    {
        var value = ParseLogicalOr();
        if (!IsIdentifier("if"))
            return value;
        var ifToken = _tokens[_current++];
        var condition = ParseLogicalOr();
        if (!IsIdentifier("else"))
            return new SelectExpression(ifToken.Position, value, condition);
        _current++;
        return new ConditionalExpression(ifToken.Position, condition, value, ParseExpression());
    }

    private Expression ParseExpressionSequence(bool primaryOnly)
    {
        var first = primaryOnly ? ParsePrimary() : ParseExpression();
        if (!Is(TokenKind.Comma))
            return first;
        var items = new List<Expression> { first };
        while (Is(TokenKind.Comma))
        {
            _current++;
            items.Add(primaryOnly ? ParsePrimary() : ParseExpression());
        }

        return new ListExpression(first.Position, items, IsTuple: true);
    }

    private Expression ParseLogicalOr()
    {
        var left = ParseLogicalAnd();
        while (IsIdentifier("or"))
        {
            var op = _tokens[_current++];
            left = new BinaryExpression(op.Position, "or", left, ParseLogicalAnd());
        }

        return left;
    }

    private Expression ParseLogicalAnd()
    {
        var left = ParseLogicalNot();
        while (IsIdentifier("and"))
        {
            var op = _tokens[_current++];
            left = new BinaryExpression(op.Position, "and", left, ParseLogicalNot());
        }

        return left;
    }

    private Expression ParseLogicalNot()
    {
        if (!IsIdentifier("not"))
            return ParseComparison();
        var op = _tokens[_current++];
        return new UnaryExpression(op.Position, "not", ParseLogicalNot());
    }

    private Expression ParseComparison()
    {
        var left = ParseAdditive();
        while (true)
        {
            string op;
            var token = Peek();
            if (token is null)
                return left;
            if (IsIdentifier("not") && IsIdentifier("in", 1))
            {
                op = "not in";
                _current += 2;
            }
            else if (IsIdentifier("in") || token.Kind == TokenKind.ComparisonOperator)
            {
                op = token.Value;
                _current++;
            }
            else
            {
                return left;
            }

            left = new BinaryExpression(token.Position, op, left, ParseAdditive());
        }
    }

    private Expression ParseAdditive()
    {
        var left = ParseMultiplicative();
        while (Is(TokenKind.AdditiveOperator))
        {
            var op = _tokens[_current++];
            left = new BinaryExpression(op.Position, op.Value, left, ParseMultiplicative());
        }

        return left;
    }

    private Expression ParseMultiplicative()
    {
        var left = ParsePower();
        while (Is(TokenKind.MultiplicativeOperator))
        {
            var op = _tokens[_current++];
            left = new BinaryExpression(op.Position, op.Value, left, ParsePower());
        }

        return left;
    }

    private Expression ParsePower()
    {
        var left = ParseTest();
        while (Is(TokenKind.ExponentiationOperator))
        {
            var op = _tokens[_current++];
            left = new BinaryExpression(op.Position, "**", left, ParseTest());
        }

        return left;
    }

    private Expression ParseTest()
    {
        var operand = ParseFilter();
        while (IsIdentifier("is"))
        {
            var isToken = _tokens[_current++];
            var negated = IsIdentifier("not");
            if (negated)
                _current++;
            if (Peek() is not { Kind: TokenKind.Identifier } name)
                throw Error("expected a test name after 'is'", Peek() ?? isToken);
            _current++;
            var arguments = new List<Expression>();
            if (Is(TokenKind.OpenParen))
            {
                _current++;
                var (positional, keywords) = ParseArgumentList(name);
                if (keywords.Count > 0)
                    throw Error($"test '{name.Value}' does not take keyword arguments", name);
                arguments.AddRange(positional);
            }
            else if (StartsTestArgument())
            {
                arguments.Add(ParseCallMember());
            }

            operand = new TestExpression(isToken.Position, operand, name.Value, negated, arguments);
        }

        return operand;
    }

    private bool StartsTestArgument() => Peek() switch
    {
        { Kind: TokenKind.Identifier } token => !TestArgumentStoppers.Contains(token.Value),
        { Kind: TokenKind.StringLiteral or TokenKind.NumericLiteral or TokenKind.OpenSquareBracket or TokenKind.OpenCurlyBracket } => true,
        _ => false,
    };

    private Expression ParseFilter()
    {
        var operand = ParseUnarySign();
        while (Is(TokenKind.Pipe))
        {
            _current++;
            if (Peek() is not { Kind: TokenKind.Identifier } name)
                throw Error("expected a filter name after '|'", Peek() ?? _tokens[_current - 1]);
            _current++;
            if (!Is(TokenKind.OpenParen))
            {
                operand = new FilterExpression(name.Position, operand, name.Value, false, [], []);
                continue;
            }

            _current++;
            var (positional, keywords) = ParseArgumentList(name);
            operand = new FilterExpression(name.Position, operand, name.Value, true, positional, keywords);
        }

        return operand;
    }

    private Expression ParseUnarySign()
    {
        if (Peek() is { Kind: TokenKind.UnaryOperator or TokenKind.AdditiveOperator, Value: "-" or "+" } op)
        {
            _current++;
            return new UnaryExpression(op.Position, op.Value, ParseUnarySign());
        }

        return ParseCallMember();
    }

    private Expression ParseCallMember()
    {
        var expression = ParsePrimary();
        while (true)
        {
            var token = Peek();
            if (token is null)
                return expression;
            switch (token.Kind)
            {
                case TokenKind.Dot:
                    _current++;
                    var property = Peek();
                    if (property is not { Kind: TokenKind.Identifier or TokenKind.NumericLiteral })
                        throw Error("expected an attribute name after '.'", property ?? token);
                    _current++;
                    object key = property.Kind == TokenKind.Identifier
                        ? property.Value
                        : long.Parse(property.Value, CultureInfo.InvariantCulture);
                    expression = new MemberExpression(token.Position, expression, new LiteralExpression(property.Position, key));
                    break;
                case TokenKind.OpenSquareBracket:
                    _current++;
                    expression = ParseSubscript(expression, token);
                    break;
                case TokenKind.OpenParen:
                    _current++;
                    var (positional, keywords) = ParseArgumentList(token);
                    expression = new CallExpression(token.Position, expression, positional, keywords);
                    break;
                default:
                    return expression;
            }
        }
    }

    private Expression ParseSubscript(Expression target, Token open)
    {
        var parts = new List<Expression?>();
        var isSlice = false;
        while (!Is(TokenKind.CloseSquareBracket))
        {
            if (AtEnd)
                throw Error("unclosed '['", open);
            if (Is(TokenKind.Colon))
            {
                parts.Add(null);
                _current++;
                isSlice = true;
                continue;
            }

            parts.Add(ParseExpression());
            if (Is(TokenKind.Colon))
            {
                _current++;
                isSlice = true;
            }
            else if (!Is(TokenKind.CloseSquareBracket))
            {
                throw Error($"expected ']' but found {Describe(Peek() ?? open)}", Peek() ?? open);
            }
        }

        _current++;
        if (parts.Count == 0)
            throw Error("expected an index or a slice inside '[]'", open);
        if (!isSlice)
            return new MemberExpression(open.Position, target, parts[0]!);
        if (parts.Count > 3)
            throw Error("a slice takes at most 3 parts", open);
        return new SliceExpression(open.Position, target, parts[0], parts.ElementAtOrDefault(1), parts.ElementAtOrDefault(2));
    }

    /// <summary>Parses arguments up to and including the closing parenthesis (the opening one is consumed).</summary>
    private (List<Expression> Positional, List<KeywordArgument> Keywords) ParseArgumentList(Token open)
    {
        var positional = new List<Expression>();
        var keywords = new List<KeywordArgument>();
        while (!Is(TokenKind.CloseParen))
        {
            if (AtEnd)
                throw Error("unclosed '(' in argument list", open);
            if (Is(TokenKind.MultiplicativeOperator) || Is(TokenKind.ExponentiationOperator))
                throw Error("argument unpacking ('*' / '**') is not supported", _tokens[_current]);
            if (Peek() is { Kind: TokenKind.Identifier } name && Peek(1)?.Kind == TokenKind.Equals)
            {
                _current += 2;
                keywords.Add(new KeywordArgument(name.Value, ParseExpression()));
            }
            else
            {
                if (keywords.Count > 0)
                    throw Error("positional argument follows keyword argument", Peek()!);
                positional.Add(ParseExpression());
            }

            if (Is(TokenKind.Comma))
                _current++;
            else if (!Is(TokenKind.CloseParen))
                throw Error($"expected ',' or ')' but found {Describe(Peek() ?? open)}", Peek() ?? open);
        }

        _current++;
        return (positional, keywords);
    }

    private Expression ParsePrimary()
    {
        var token = Peek() ?? throw Error("unexpected end of template inside an expression", _tokens[^1]);
        _current++;
        switch (token.Kind)
        {
            case TokenKind.NumericLiteral:
                return new LiteralExpression(token.Position, token.Value.Contains('.')
                    ? (object)double.Parse(token.Value, CultureInfo.InvariantCulture)
                    : long.Parse(token.Value, CultureInfo.InvariantCulture));
            case TokenKind.StringLiteral:
                var text = token.Value;
                while (Is(TokenKind.StringLiteral))
                    text += _tokens[_current++].Value;
                return new LiteralExpression(token.Position, text);
            case TokenKind.Identifier:
                return new IdentifierExpression(token.Position, token.Value);
            case TokenKind.OpenParen:
                var inner = ParseExpressionSequence(primaryOnly: false);
                Expect(TokenKind.CloseParen, ")", token);
                return inner;
            case TokenKind.OpenSquareBracket:
                return new ListExpression(token.Position, ParseItems(TokenKind.CloseSquareBracket, "]", token), IsTuple: false);
            case TokenKind.OpenCurlyBracket:
                return ParseDict(token);
            default:
                throw Error($"unexpected {Describe(token)}", token);
        }
    }

    private List<Expression> ParseItems(TokenKind close, string symbol, Token open)
    {
        var items = new List<Expression>();
        while (!Is(close))
        {
            if (AtEnd)
                throw Error($"unclosed '{open.Value}' (missing '{symbol}')", open);
            items.Add(ParseExpression());
            if (Is(TokenKind.Comma))
                _current++;
            else if (!Is(close))
                throw Error($"expected ',' or '{symbol}' but found {Describe(Peek() ?? open)}", Peek() ?? open);
        }

        _current++;
        return items;
    }

    private DictExpression ParseDict(Token open)
    {
        var entries = new List<(Expression, Expression)>();
        while (!Is(TokenKind.CloseCurlyBracket))
        {
            if (AtEnd)
                throw Error("unclosed '{' (missing '}')", open);
            var key = ParseExpression();
            Expect(TokenKind.Colon, ":", open);
            entries.Add((key, ParseExpression()));
            if (Is(TokenKind.Comma))
                _current++;
            else if (!Is(TokenKind.CloseCurlyBracket))
                throw Error($"expected ',' or '}}' but found {Describe(Peek() ?? open)}", Peek() ?? open);
        }

        _current++;
        return new DictExpression(open.Position, entries);
    }
}
