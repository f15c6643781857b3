namespace FunctionsLlm.Data.Templating;

/// <summary>Base class of template errors; <see cref="Line"/> and <see cref="Column"/> are 1-based (0 when unknown).</summary>
public class TemplateException : Exception
{
    public TemplateException(string message, int line, int column, Exception? inner = null)
        : base(message, inner)
    {
        Line = line;
        Column = column;
    }

    public int Line { get; }

    public int Column { get; }

    internal static string WithPosition(string message, int line, int column) =>
        line > 0 ? $"{message} at line {line}, column {column}" : message;
}

/// <summary>The template uses syntax this engine does not support or that is invalid.</summary>
public sealed class TemplateSyntaxException : TemplateException
{
    public TemplateSyntaxException(string message, int line, int column)
        : base(WithPosition(message, line, column), line, column)
    {
    }
}

/// <summary>Rendering failed: <c>raise_exception</c>, an unknown filter/test/method or a type error.</summary>
public sealed class TemplateRenderException : TemplateException
{
    public TemplateRenderException(string message)
        : this(message, message, 0, 0, raisedByTemplate: false)
    {
    }

    private TemplateRenderException(string message, string bareMessage, int line, int column, bool raisedByTemplate)
        : base(message, line, column)
    {
        BareMessage = bareMessage;
        RaisedByTemplate = raisedByTemplate;
    }

    /// <summary>True when the template itself called <c>raise_exception</c>; the message is then exactly its argument.</summary>
    public bool RaisedByTemplate { get; }

    internal string BareMessage { get; }

    internal bool HasPosition => Line > 0;

    internal static TemplateRenderException Raised(string message) => new(message, message, 0, 0, raisedByTemplate: true);

    internal TemplateRenderException At(SourcePosition position) =>
        new(RaisedByTemplate ? BareMessage : WithPosition(BareMessage, position.Line, position.Column),
            BareMessage, position.Line, position.Column, RaisedByTemplate);
}
