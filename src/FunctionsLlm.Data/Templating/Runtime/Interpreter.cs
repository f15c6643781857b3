using System.Text;
using FunctionsLlm.Data.Templating.Syntax;

namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>Executes statements, writing output; expression evaluation lives in the other part of this class.</summary>
internal sealed partial class Interpreter(TimeProvider clock)
{
    public TimeProvider Clock { get; } = clock;

    public string Render(IReadOnlyList<Statement> program, Scope globals)
    {
        var output = new StringBuilder();
        try
        {
            Execute(program, globals, output);
        }
        catch (LoopControlException control)
        {
            throw new TemplateRenderException($"'{control.Keyword}' used outside of a loop").At(control.Position);
        }

        return output.ToString();
    }

    public void Execute(IReadOnlyList<Statement> body, Scope scope, StringBuilder output)
    {
        foreach (var statement in body)
        {
            try
            {
                Execute(statement, scope, output);
            }
            catch (TemplateRenderException error) when (!error.HasPosition)
            {
                throw error.At(statement.Position);
            }
        }
    }

    private void Execute(Statement statement, Scope scope, StringBuilder output)
    {
        switch (statement)
        {
            case TextStatement text:
                output.Append(text.Text);
                break;
            case OutputStatement print:
                output.Append(ValueFormatting.ToOutput(Evaluate(print.Value, scope)));
                break;
            case IfStatement branch:
                Execute(ValueSemantics.IsTruthy(Evaluate(branch.Condition, scope)) ? branch.Body : branch.Else, scope, output);
                break;
            case ForStatement loop:
                ExecuteFor(loop, scope, output);
                break;
            case SetStatement set:
                ExecuteSet(set, scope);
                break;
            case MacroStatement macro:
                scope.Set(macro.Name, Macros.Define(this, macro.Name, macro.Parameters, macro.Body));
                break;
            case CallBlockStatement call:
                output.Append(ValueFormatting.ToOutput(Macros.CallWithCaller(this, call, scope)));
                break;
            case BreakStatement:
                throw new LoopControlException("break", statement.Position);
            case ContinueStatement:
                throw new LoopControlException("continue", statement.Position);
            default:
                throw new TemplateRenderException($"unknown statement {statement.GetType().Name}");
        }
    }

    public string RenderBlock(IReadOnlyList<Statement> body, Scope scope)
    {
        var output = new StringBuilder();
        Execute(body, scope, output);
        return output.ToString();
    }

    private void ExecuteFor(ForStatement loop, Scope parent, StringBuilder output)
    {
        var scope = new Scope(parent);
        var iterable = Evaluate(loop.Iterable, scope);
        var source = iterable switch
        {
            ListValue list => list.Items,
            DictValue dict => dict.Items.Keys.Cast<object?>().ToList(),
            _ => throw new TemplateRenderException($"cannot iterate over {TypeNames.Of(iterable)} in a for loop"),
        };

        var items = new List<object?>();
        foreach (var item in source)
        {
            if (loop.Filter is not null)
            {
                var filterScope = new Scope(scope);
                BindLoopTarget(loop.Target, item, filterScope);
                if (!ValueSemantics.IsTruthy(Evaluate(loop.Filter, filterScope)))
                    continue;
            }

            items.Add(item);
        }

        var iterated = false;
        for (var i = 0; i < items.Count; i++)
        {
            scope.Set("loop", LoopVariable(items, i));
            BindLoopTarget(loop.Target, items[i], scope);
            var mark = output.Length;
            try
            {
                Execute(loop.Body, scope, output);
            }
            catch (LoopControlException control)
            {
                // The reference engine discards the partial output of an iteration left by break/continue,
                // and such an iteration does not count for the loop's else block.
                output.Length = mark;
                if (control.Keyword == "break")
                    break;
                continue;
            }

            iterated = true;
        }

        if (!iterated)
            Execute(loop.Else, scope, output);
    }

    private static DictValue LoopVariable(List<object?> items, int i)
    {
        var loop = new DictValue();
        loop.Items["index"] = (long)(i + 1);
        loop.Items["index0"] = (long)i;
        loop.Items["revindex"] = (long)(items.Count - i);
        loop.Items["revindex0"] = (long)(items.Count - i - 1);
        loop.Items["first"] = i == 0;
        loop.Items["last"] = i == items.Count - 1;
        loop.Items["length"] = (long)items.Count;
        loop.Items["previtem"] = i > 0 ? items[i - 1] : Undefined.Instance;
        loop.Items["nextitem"] = i < items.Count - 1 ? items[i + 1] : Undefined.Instance;
        return loop;
    }

    private static void BindLoopTarget(Expression target, object? item, Scope scope)
    {
        if (target is IdentifierExpression identifier)
        {
            scope.Set(identifier.Name, item);
            return;
        }

        var names = ((ListExpression)target).Items.Cast<IdentifierExpression>().ToList();
        Unpack(names, item, scope);
    }

    private static void Unpack(List<IdentifierExpression> names, object? value, Scope scope)
    {
        if (value is not ListValue list)
            throw new TemplateRenderException($"cannot unpack {TypeNames.Of(value)}");
        if (list.Items.Count != names.Count)
            throw new TemplateRenderException($"too {(names.Count > list.Items.Count ? "few" : "many")} values to unpack (expected {names.Count})");
        for (var i = 0; i < names.Count; i++)
            scope.Set(names[i].Name, list.Items[i]);
    }

    private void ExecuteSet(SetStatement set, Scope scope)
    {
        var value = set.Value is null ? RenderBlock(set.Body, scope) : Evaluate(set.Value, scope);
        switch (set.Target)
        {
            case IdentifierExpression identifier:
                scope.Set(identifier.Name, value);
                break;
            case ListExpression tuple:
                if (tuple.Items.Any(item => item is not IdentifierExpression))
                    throw new TemplateRenderException("can only unpack into plain variable names");
                Unpack(tuple.Items.Cast<IdentifierExpression>().ToList(), value, scope);
                break;
            case MemberExpression { Property: LiteralExpression { Value: string name } } member:
                if (Evaluate(member.Target, scope) is not NamespaceValue ns)
                    throw new TemplateRenderException("cannot assign an attribute of an object that is not a namespace");
                ns.Items[name] = value;
                break;
            default:
                throw new TemplateRenderException("invalid assignment target");
        }
    }

    /// <summary>Unwinds the body of a loop for <c>break</c> / <c>continue</c>.</summary>
    private sealed class LoopControlException(string keyword, SourcePosition position) : Exception(keyword)
    {
        public string Keyword { get; } = keyword;

        public SourcePosition Position { get; } = position;
    }
}
