using System.CommandLine;
using System.ComponentModel;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Cli.Commands;

/// <summary>
/// <c>flm train</c>'s training options, generated from <see cref="Hyperparameters"/>: one option per property, named
/// <c>--{its JSON name in kebab case}</c> (<c>lr</c> → <c>--lr</c>, <c>gradAccum</c> → <c>--grad-accum</c>), with the
/// record's default and its <see cref="DescriptionAttribute"/> as help. The values are read back through the contract's
/// own JSON reading and validation, so the CLI, a job spec and the trainer agree on names, defaults and ranges.
/// </summary>
internal sealed class HyperparameterOptions
{
    private readonly List<Binding> _bindings;

    private HyperparameterOptions(List<Binding> bindings) => _bindings = bindings;

    /// <summary>Older spellings kept working.</summary>
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal) { ["useRsLora"] = "--rslora" };

    public IEnumerable<Option> Options => _bindings.Select(b => b.Option);

    public static HyperparameterOptions Create()
    {
        var defaults = new Hyperparameters();
        var bindings = new List<Binding>();
        foreach (var property in typeof(Hyperparameters).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            string json = JsonName(property);
            string name = OptionName(json);
            string description = property.GetCustomAttribute<DescriptionAttribute>()?.Description
                ?? throw new InvalidOperationException($"Hyperparameters.{property.Name} has no [Description]: it is the option's help");
            object? value = property.GetValue(defaults);
            Binding binding = value switch
            {
                _ when property.PropertyType == typeof(int) => Typed(name, description, (int)value!, v => JsonValue.Create(v)),
                _ when property.PropertyType == typeof(int?) => Typed<int?>(name, description, null, v => v is { } i ? JsonValue.Create(i) : null),
                _ when property.PropertyType == typeof(double) => Typed(name, description, (double)value!, v => JsonValue.Create(v)),
                _ when property.PropertyType == typeof(bool) => Typed(name, (bool)value! ? $"{description} On by default ({name} false turns it off)." : description,
                    (bool)value!, v => JsonValue.Create(v)),
                _ when property.PropertyType == typeof(SchedulerKind) => Typed(name, $"{description} One of {SnakeCaseEnumConverter<SchedulerKind>.AllowedNames}.",
                    Enum(value!), v => JsonValue.Create(v)),
                _ when property.PropertyType == typeof(BaseQuantization?) => Typed<string?>(name, $"{description} One of {SnakeCaseEnumConverter<BaseQuantization>.AllowedNames}.",
                    null, v => v is null ? null : JsonValue.Create(v)),
                IReadOnlyList<string> list => Typed(name, $"{description} Comma-separated.", string.Join(',', list),
                    v => new JsonArray([.. v!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(m => (JsonNode?)JsonValue.Create(m))])),
                _ => throw new InvalidOperationException($"Hyperparameters.{property.Name}: no option for a {property.PropertyType.Name}"),
            };
            if (Aliases.TryGetValue(json, out string? alias))
                binding.Option.Aliases.Add(alias);
            bindings.Add(binding with { Json = json });
        }
        return new HyperparameterOptions(bindings);
    }

    /// <summary>The values given (or defaulted) as <see cref="Hyperparameters"/>; a bad one is a usage error naming its option.</summary>
    public Hyperparameters Bind(ParseResult parse)
    {
        var document = new JsonObject();
        foreach (var binding in _bindings)
            document[binding.Json] = binding.Read(parse);
        if (ContractJson.TryParse<Hyperparameters>(document.ToJsonString(), out var hyperparameters, out string? error))
            return hyperparameters;
        foreach (var binding in _bindings)
            error = error.Replace($"'{binding.Json}'", binding.Option.Name, StringComparison.Ordinal);
        throw new UsageException(error);
    }

    /// <summary>The option name of a JSON name: <c>maxSeqLen</c> → <c>--max-seq-len</c>.</summary>
    public static string OptionName(string jsonName) =>
        "--" + string.Concat(jsonName.Select((c, i) => char.IsUpper(c) && i > 0 ? $"-{char.ToLowerInvariant(c)}" : char.ToLowerInvariant(c).ToString()));

    public static string JsonName(PropertyInfo property) =>
        property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(property.Name);

    private static string Enum(object kind) => JsonSerializer.Serialize(kind, kind.GetType()).Trim('"');

    private static Binding Typed<T>(string name, string description, T defaultValue, Func<T, JsonNode?> toJson)
    {
        var option = new Option<T>(name) { Description = description };
        if (defaultValue is not null)
            option.DefaultValueFactory = _ => defaultValue;
        return new Binding("", option, parse => toJson(parse.GetValue(option)!));
    }

    private sealed record Binding(string Json, Option Option, Func<ParseResult, JsonNode?> Read);
}
