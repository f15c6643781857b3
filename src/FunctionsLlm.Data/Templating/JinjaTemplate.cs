using FunctionsLlm.Data.Templating.Runtime;
using FunctionsLlm.Data.Templating.Syntax;

namespace FunctionsLlm.Data.Templating;

/// <summary>
/// A parsed Jinja template (the subset Hugging Face chat templates use), rendering byte-for-byte like
/// @huggingface/jinja with trim_blocks and lstrip_blocks on.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly IReadOnlyList<Statement> _program;

    private JinjaTemplate(IReadOnlyList<Statement> program) => _program = program;

    /// <exception cref="TemplateSyntaxException">The template is invalid or uses an unsupported construct.</exception>
    public static JinjaTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new JinjaTemplate(Parser.Parse(source));
    }

    /// <exception cref="TemplateRenderException">raise_exception, an unknown filter/test/method or a type error.</exception>
    public string Render(IReadOnlyDictionary<string, object?> variables) => Render(variables, TimeProvider.System);

    /// <summary>Renders with an explicit clock for <c>strftime_now</c>.</summary>
    public string Render(IReadOnlyDictionary<string, object?> variables, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(variables);
        ArgumentNullException.ThrowIfNull(clock);
        var globals = Globals.Create(clock);
        var scope = new Scope(globals);
        foreach (var (name, value) in variables)
            scope.Set(name, ValueConversion.ToRuntime(value));
        return new Interpreter(clock).Render(_program, scope);
    }
}
