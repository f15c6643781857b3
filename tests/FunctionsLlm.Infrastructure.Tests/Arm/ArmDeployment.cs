using System.Text.Json.Nodes;

namespace FunctionsLlm.Infrastructure.Tests.Arm;

/// <summary>
/// A compiled template with the parameter values it is deployed with: the root (main.bicep with a .bicepparam
/// file) or a module (a nested Microsoft.Resources/deployments resource, parameters evaluated in its parent).
/// </summary>
internal sealed class ArmDeployment
{
    private const string DeploymentType = "Microsoft.Resources/deployments";

    private readonly Func<string, (bool Found, object? Value)> _providedParameter;
    private readonly Dictionary<string, object?> _parameters = [];
    private readonly Dictionary<string, object?> _variables = [];
    private readonly Dictionary<string, object?> _outputs = [];
    private List<(string Key, string Name, ArmDeployment Deployment, bool Deployed)>? _modules;

    private ArmDeployment(string path, JsonObject template, Func<string, (bool, object?)> providedParameter)
    {
        Path = path;
        Template = template;
        _providedParameter = providedParameter;
    }

    /// <summary>Module path from the root ("" for the root itself, "trainer", "a/b" for nested modules).</summary>
    public string Path { get; }

    public JsonObject Template { get; }

    /// <summary>The root deployment: values from a parameters file, then <paramref name="overrides"/>.</summary>
    public static ArmDeployment Root(JsonObject template, JsonObject? parametersFile,
        IReadOnlyDictionary<string, object?>? overrides = null)
    {
        return new ArmDeployment("", template, name =>
        {
            if (overrides is not null && overrides.TryGetValue(name, out object? overridden))
                return (true, overridden);
            if (parametersFile?["parameters"]?[name]?["value"] is { } value)
                return (true, ArmJson.FromNode(value));
            return (false, null);
        });
    }

    public object? Parameter(string name)
    {
        if (_parameters.TryGetValue(name, out object? cached))
            return cached;
        var (found, value) = _providedParameter(name);
        if (!found)
        {
            JsonNode? declared = Template["parameters"]?[name]
                ?? throw new KeyNotFoundException($"parameter '{name}' is not declared in deployment '{Path}'");
            value = declared["defaultValue"] is { } defaultValue
                ? Evaluate(defaultValue)
                : new Unknown($"parameter {name}");
        }
        return _parameters[name] = value;
    }

    public object? Variable(string name)
    {
        if (_variables.TryGetValue(name, out object? cached))
            return cached;
        JsonNode node = Template["variables"]?[name]
            ?? throw new KeyNotFoundException($"variable '{name}' is not declared in deployment '{Path}'");
        return _variables[name] = Evaluate(node);
    }

    public object? Output(string name)
    {
        if (_outputs.TryGetValue(name, out object? cached))
            return cached;
        JsonNode node = Template["outputs"]?[name]?["value"]
            ?? throw new KeyNotFoundException($"output '{name}' is not declared in deployment '{Path}'");
        return _outputs[name] = Evaluate(node);
    }

    public IReadOnlyCollection<string> OutputNames =>
        Template["outputs"] is JsonObject outputs ? outputs.Select(o => o.Key).ToList() : [];

    public object? Evaluate(JsonNode? node, int? copyIndex = null) => ArmJson.Evaluate(node, new ArmScope(this, copyIndex));

    /// <summary>A direct child deployment (module) by deployment name.</summary>
    public ArmDeployment Module(string name) =>
        TryModule(name) ?? throw new KeyNotFoundException($"no module '{name}' in deployment '{Path}'");

    public ArmDeployment? TryModule(string nameOrSymbol) =>
        LoadModules().FirstOrDefault(m => m.Name == nameOrSymbol || m.Key == nameOrSymbol).Deployment;

    /// <summary>Child deployments whose condition holds (or is unknown), in template order.</summary>
    public IEnumerable<ArmDeployment> Modules => LoadModules().Where(m => m.Deployed).Select(m => m.Deployment);

    /// <summary>Resources of this deployment and of every deployed module, copies expanded, conditions applied.</summary>
    public IEnumerable<ArmResource> AllResources =>
        DirectResources().Concat(Modules.SelectMany(m => m.AllResources));

    private IEnumerable<ArmResource> DirectResources()
    {
        foreach (var (_, resource) in ResourceNodes())
        {
            if (resource["existing"]?.GetValue<bool>() == true || (string?)resource["type"] == DeploymentType)
                continue;
            foreach (int? index in CopyIndexes(resource))
            {
                if (Evaluate(resource["condition"], index) is not false)
                    yield return new ArmResource(this, resource, index);
            }
        }
    }

    private IEnumerable<int?> CopyIndexes(JsonObject resource)
    {
        if (resource["copy"] is not JsonObject copy)
            return [null];
        return Evaluate(copy["count"]) is long count
            ? Enumerable.Range(0, (int)count).Select(i => (int?)i)
            : throw new InvalidOperationException($"copy count of {resource["type"]} in '{Path}' is not known");
    }

    private IEnumerable<(string Key, JsonObject Resource)> ResourceNodes() => Template["resources"] switch
    {
        JsonArray list => list.Select((r, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), r!.AsObject())),
        JsonObject symbolic => symbolic.Select(kv => (kv.Key, kv.Value!.AsObject())),
        _ => [],
    };

    private List<(string Key, string Name, ArmDeployment Deployment, bool Deployed)> LoadModules()
    {
        if (_modules is not null)
            return _modules;
        _modules = [];
        foreach (var (key, resource) in ResourceNodes())
        {
            if ((string?)resource["type"] != DeploymentType)
                continue;
            string name = ArmFunctions.Text(Evaluate(resource["name"]));
            JsonObject properties = resource["properties"]!.AsObject();
            JsonObject? passed = properties["parameters"] as JsonObject;
            var child = new ArmDeployment(
                Path.Length == 0 ? name : $"{Path}/{name}",
                properties["template"]!.AsObject(),
                parameter => passed?[parameter] switch
                {
                    JsonObject p => (true, Evaluate(p["value"])),
                    // A conditional value compiles to one expression choosing between { value: ... } objects.
                    JsonValue expression => Evaluate(expression) is Dictionary<string, object?> chosen && chosen.TryGetValue("value", out object? value)
                        ? (true, value) : (true, new Unknown($"parameter {parameter}")),
                    _ => (false, null),
                });
            _modules.Add((key, name, child, Evaluate(resource["condition"]) is not false));
        }
        return _modules;
    }
}

/// <summary>One resource instance (one per copy index) of a deployment.</summary>
internal sealed record ArmResource(ArmDeployment Deployment, JsonObject Raw, int? CopyIndex)
{
    public string Type => (string)Raw["type"]!;

    public string Name => ArmFunctions.Text(Deployment.Evaluate(Raw["name"], CopyIndex));

    /// <summary>The resource's JSON with every expression evaluated (unknown parts as "⟨label⟩").</summary>
    public JsonObject Evaluated => ArmJson.ToNode(Deployment.Evaluate(Raw, CopyIndex))!.AsObject();

    public override string ToString() => $"{Type} '{Name}' in '{Deployment.Path}'";
}
