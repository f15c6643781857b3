using FunctionsLlm.Data.Templating.Syntax;

namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>
/// <c>macro</c> definitions and <c>call</c> blocks. As in the reference engine, a macro body runs in a scope whose
/// parent is the caller's scope.
/// </summary>
internal static class Macros
{
    public static FunctionValue Define(Interpreter interpreter, string name, IReadOnlyList<MacroParameter> parameters,
        IReadOnlyList<Statement> body)
    {
        var usesVarargs = NameReferences.Contains(body, "varargs");
        var usesKwargs = NameReferences.Contains(body, "kwargs");
        return new FunctionValue(name, (args, callerScope) =>
        {
            var scope = new Scope(callerScope);
            Bind(interpreter, name, parameters, usesVarargs, usesKwargs, args, scope);
            return interpreter.RenderBlock(body, scope);
        });
    }

    public static object? CallWithCaller(Interpreter interpreter, CallBlockStatement call, Scope scope)
    {
        var caller = Define(interpreter, "caller", call.CallerParameters, call.Body);
        var arguments = interpreter.EvaluateArguments(call.Call.Arguments, call.Call.KeywordArguments, scope);
        if (interpreter.Evaluate(call.Call.Callee, scope) is not FunctionValue macro)
            throw new TemplateRenderException("the target of a 'call' block is not a macro");
        var macroScope = new Scope(scope);
        macroScope.Set("caller", new FunctionValue("caller", (args, _) => caller.Invoke(args, scope)));
        return macro.Invoke(arguments, macroScope);
    }

    private static void Bind(Interpreter interpreter, string name, IReadOnlyList<MacroParameter> parameters,
        bool usesVarargs, bool usesKwargs, CallArguments args, Scope scope)
    {
        var keywords = new Dictionary<string, object?>(args.Keywords, StringComparer.Ordinal);
        var pendingDefaults = new List<MacroParameter>();
        for (var i = 0; i < parameters.Count; i++)
        {
            var parameter = parameters[i];
            object? value = Undefined.Instance;
            var bound = false;
            if (i < args.Positional.Count)
            {
                value = args.Positional[i];
                bound = true;
            }
            else if (keywords.Remove(parameter.Name, out var keywordValue))
            {
                value = keywordValue;
                bound = true;
            }

            if (!bound && parameter.Default is not null)
                pendingDefaults.Add(parameter);
            scope.Set(parameter.Name, value);
        }

        if (usesKwargs)
        {
            var kwargs = new DictValue();
            foreach (var (key, value) in keywords)
                kwargs.Items[key] = value;
            scope.Set("kwargs", kwargs);
        }
        else if (keywords.Count > 0)
        {
            throw new TemplateRenderException($"macro '{name}' takes no keyword argument '{keywords.Keys.First()}'");
        }

        if (usesVarargs)
            scope.Set("varargs", new ListValue(args.Positional.Skip(parameters.Count).ToList()));
        else if (args.Positional.Count > parameters.Count)
            throw new TemplateRenderException($"macro '{name}' takes not more than {parameters.Count} argument(s)");

        foreach (var parameter in pendingDefaults)
            scope.Set(parameter.Name, interpreter.Evaluate(parameter.Default!, scope));
    }
}
