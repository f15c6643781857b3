namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>A variable scope; lookups walk up to the global scope, assignments always land in this one.</summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, object?> _variables = new(StringComparer.Ordinal);

    public Scope? Parent { get; } = parent;

    public void Set(string name, object? value) => _variables[name] = value;

    public object? Lookup(string name)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope._variables.TryGetValue(name, out var value))
                return value;
        }

        return Undefined.Instance;
    }
}
