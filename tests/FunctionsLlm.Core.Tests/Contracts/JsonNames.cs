using System.Text.Json;

namespace FunctionsLlm.Core.Tests.Contracts;

/// <summary>The member names a serialized contract has, to compare with the names DESIGN.md spells out.</summary>
internal static class JsonNames
{
    public static string[] Of(string json, params string[] path)
    {
        using var document = JsonDocument.Parse(json);
        var element = document.RootElement;
        foreach (var name in path)
            element = element.GetProperty(name);
        return [.. element.EnumerateObject().Select(p => p.Name)];
    }
}
