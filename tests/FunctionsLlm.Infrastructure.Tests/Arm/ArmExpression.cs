using System.Globalization;
using System.Text;

namespace FunctionsLlm.Infrastructure.Tests.Arm;

/// <summary>
/// A value known only at deployment time (a principal id, uniqueString, listKeys). It renders as
/// <c>⟨label⟩</c> inside strings, so a test can still read e.g. the type path of a resource id.
/// </summary>
internal sealed record Unknown(string Label)
{
    public const char Open = '⟨';
    public const char Close = '⟩';
    public override string ToString() => $"{Open}{Label}{Close}";
}

/// <summary>
/// Evaluates the subset of ARM template expressions that Bicep emits for this repository's templates:
/// literals, parameters/variables, module outputs (reference to a nested deployment), format/concat and the
/// resource id functions, plus a few pure functions. Anything deployment-time becomes an <see cref="Unknown"/>.
/// Values are CLR objects: string, long, double, bool, null, List&lt;object?&gt;, Dictionary&lt;string, object?&gt;.
/// </summary>
internal sealed class ArmExpression
{
    private readonly string _text;
    private int _position;

    private ArmExpression(string text) => _text = text;

    /// <summary>Evaluates a template string: an expression when it is wrapped in [ ], a literal otherwise.</summary>
    public static object? EvaluateString(string value, ArmScope scope)
    {
        if (value.StartsWith("[[", StringComparison.Ordinal))
            return value[1..];
        if (value.Length < 2 || value[0] != '[' || value[^1] != ']')
            return value;
        var parser = new ArmExpression(value[1..^1]);
        Node node = parser.ParseExpression();
        parser.SkipSpace();
        if (parser._position != parser._text.Length)
            throw new FormatException($"unexpected '{parser._text[parser._position..]}' in {value}");
        return node.Evaluate(scope);
    }

    // ---- parsing --------------------------------------------------------------------------------------------

    private abstract record Node
    {
        public abstract object? Evaluate(ArmScope scope);
    }

    private sealed record Literal(object? Value) : Node
    {
        public override object? Evaluate(ArmScope scope) => Value;
    }

    private sealed record Call(string Name, IReadOnlyList<Node> Arguments) : Node
    {
        public override object? Evaluate(ArmScope scope)
        {
            if (Name is "map" or "filter" && Arguments is [var source, Call { Name: "lambda" } lambda])
                return EvaluateLambda(source.Evaluate(scope), lambda, scope);
            return ArmFunctions.Invoke(Name, Arguments.Select(a => a.Evaluate(scope)).ToList(), scope);
        }

        // map(items, lambda('x', body)) and filter(...): the body sees each item as lambdaVariables('x').
        private object? EvaluateLambda(object? source, Call lambda, ArmScope scope)
        {
            if (source is not List<object?> items || lambda.Arguments is not [Literal { Value: string variable }, var body])
                return new Unknown($"{Name}()");
            var results = new List<object?>();
            foreach (object? item in items)
            {
                object? result = body.Evaluate(scope with { Lambda = scope.Lambda.SetItem(variable, item) });
                if (Name == "map")
                    results.Add(result);
                else if (result is true)
                    results.Add(item);
                else if (result is not false)
                    return new Unknown("filter()");
            }
            return results;
        }
    }

    private sealed record Property(Node Target, string Name) : Node
    {
        public override object? Evaluate(ArmScope scope) => ArmFunctions.Member(Target.Evaluate(scope), Name);
    }

    private sealed record Index(Node Target, Node Key) : Node
    {
        public override object? Evaluate(ArmScope scope) =>
            ArmFunctions.Member(Target.Evaluate(scope), Key.Evaluate(scope));
    }

    private Node ParseExpression()
    {
        SkipSpace();
        Node node = ParsePrimary();
        while (true)
        {
            SkipSpace();
            if (TryConsume('.'))
                node = new Property(node, ParseIdentifier());
            else if (TryConsume('['))
            {
                Node key = ParseExpression();
                Expect(']');
                node = new Index(node, key);
            }
            else
                return node;
        }
    }

    private Node ParsePrimary()
    {
        char c = Peek();
        if (c == '\'')
            return new Literal(ParseString());
        if (c == '-' || char.IsDigit(c))
        {
            int start = _position++;
            while (_position < _text.Length && (char.IsDigit(_text[_position]) || _text[_position] == '.'))
                _position++;
            string number = _text[start.._position];
            return new Literal(number.Contains('.', StringComparison.Ordinal)
                ? (object)double.Parse(number, CultureInfo.InvariantCulture)
                : long.Parse(number, CultureInfo.InvariantCulture));
        }
        string name = ParseIdentifier();
        SkipSpace();
        Expect('(');
        var arguments = new List<Node>();
        SkipSpace();
        if (!TryConsume(')'))
        {
            do
            {
                arguments.Add(ParseExpression());
                SkipSpace();
            }
            while (TryConsume(','));
            Expect(')');
        }
        return new Call(name, arguments);
    }

    private string ParseString()
    {
        Expect('\'');
        var text = new StringBuilder();
        while (true)
        {
            if (_position >= _text.Length)
                throw new FormatException($"unterminated string in {_text}");
            char c = _text[_position++];
            if (c == '\'')
            {
                if (_position < _text.Length && _text[_position] == '\'')
                {
                    text.Append('\'');
                    _position++;
                    continue;
                }
                return text.ToString();
            }
            text.Append(c);
        }
    }

    private string ParseIdentifier()
    {
        SkipSpace();
        int start = _position;
        while (_position < _text.Length && (char.IsLetterOrDigit(_text[_position]) || _text[_position] == '_'))
            _position++;
        if (start == _position)
            throw new FormatException($"identifier expected at {_position} in {_text}");
        return _text[start.._position];
    }

    private void SkipSpace()
    {
        while (_position < _text.Length && char.IsWhiteSpace(_text[_position]))
            _position++;
    }

    private char Peek()
    {
        SkipSpace();
        return _position < _text.Length ? _text[_position] : '\0';
    }

    private bool TryConsume(char c)
    {
        if (Peek() != c)
            return false;
        _position++;
        return true;
    }

    private void Expect(char c)
    {
        if (!TryConsume(c))
            throw new FormatException($"'{c}' expected at {_position} in {_text}");
    }
}
