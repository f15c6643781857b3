using System.Text.Json;

namespace FunctionsLlm.Serving.OpenAi;

/// <summary>Typed reads of a JSON object's fields that name the field when its value has the wrong type or range.</summary>
internal readonly struct JsonFields
{
    private readonly JsonElement _object;
    private readonly string _path;

    public JsonFields(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new OpenAiRequestException($"'{(path.Length == 0 ? "body" : path)}' must be a JSON object", path.Length == 0 ? null : path);
        _object = element;
        _path = path;
    }

    /// <summary>The field, or null when it is absent or JSON null.</summary>
    public JsonElement? Get(string name) =>
        _object.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public string Param(string name) => _path.Length == 0 ? name : $"{_path}.{name}";

    public string? String(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw new OpenAiRequestException($"'{Param(name)}' must be a string", Param(name)),
    };

    public bool? Boolean(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw new OpenAiRequestException($"'{Param(name)}' must be true or false", Param(name)),
    };

    public double? Number(string name, double min, double max)
    {
        if (Get(name) is not { } value)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number))
            throw new OpenAiRequestException($"'{Param(name)}' must be a number", Param(name));
        if (number < min || number > max)
            throw new OpenAiRequestException($"'{Param(name)}' must be between {min} and {max}, got {number}", Param(name));
        return number;
    }

    public int? Integer(string name, int min, int max)
    {
        if (Get(name) is not { } value)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long number))
            throw new OpenAiRequestException($"'{Param(name)}' must be an integer", Param(name));
        if (number < min || number > max)
            throw new OpenAiRequestException($"'{Param(name)}' must be between {min} and {max}, got {number}", Param(name));
        return (int)number;
    }

    /// <summary>OpenAI's <c>stop</c>: a string or an array of up to four strings.</summary>
    public IReadOnlyList<string> Stop(string name)
    {
        string param = Param(name);
        switch (Get(name))
        {
            case null:
                return [];
            case { ValueKind: JsonValueKind.String } one:
                return NonEmpty(one.GetString()!);
            case { ValueKind: JsonValueKind.Array } many:
                if (many.GetArrayLength() > 4)
                    throw new OpenAiRequestException($"'{param}' may hold at most 4 sequences", param);
                return [.. many.EnumerateArray().SelectMany(e => e.ValueKind == JsonValueKind.String
                    ? NonEmpty(e.GetString()!)
                    : throw new OpenAiRequestException($"'{param}' must be a string or an array of strings", param))];
            default:
                throw new OpenAiRequestException($"'{param}' must be a string or an array of strings", param);
        }

        string[] NonEmpty(string s) => s.Length > 0 ? [s] : throw new OpenAiRequestException($"'{param}' must not be empty", param);
    }
}
