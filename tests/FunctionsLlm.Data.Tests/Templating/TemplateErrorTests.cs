using FunctionsLlm.Data.Templating;

namespace FunctionsLlm.Data.Tests.Templating;

public sealed class TemplateErrorTests
{
    private static readonly Dictionary<string, object?> NoVariables = [];

    [Theory]
    [InlineData("a\nb\n    {% extends 'base.html' %}", "extends", 3, 5)]
    [InlineData("{% include 'x' %}", "include", 1, 1)]
    [InlineData("{% import 'x' as y %}", "import", 1, 1)]
    [InlineData("x {% block body %}{% endblock %}", "block", 1, 3)]
    [InlineData("{% filter upper %}x{% endfilter %}", "filter", 1, 1)]
    [InlineData("{% raw %}x{% endraw %}", "raw", 1, 1)]
    public void Unsupported_tags_are_syntax_errors_naming_the_tag(string source, string tag, int line, int column)
    {
        var error = Assert.Throws<TemplateSyntaxException>(() => JinjaTemplate.Parse(source));
        Assert.Equal($"unsupported tag '{tag}' at line {line}, column {column}", error.Message);
        Assert.Equal((line, column), (error.Line, error.Column));
    }

    [Theory]
    [InlineData("{{ x ")]
    [InlineData("{% if x %}")]
    [InlineData("{% for x in y %}a")]
    [InlineData("{% if x ")]
    [InlineData("{{ 'abc }}")]
    [InlineData("{# never closed")]
    [InlineData("{% endfor %}")]
    [InlineData("{{ x | }}")]
    public void Unterminated_or_malformed_templates_are_syntax_errors(string source)
    {
        var error = Assert.Throws<TemplateSyntaxException>(() => JinjaTemplate.Parse(source));
        Assert.True(error.Line >= 1 && error.Column >= 1, error.Message);
    }

    [Fact]
    public void Unclosed_block_names_the_missing_end_tag()
    {
        var error = Assert.Throws<TemplateSyntaxException>(() => JinjaTemplate.Parse("ok\n  {% for m in messages %}{{ m }}"));
        Assert.Equal("unclosed 'for' tag (missing 'endfor') at line 2, column 3", error.Message);
    }

    [Fact]
    public void Raise_exception_surfaces_the_template_message()
    {
        var template = JinjaTemplate.Parse("{% if true %}\n{{ raise_exception('x') }}{% endif %}");
        var error = Assert.Throws<TemplateRenderException>(() => template.Render(NoVariables));
        Assert.Equal("x", error.Message);
        Assert.True(error.RaisedByTemplate);
        Assert.Equal(2, error.Line);
    }

    [Fact]
    public void Unknown_filter_is_named()
    {
        var error = Assert.Throws<TemplateRenderException>(() => JinjaTemplate.Parse("\n {{ 'a' | frobnicate }}").Render(NoVariables));
        Assert.Contains("unknown filter 'frobnicate'", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, error.Line);
    }

    [Fact]
    public void Unknown_test_and_method_are_named()
    {
        var test = Assert.Throws<TemplateRenderException>(() => JinjaTemplate.Parse("{{ 1 is prime }}").Render(NoVariables));
        Assert.Contains("unknown test 'prime'", test.Message, StringComparison.Ordinal);
        var method = Assert.Throws<TemplateRenderException>(() => JinjaTemplate.Parse("{{ 'a'.frob() }}").Render(NoVariables));
        Assert.Contains("'frob'", method.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Type_errors_are_render_errors()
    {
        var error = Assert.Throws<TemplateRenderException>(() => JinjaTemplate.Parse("{{ 'a' ~ none }}").Render(NoVariables));
        Assert.Contains("none", error.Message, StringComparison.Ordinal);
        Assert.Throws<TemplateRenderException>(() => JinjaTemplate.Parse("{% for x in 3 %}{% endfor %}").Render(NoVariables));
    }
}
