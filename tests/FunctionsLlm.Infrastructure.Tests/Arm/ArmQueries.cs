using System.Text.Json.Nodes;

namespace FunctionsLlm.Infrastructure.Tests.Arm;

internal static class ArmQueries
{
    public static IReadOnlyList<ArmResource> OfType(this ArmDeployment deployment, string type) =>
        deployment.AllResources.Where(r => string.Equals(r.Type, type, StringComparison.OrdinalIgnoreCase)).ToList();

    public static ArmResource Single(this ArmDeployment deployment, string type)
    {
        var found = deployment.OfType(type);
        Assert.True(found.Count == 1, $"expected one {type}, found {found.Count}: {string.Join(", ", found)}");
        return found[0];
    }

    /// <summary>The id the evaluator gives a resource, as resourceId() renders it: Type/name[/child/name].</summary>
    public static string Id(this ArmResource resource)
    {
        string[] types = resource.Type.Split('/');
        string[] names = resource.Name.Split('/');
        var id = $"{types[0]}/{types[1]}/{names[0]}";
        for (int i = 2; i < types.Length; i++)
            id += $"/{types[i]}/{names[i - 1]}";
        return id;
    }

    public static string? Text(this JsonNode? node, string path)
    {
        JsonNode? current = node;
        foreach (string part in path.Split('.'))
            current = current?[part];
        return current?.ToString();
    }

    /// <summary>The pipeline function app's app settings.</summary>
    public static Dictionary<string, string?> PipelineSettings(this ArmDeployment deployment) =>
        deployment.Single("Microsoft.Web/sites").Evaluated["properties"]!["siteConfig"]!["appSettings"].Settings();

    /// <summary>{ name, value } pairs of an app settings or container env array, as a dictionary.</summary>
    public static Dictionary<string, string?> Settings(this JsonNode? array) =>
        array!.AsArray().ToDictionary(s => (string)s!["name"]!, s => s!["value"]?.ToString());
}
