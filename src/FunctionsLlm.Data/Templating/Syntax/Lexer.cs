using System.Text;
using FunctionsLlm.Data.Templating.Runtime;

namespace FunctionsLlm.Data.Templating.Syntax;

/// <summary>Turns a template into tokens, following @huggingface/jinja's lexer (including its whitespace control).</summary>
internal sealed class Lexer
{
    private static readonly (string Sequence, TokenKind Kind)[] Symbols =
    [
        ("{%", TokenKind.OpenStatement), ("%}", TokenKind.CloseStatement),
        ("{{", TokenKind.OpenExpression), ("}}", TokenKind.CloseExpression),
        ("(", TokenKind.OpenParen), (")", TokenKind.CloseParen),
        ("{", TokenKind.OpenCurlyBracket), ("}", TokenKind.CloseCurlyBracket),
        ("[", TokenKind.OpenSquareBracket), ("]", TokenKind.CloseSquareBracket),
        (",", TokenKind.Comma), (".", TokenKind.Dot), (":", TokenKind.Colon), ("|", TokenKind.Pipe),
        ("<=", TokenKind.ComparisonOperator), (">=", TokenKind.ComparisonOperator),
        ("==", TokenKind.ComparisonOperator), ("!=", TokenKind.ComparisonOperator),
        ("<", TokenKind.ComparisonOperator), (">", TokenKind.ComparisonOperator),
        ("+", TokenKind.AdditiveOperator), ("-", TokenKind.AdditiveOperator), ("~", TokenKind.AdditiveOperator),
        ("**", TokenKind.ExponentiationOperator),
        ("*", TokenKind.MultiplicativeOperator), ("//", TokenKind.MultiplicativeOperator),
        ("/", TokenKind.MultiplicativeOperator), ("%", TokenKind.MultiplicativeOperator),
        ("=", TokenKind.Equals),
    ];

    private readonly string _original;
    private readonly Preprocessor.MappedSource _mapped;
    private readonly string _src;
    private readonly List<Token> _tokens = [];
    private int _pos;
    private int _curlyDepth;

    private Lexer(string template)
    {
        _original = template;
        _mapped = Preprocessor.Run(template);
        _src = _mapped.Text;
    }

    public static List<Token> Tokenize(string template) => new Lexer(template).Run();

    private TokenKind? LastKind => _tokens.Count == 0 ? null : _tokens[^1].Kind;

    private char At(int index) => index < _src.Length ? _src[index] : '\0';

    private bool StartsWith(string sequence) => string.CompareOrdinal(_src, _pos, sequence, 0, sequence.Length) == 0;

    private List<Token> Run()
    {
        while (_pos < _src.Length)
        {
            if (LastKind is null or TokenKind.CloseStatement or TokenKind.CloseExpression or TokenKind.Comment && LexText())
                continue;

            if (StartsWith("{#"))
            {
                LexComment();
                continue;
            }

            if (StartsWith("{%-") || StartsWith("{{-"))
            {
                StripTrailingWhitespaceOfText();
                var isStatement = _src[_pos + 1] == '%';
                Add(isStatement ? TokenKind.OpenStatement : TokenKind.OpenExpression, isStatement ? "{%" : "{{", _pos);
                _curlyDepth = 0;
                _pos += 3;
                continue;
            }

            while (_pos < _src.Length && JsText.IsWhiteSpace(_src[_pos]))
                _pos++;
            if (_pos >= _src.Length)
                break;

            if (StartsWith("-%}") || StartsWith("-}}"))
            {
                var isStatement = _src[_pos + 1] == '%';
                Add(isStatement ? TokenKind.CloseStatement : TokenKind.CloseExpression, isStatement ? "%}" : "}}", _pos);
                _pos += 3;
                SkipWhitespace();
                continue;
            }

            LexInsideTag();
        }

        return _tokens;
    }

    private bool LexText()
    {
        var start = _pos;
        while (_pos < _src.Length && !(_src[_pos] == '{' && At(_pos + 1) is '%' or '{' or '#'))
            _pos++;
        if (_pos == start)
            return false;
        Add(TokenKind.Text, _src[start.._pos], start);
        return true;
    }

    private void LexComment()
    {
        var start = _pos;
        _pos += 2;
        var stripBefore = At(_pos) == '-';
        if (stripBefore)
            _pos++;
        var end = _src.IndexOf("#}", _pos, StringComparison.Ordinal);
        if (end < 0)
            throw Error("unterminated comment: missing '#}'", start);
        var comment = _src[_pos..end];
        var stripAfter = comment.EndsWith('-');
        if (stripBefore)
            StripTrailingWhitespaceOfText();
        Add(TokenKind.Comment, stripAfter ? comment[..^1] : comment, start);
        _pos = end + 2;
        if (stripAfter)
            SkipWhitespace();
    }

    private void LexInsideTag()
    {
        var start = _pos;
        var c = _src[_pos];
        if (c is '-' or '+')
        {
            if (LastKind is null or TokenKind.Text)
                throw Error($"unexpected character '{c}'", start);
            if (LastKind is not (TokenKind.Identifier or TokenKind.NumericLiteral or TokenKind.StringLiteral
                or TokenKind.CloseParen or TokenKind.CloseSquareBracket))
            {
                _pos++;
                var number = ReadNumber(afterDot: false);
                Add(number.Length > 0 ? TokenKind.NumericLiteral : TokenKind.UnaryOperator, c + number, start);
                return;
            }
        }

        foreach (var (sequence, kind) in Symbols)
        {
            if (sequence == "}}" && _curlyDepth > 0)
                continue;
            if (!StartsWith(sequence))
                continue;
            Add(kind, sequence, start);
            if (kind == TokenKind.OpenExpression)
                _curlyDepth = 0;
            else if (kind == TokenKind.OpenCurlyBracket)
                _curlyDepth++;
            else if (kind == TokenKind.CloseCurlyBracket)
                _curlyDepth--;
            _pos += sequence.Length;
            return;
        }

        if (c is '\'' or '"')
        {
            _pos++;
            Add(TokenKind.StringLiteral, ReadStringBody(c, start), start);
            _pos++;
            return;
        }

        if (JsText.IsDigit(c))
        {
            Add(TokenKind.NumericLiteral, ReadNumber(afterDot: LastKind == TokenKind.Dot), start);
            return;
        }

        if (JsText.IsWordChar(c))
        {
            while (_pos < _src.Length && JsText.IsWordChar(_src[_pos]))
                _pos++;
            Add(TokenKind.Identifier, _src[start.._pos], start);
            return;
        }

        throw Error($"unexpected character '{c}'", start);
    }

    private string ReadNumber(bool afterDot)
    {
        var start = _pos;
        while (_pos < _src.Length && JsText.IsDigit(_src[_pos]))
            _pos++;
        if (_pos > start && !afterDot && At(_pos) == '.' && JsText.IsDigit(At(_pos + 1)))
        {
            _pos++;
            while (_pos < _src.Length && JsText.IsDigit(_src[_pos]))
                _pos++;
        }

        return _src[start.._pos];
    }

    private string ReadStringBody(char quote, int start)
    {
        var builder = new StringBuilder();
        while (true)
        {
            if (_pos >= _src.Length)
                throw Error("unterminated string literal", start);
            var c = _src[_pos];
            if (c == quote)
                return builder.ToString();
            if (c != '\\')
            {
                builder.Append(c);
                _pos++;
                continue;
            }

            var escaped = At(++_pos);
            _pos++;
            if (escaped is 'x' or 'u')
            {
                var length = escaped == 'x' ? 2 : 4;
                var hex = _pos + length <= _src.Length ? _src.Substring(_pos, length) : "";
                if (hex.Length != length || !hex.All(Uri.IsHexDigit))
                    throw Error($"invalid escape sequence '\\{escaped}{hex}'", start);
                builder.Append((char)Convert.ToInt32(hex, 16));
                _pos += length;
                continue;
            }

            builder.Append(escaped switch
            {
                'n' => '\n', 't' => '\t', 'r' => '\r', 'b' => '\b', 'f' => '\f', 'v' => '\v',
                '\'' or '"' or '\\' => escaped,
                _ => throw Error($"unexpected escaped character '\\{escaped}'", start),
            });
        }
    }

    private void StripTrailingWhitespaceOfText()
    {
        if (LastKind != TokenKind.Text)
            return;
        var last = _tokens[^1];
        last.Value = JsText.TrimEnd(last.Value);
        if (last.Value.Length == 0)
            _tokens.RemoveAt(_tokens.Count - 1);
    }

    private void SkipWhitespace()
    {
        while (_pos < _src.Length && JsText.IsWhiteSpace(_src[_pos]))
            _pos++;
    }

    private void Add(TokenKind kind, string value, int index) => _tokens.Add(new Token(kind, value, PositionOf(index)));

    private SourcePosition PositionOf(int index) => SourcePosition.FromOffset(_original, _mapped.OriginOf(index));

    private TemplateSyntaxException Error(string message, int index)
    {
        var position = PositionOf(index);
        return new TemplateSyntaxException(message, position.Line, position.Column);
    }
}
