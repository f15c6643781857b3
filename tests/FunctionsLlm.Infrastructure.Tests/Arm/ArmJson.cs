using System.Text.Json;
using System.Text.Json.Nodes;

namespace FunctionsLlm.Infrastructure.Tests.Arm;

/// <summary>Conversions between template JSON and the evaluator's CLR values.</summary>
internal static class ArmJson
{
    /// <summary>Evaluates every string expression in <paramref name="node"/>.</summary>
    public static object? Evaluate(JsonNode? node, ArmScope scope) => node switch
    {
        null => null,
        // Keys can be expressions too (userAssignedIdentities: { '[identity id]': {} }).
        JsonObject obj => obj.ToDictionary(kv => ArmFunctions.Text(ArmExpression.EvaluateString(kv.Key, scope)), kv => Evaluate(kv.Value, scope)),
        JsonArray list => list.Select(item => Evaluate(item, scope)).ToList(),
        JsonValue value when value.GetValueKind() == JsonValueKind.String =>
            ArmExpression.EvaluateString(value.GetValue<string>(), scope),
        _ => FromNode(node),
    };

    /// <summary>A JSON literal as a CLR value (strings are not evaluated).</summary>
    public static object? FromNode(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => obj.ToDictionary(kv => kv.Key, kv => FromNode(kv.Value)),
        JsonArray list => list.Select(FromNode).ToList(),
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number when value.TryGetValue(out long l) => l,
            JsonValueKind.Number => value.GetValue<double>(),
            _ => null,
        },
        _ => throw new ArgumentException($"unexpected JSON node {node}"),
    };

    public static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        Unknown u => JsonValue.Create(u.ToString()),
        Dictionary<string, object?> obj => new JsonObject(obj.Select(kv => KeyValuePair.Create(kv.Key, ToNode(kv.Value)))),
        List<object?> list => new JsonArray(list.Select(ToNode).ToArray()),
        _ => JsonValue.Create(ArmFunctions.Text(value)),
    };
}
