using System.Collections;
using System.Text.Json;

namespace FunctionsLlm.Data.Templating.Runtime;

/// <summary>Converts caller-supplied .NET values (including <see cref="JsonElement"/>) to runtime values.</summary>
internal static class ValueConversion
{
    public static object? ToRuntime(object? value) => value switch
    {
        null => null,
        Undefined or ListValue or DictValue or NamespaceValue or FunctionValue => value,
        string s => s,
        bool b => b,
        int or long or short or sbyte or byte or ushort or uint => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
        ulong u => u <= long.MaxValue ? (long)u : (double)u,
        double d => FromNumber(d),
        float f => FromNumber(f),
        decimal m => FromNumber((double)m),
        char c => c.ToString(),
        JsonElement element => FromJson(element),
        IReadOnlyDictionary<string, object?> dictionary => FromPairs(dictionary),
        IDictionary<string, object?> dictionary => FromPairs(dictionary),
        IDictionary dictionary => FromNonGenericDictionary(dictionary),
        IEnumerable sequence => new ListValue(sequence.Cast<object?>().Select(ToRuntime).ToList()),
        _ => throw new TemplateRenderException($"cannot use a value of type {value.GetType().Name} in a template"),
    };

    /// <summary>Like JavaScript (and so the reference engine), a number with no fractional part is an integer.</summary>
    private static object FromNumber(double number) =>
        double.IsFinite(number) && Math.Floor(number) == number && Math.Abs(number) < 9.2e18 ? (object)(long)number : number;

    private static DictValue FromPairs(IEnumerable<KeyValuePair<string, object?>> pairs)
    {
        var dict = new DictValue();
        foreach (var (key, value) in pairs)
            dict.Items[key] = ToRuntime(value);
        return dict;
    }

    private static DictValue FromNonGenericDictionary(IDictionary dictionary)
    {
        var dict = new DictValue();
        foreach (DictionaryEntry entry in dictionary)
        {
            if (entry.Key is not string key)
                throw new TemplateRenderException("dictionary keys passed to a template must be strings");
            dict.Items[key] = ToRuntime(entry.Value);
        }

        return dict;
    }

    private static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.Undefined => Undefined.Instance,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out var integer) ? integer : FromNumber(element.GetDouble()),
        JsonValueKind.Array => new ListValue(element.EnumerateArray().Select(FromJson).ToList()),
        JsonValueKind.Object => FromJsonObject(element),
        _ => throw new TemplateRenderException($"unsupported JSON value kind {element.ValueKind}"),
    };

    private static DictValue FromJsonObject(JsonElement element)
    {
        var dict = new DictValue();
        foreach (var property in element.EnumerateObject())
            dict.Items[property.Name] = FromJson(property.Value);
        return dict;
    }
}
