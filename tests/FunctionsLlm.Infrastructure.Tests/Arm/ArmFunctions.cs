using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace FunctionsLlm.Infrastructure.Tests.Arm;

/// <summary>What an expression can see: its deployment's parameters, variables and modules, and copyIndex().</summary>
internal sealed record ArmScope(ArmDeployment Deployment, int? CopyIndex)
{
    /// <summary>Variables of the lambdas being evaluated (map, filter).</summary>
    public ImmutableDictionary<string, object?> Lambda { get; init; } = ImmutableDictionary<string, object?>.Empty;
}

/// <summary>The ARM template functions <see cref="ArmExpression"/> knows; the rest yield <see cref="Unknown"/>.</summary>
internal static class ArmFunctions
{
    public static object? Invoke(string name, List<object?> args, ArmScope scope)
    {
        switch (name.ToLowerInvariant())
        {
            case "parameters":
                return scope.Deployment.Parameter(Text(args[0]));
            case "variables":
                return scope.Deployment.Variable(Text(args[0]));
            case "lambdavariables":
                return scope.Lambda.TryGetValue(Text(args[0]), out object? bound) ? bound : new Unknown("lambdaVariables()");
            case "contains":
                return args[0] switch
                {
                    List<object?> list when args[1] is not Unknown => list.Contains(args[1]),
                    string s when args[1] is string part && !IsPartial(s) => s.Contains(part, StringComparison.Ordinal),
                    Dictionary<string, object?> d => d.ContainsKey(Text(args[1])),
                    _ => new Unknown("contains()"),
                };
            case "items":
                return args[0] is Dictionary<string, object?> entries
                    ? entries.Select(kv => (object?)new Dictionary<string, object?> { ["key"] = kv.Key, ["value"] = kv.Value }).ToList()
                    : new Unknown("items()");
            case "copyindex":
                return scope.CopyIndex is int i ? i + (args.Count > 0 && args[0] is long offset ? offset : 0) : new Unknown("copyIndex()");
            case "reference":
                return Reference(args[0], scope);
            case "format":
                return Format(Text(args[0]), args.Skip(1).ToList());
            case "concat":
                if (args.All(a => a is List<object?>))
                    return args.SelectMany(a => (List<object?>)a!).ToList();
                return string.Concat(args.Select(Text));
            case "tolower":
                return args[0] is string lower && !IsPartial(lower) ? lower.ToLowerInvariant() : args[0];
            case "replace":
                return args[0] is string source && !IsPartial(source)
                    ? source.Replace(Text(args[1]), Text(args[2]), StringComparison.Ordinal)
                    : args[0];
            case "take":
                return Take(args[0], args[1]);
            case "createobject":
                var obj = new Dictionary<string, object?>();
                for (int k = 0; k + 1 < args.Count; k += 2)
                    obj[Text(args[k])] = args[k + 1];
                return obj;
            case "createarray":
                return args.ToList();
            case "resourceid":
            case "subscriptionresourceid":
            case "tenantresourceid":
                return ResourceId(args);
            case "extensionresourceid":
                return $"{Text(args[0])}/providers/{ResourceId(args.Skip(1).ToList())}";
            case "length":
                return args[0] switch
                {
                    string text => (long)text.Length,
                    List<object?> list => (long)list.Count,
                    Dictionary<string, object?> d => (long)d.Count,
                    _ => new Unknown("length"),
                };
            case "empty":
                return args[0] switch
                {
                    null => true,
                    string text => text.Length == 0,
                    List<object?> list => list.Count == 0,
                    Dictionary<string, object?> d => d.Count == 0,
                    _ => new Unknown("empty"),
                };
            case "if":
                return args[0] is bool condition ? (condition ? args[1] : args[2]) : new Unknown("if");
            case "and":
                return args.Any(a => a is false) ? false : args.All(a => a is true) ? true : new Unknown("and");
            case "or":
                return args.Any(a => a is true) ? true : args.All(a => a is false) ? false : new Unknown("or");
            case "equals":
                return args.Any(a => a is Unknown) ? new Unknown("equals") : Equals(args[0], args[1]);
            case "not":
                return args[0] is bool b ? !b : new Unknown("not");
            case "bool":
                return args[0] is string t ? bool.Parse(t) : args[0];
            case "string":
                return Text(args[0]);
            case "union":
                return Union(args);
            case "true":
                return true;
            case "false":
                return false;
            case "null":
                return null;
            default:
                // Deployment-time (uniqueString, guid, subscription(), resourceGroup(), listKeys, ...) or not needed.
                return new Unknown($"{name}()");
        }
    }

    /// <summary><c>target.name</c> or <c>target[key]</c>.</summary>
    public static object? Member(object? target, object? key) => target switch
    {
        Unknown unknown => new Unknown($"{unknown.Label}.{Text(key)}"),
        ModuleReference module when Equals(key, "outputs") => new ModuleOutputs(module.Deployment),
        ModuleOutputs outputs => new Dictionary<string, object?> { ["value"] = outputs.Deployment.Output(Text(key)) },
        Dictionary<string, object?> obj => obj.TryGetValue(Text(key), out object? value)
            ? value
            : obj.FirstOrDefault(kv => string.Equals(kv.Key, Text(key), StringComparison.OrdinalIgnoreCase)).Value,
        List<object?> list when key is long i => list[(int)i],
        _ => new Unknown($"{Text(target)}.{Text(key)}"),
    };

    /// <summary>Text of a value as format() and concat() write it; unknown parts as ⟨label⟩.</summary>
    public static string Text(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString(CultureInfo.InvariantCulture),
        Unknown u => u.ToString(),
        _ => JsonSerializer.Serialize(ArmJson.ToNode(value)),
    };

    public static bool IsPartial(string value) => value.Contains(Unknown.Open, StringComparison.Ordinal);

    private sealed record ModuleReference(ArmDeployment Deployment);

    private sealed record ModuleOutputs(ArmDeployment Deployment);

    private static object? Reference(object? target, ArmScope scope)
    {
        const string deployments = "Microsoft.Resources/deployments/";
        string id = Text(target);
        if (id.StartsWith(deployments, StringComparison.OrdinalIgnoreCase))
            return new ModuleReference(scope.Deployment.Module(id[deployments.Length..]));
        // A symbolic-name template refers to a module by its symbol.
        if (!id.Contains('/', StringComparison.Ordinal) && scope.Deployment.TryModule(id) is { } module)
            return new ModuleReference(module);
        return new Unknown($"reference {id}");
    }

    private static string ResourceId(List<object?> args)
    {
        // resourceId([subscriptionId], [resourceGroupName], 'Namespace/type[/child]', name1, [name2] ...)
        int typeIndex = args.FindIndex(a => a is string s && s.Contains('/', StringComparison.Ordinal) && !IsPartial(s));
        string[] type = Text(args[typeIndex]).Split('/');
        var id = new StringBuilder($"{type[0]}/{type[1]}/{Text(args[typeIndex + 1])}");
        for (int i = 2; i < type.Length; i++)
            id.Append('/').Append(type[i]).Append('/').Append(Text(args[typeIndex + i]));
        return id.ToString();
    }

    private static string Format(string format, List<object?> args)
    {
        var text = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c == '{' && i + 1 < format.Length && format[i + 1] == '{')
            {
                text.Append('{');
                i++;
            }
            else if (c == '}' && i + 1 < format.Length && format[i + 1] == '}')
            {
                text.Append('}');
                i++;
            }
            else if (c == '{')
            {
                int end = format.IndexOf('}', i);
                int index = int.Parse(format[(i + 1)..end].Split(':')[0], CultureInfo.InvariantCulture);
                text.Append(Text(args[index]));
                i = end;
            }
            else
                text.Append(c);
        }
        return text.ToString();
    }

    private static object? Take(object? value, object? count)
    {
        if (count is not long n)
            return new Unknown("take");
        return value switch
        {
            Unknown unknown => unknown,
            // A string with an unknown part keeps its known text: the length is unknown anyway.
            string s when IsPartial(s) => s,
            string s => s[..(int)Math.Min(n, s.Length)],
            List<object?> list => list.Take((int)n).ToList(),
            _ => new Unknown("take"),
        };
    }

    private static object? Union(List<object?> args)
    {
        if (args.Any(a => a is Unknown))
            return new Unknown("union");
        if (args.All(a => a is Dictionary<string, object?>))
        {
            var merged = new Dictionary<string, object?>();
            foreach (var obj in args.Cast<Dictionary<string, object?>>())
            {
                foreach (var (key, value) in obj)
                    merged[key] = value;
            }
            return merged;
        }
        return args.OfType<List<object?>>().SelectMany(l => l).Distinct().ToList();
    }
}
