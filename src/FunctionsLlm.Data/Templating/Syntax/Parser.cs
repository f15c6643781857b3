namespace FunctionsLlm.Data.Templating.Syntax;

/// <summary>Recursive-descent parser for the supported Jinja subset; statements here, expressions in the other part.</summary>
internal sealed partial class Parser
{
    private static readonly HashSet<string> BlockEndings =
        ["elif", "else", "endif", "endfor", "endset", "endmacro", "endcall"];

    private readonly List<Token> _tokens;
    private int _current;

    private Parser(List<Token> tokens) => _tokens = tokens;

    public static IReadOnlyList<Statement> Parse(string source)
    {
        var parser = new Parser(Lexer.Tokenize(source));
        var program = new List<Statement>();
        while (!parser.AtEnd)
            parser.ParseAny(program);
        return program;
    }

    private bool AtEnd => _current >= _tokens.Count;

    private Token? Peek(int offset = 0) => _current + offset < _tokens.Count ? _tokens[_current + offset] : null;

    private bool Is(TokenKind kind) => Peek()?.Kind == kind;

    private bool IsIdentifier(string name, int offset = 0) =>
        Peek(offset) is { Kind: TokenKind.Identifier } token && token.Value == name;

    private bool IsStatement(params string[] names) =>
        Is(TokenKind.OpenStatement) && Peek(1) is { Kind: TokenKind.Identifier } name && names.Contains(name.Value);

    private void ParseAny(List<Statement> into)
    {
        var token = _tokens[_current];
        switch (token.Kind)
        {
            case TokenKind.Comment:
                _current++;
                break;
            case TokenKind.Text:
                _current++;
                into.Add(new TextStatement(token.Position, token.Value));
                break;
            case TokenKind.OpenStatement:
                into.AddRange(ParseStatement());
                break;
            case TokenKind.OpenExpression:
                _current++;
                var value = ParseExpression();
                ExpectClose(TokenKind.CloseExpression, "}}", token);
                into.Add(new OutputStatement(token.Position, value));
                break;
            default:
                throw Error($"unexpected {Describe(token)}", token);
        }
    }

    private IEnumerable<Statement> ParseStatement()
    {
        var open = _tokens[_current++];
        var nameToken = Peek();
        if (nameToken is not { Kind: TokenKind.Identifier })
            throw Error(nameToken is null ? "unterminated tag '{%' (missing '%}')" : $"expected a tag name, found {Describe(nameToken)}", nameToken ?? open);
        _current++;
        var position = open.Position;
        switch (nameToken.Value)
        {
            case "set":
                return [ParseSet(open)];
            case "if":
                return [ParseIf(open)];
            case "for":
                return [ParseFor(open)];
            case "macro":
                return [ParseMacro(open)];
            case "call":
                return [ParseCallBlock(open)];
            case "break":
                ExpectClose(TokenKind.CloseStatement, "%}", open);
                return [new BreakStatement(position)];
            case "continue":
                ExpectClose(TokenKind.CloseStatement, "%}", open);
                return [new ContinueStatement(position)];
            case "generation" or "endgeneration":
                ExpectClose(TokenKind.CloseStatement, "%}", open);
                return [];
            case var name when BlockEndings.Contains(name):
                throw Error($"unexpected tag '{name}'", open);
            case var name:
                throw Error($"unsupported tag '{name}'", open);
        }
    }

    private SetStatement ParseSet(Token open)
    {
        var target = ParseExpressionSequence(primaryOnly: false);
        if (target is not (IdentifierExpression or MemberExpression or ListExpression { IsTuple: true }))
            throw Error("invalid assignment target in 'set'", open);
        if (Is(TokenKind.Equals))
        {
            _current++;
            var value = ParseExpressionSequence(primaryOnly: false);
            ExpectClose(TokenKind.CloseStatement, "%}", open);
            return new SetStatement(open.Position, target, value, []);
        }

        ExpectClose(TokenKind.CloseStatement, "%}", open);
        var body = ParseBody(open, "set", "endset");
        ExpectEndTag();
        return new SetStatement(open.Position, target, null, body);
    }

    private IfStatement ParseIf(Token open)
    {
        var condition = ParseExpression();
        ExpectClose(TokenKind.CloseStatement, "%}", open);
        var body = ParseBody(open, "if", "elif", "else", "endif");
        IReadOnlyList<Statement> alternative = [];
        if (IsStatement("elif"))
        {
            var elif = _tokens[_current];
            _current += 2;
            alternative = [ParseIf(elif)];
            return new IfStatement(open.Position, condition, body, alternative);
        }

        if (IsStatement("else"))
        {
            var elseToken = _tokens[_current];
            _current += 2;
            ExpectClose(TokenKind.CloseStatement, "%}", elseToken);
            alternative = ParseBody(open, "if", "endif");
        }

        ExpectEndTag();
        return new IfStatement(open.Position, condition, body, alternative);
    }

    private ForStatement ParseFor(Token open)
    {
        var target = ParseExpressionSequence(primaryOnly: true);
        var isValidTarget = target is IdentifierExpression
            || (target is ListExpression { IsTuple: true } tuple && tuple.Items.All(i => i is IdentifierExpression));
        if (!isValidTarget)
            throw Error("expected an identifier or a tuple of identifiers as the loop variable", open);
        if (!IsIdentifier("in"))
            throw Error("expected 'in' after the loop variable", Peek() ?? open);
        _current++;
        var iterable = ParseLogicalOr();
        Expression? filter = null;
        if (IsIdentifier("if"))
        {
            _current++;
            filter = ParseLogicalOr();
        }

        if (IsIdentifier("recursive"))
            throw Error("unsupported loop modifier 'recursive'", _tokens[_current]);
        ExpectClose(TokenKind.CloseStatement, "%}", open);
        var body = ParseBody(open, "for", "else", "endfor");
        IReadOnlyList<Statement> alternative = [];
        if (IsStatement("else"))
        {
            var elseToken = _tokens[_current];
            _current += 2;
            ExpectClose(TokenKind.CloseStatement, "%}", elseToken);
            alternative = ParseBody(open, "for", "endfor");
        }

        ExpectEndTag();
        return new ForStatement(open.Position, target, iterable, filter, body, alternative);
    }

    private MacroStatement ParseMacro(Token open)
    {
        if (Peek() is not { Kind: TokenKind.Identifier } name)
            throw Error("expected a macro name after 'macro'", Peek() ?? open);
        _current++;
        var parameters = ParseParameters(open);
        ExpectClose(TokenKind.CloseStatement, "%}", open);
        var body = ParseBody(open, "macro", "endmacro");
        ExpectEndTag();
        return new MacroStatement(open.Position, name.Value, parameters, body);
    }

    private CallBlockStatement ParseCallBlock(Token open)
    {
        IReadOnlyList<MacroParameter> callerParameters = Is(TokenKind.OpenParen) ? ParseParameters(open) : [];
        var callee = ParseCallMember();
        if (callee is not CallExpression call)
            throw Error("expected a macro call after 'call'", open);
        ExpectClose(TokenKind.CloseStatement, "%}", open);
        var body = ParseBody(open, "call", "endcall");
        ExpectEndTag();
        return new CallBlockStatement(open.Position, call, callerParameters, body);
    }

    private List<MacroParameter> ParseParameters(Token open)
    {
        Expect(TokenKind.OpenParen, "(", open);
        var (positional, keywords) = ParseArgumentList(open);
        var parameters = new List<MacroParameter>();
        foreach (var argument in positional)
        {
            if (argument is not IdentifierExpression identifier)
                throw Error("expected an identifier in the parameter list", open);
            parameters.Add(new MacroParameter(identifier.Name, null));
        }

        parameters.AddRange(keywords.Select(k => new MacroParameter(k.Name, k.Value)));
        if (parameters.Select(p => p.Name).Distinct().Count() != parameters.Count)
            throw Error("duplicate parameter name", open);
        return parameters;
    }

    private List<Statement> ParseBody(Token open, string tag, params string[] terminators)
    {
        var body = new List<Statement>();
        while (!IsStatement(terminators))
        {
            if (AtEnd)
                throw Error($"unclosed '{tag}' tag (missing '{terminators[^1]}')", open);
            ParseAny(body);
        }

        return body;
    }

    /// <summary>Consumes an end tag whose presence <see cref="ParseBody"/> has already established.</summary>
    private void ExpectEndTag()
    {
        var start = _tokens[_current];
        _current += 2;
        ExpectClose(TokenKind.CloseStatement, "%}", start);
    }

    private void ExpectClose(TokenKind kind, string symbol, Token open)
    {
        var token = Peek();
        if (token is null)
            throw Error($"unterminated tag '{open.Value}' (missing '{symbol}')", open);
        if (token.Kind != kind)
            throw Error($"expected '{symbol}' but found {Describe(token)}", token);
        _current++;
    }

    private Token Expect(TokenKind kind, string symbol, Token context)
    {
        var token = Peek() ?? throw Error($"unexpected end of template, expected '{symbol}'", context);
        if (token.Kind != kind)
            throw Error($"expected '{symbol}' but found {Describe(token)}", token);
        _current++;
        return token;
    }

    private static string Describe(Token token) => token.Kind switch
    {
        TokenKind.Text => "text",
        TokenKind.StringLiteral => $"string '{token.Value}'",
        _ => $"'{token.Value}'",
    };

    private static TemplateSyntaxException Error(string message, Token at) =>
        new(message, at.Position.Line, at.Position.Column);
}
