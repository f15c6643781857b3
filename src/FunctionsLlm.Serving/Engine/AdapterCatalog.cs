using System.Text.RegularExpressions;

namespace FunctionsLlm.Serving.Engine;

/// <summary>
/// The adapters an engine can serve, by name; safe to use from any thread. Whether one is resident in the engine's
/// slots is the engine's business: this only knows what exists.
/// </summary>
public sealed partial class AdapterCatalog
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ServedAdapter> _adapters = new(StringComparer.Ordinal);

    public IReadOnlyList<ServedAdapter> All
    {
        get
        {
            lock (_lock)
                return [.. _adapters.Values.OrderBy(a => a.Name, StringComparer.Ordinal)];
        }
    }

    public ServedAdapter? Find(string name)
    {
        lock (_lock)
            return _adapters.GetValueOrDefault(name);
    }

    /// <summary>Adds <paramref name="adapter"/>; with <paramref name="replace"/> it may replace one of the same name.</summary>
    /// <returns>False when the name is taken and <paramref name="replace"/> is false.</returns>
    public bool Add(ServedAdapter adapter, bool replace)
    {
        lock (_lock)
        {
            if (!replace && _adapters.ContainsKey(adapter.Name))
                return false;
            _adapters[adapter.Name] = adapter;
            return true;
        }
    }

    public bool Remove(string name)
    {
        lock (_lock)
            return _adapters.Remove(name);
    }

    /// <summary>The adapter <paramref name="model"/> names over the base <paramref name="baseName"/>: null for the base
    /// (or no model), the adapter for <c>BASE:ADAPTER</c> or its own name.</summary>
    /// <exception cref="EngineRejectedException">Neither (<see cref="EngineRejection.ModelNotFound"/>), listing what is served.</exception>
    public ServedAdapter? Resolve(string baseName, string? model)
    {
        if (model is null || model == baseName)
            return null;
        string name = model.StartsWith(baseName + ":", StringComparison.Ordinal) ? model[(baseName.Length + 1)..] : model;
        if (Find(name) is { } adapter)
            return adapter;
        var known = All;
        string served = known.Count == 0 ? $"'{baseName}'" : $"'{baseName}' and its adapters {string.Join(", ", known.Select(a => $"'{a.Name}'"))}";
        throw new EngineRejectedException(EngineRejection.ModelNotFound, $"The model '{model}' does not exist; this server serves {served}", "model");
    }

    /// <summary>Letters, digits and <c>._-</c>, at most 128: it is a path segment in blob and the <c>model</c> after <c>BASE:</c>.</summary>
    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex NamePattern();
}
