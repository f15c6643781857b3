using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Modeling.Lora;

/// <summary>
/// PEFT's adapter_config.json for a LoRA adapter of a causal LM. Field names and defaults follow PEFT's LoraConfig;
/// fields PEFT writes that we do not use are kept as they were read so a round trip loses nothing.
/// </summary>
public sealed class LoraConfig
{
    public const string FileName = "adapter_config.json";

    /// <summary>PEFT's shorthand for every linear layer but the output head.</summary>
    public const string AllLinear = "all-linear";

    /// <summary>The adapter a training run with <paramref name="settings"/> creates on <paramref name="baseModel"/>.</summary>
    public static LoraConfig From(Hyperparameters settings, string? baseModel)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new LoraConfig
        {
            R = settings.LoraR,
            LoraAlpha = settings.LoraAlpha,
            LoraDropout = settings.LoraDropout,
            UseRsLora = settings.UseRsLora,
            TargetModules = settings.TargetModules,
            BaseModelNameOrPath = baseModel,
        };
    }

    [JsonPropertyName("peft_type")]
    public string PeftType { get; init; } = "LORA";

    [JsonPropertyName("task_type")]
    public string? TaskType { get; init; } = "CAUSAL_LM";

    [JsonPropertyName("r")]
    public int R { get; init; } = 16;

    [JsonPropertyName("lora_alpha")]
    public double LoraAlpha { get; init; } = 32;

    [JsonPropertyName("lora_dropout")]
    public double LoraDropout { get; init; } = 0.05;

    /// <summary>Module names (matched as the last part of a module path, as PEFT does) or "all-linear".</summary>
    [JsonPropertyName("target_modules")]
    [JsonConverter(typeof(TargetModulesConverter))]
    public IReadOnlyList<string> TargetModules { get; init; } = Hyperparameters.DefaultTargetModules;

    [JsonPropertyName("bias")]
    public string Bias { get; init; } = "none";

    [JsonPropertyName("use_rslora")]
    public bool UseRsLora { get; init; }

    [JsonPropertyName("use_dora")]
    public bool UseDora { get; init; }

    [JsonPropertyName("fan_in_fan_out")]
    public bool FanInFanOut { get; init; }

    [JsonPropertyName("inference_mode")]
    public bool InferenceMode { get; init; } = true;

    [JsonPropertyName("init_lora_weights")]
    public JsonNode? InitLoraWeights { get; init; } = JsonValue.Create(true);

    [JsonPropertyName("base_model_name_or_path")]
    public string? BaseModelNameOrPath { get; init; }

    [JsonPropertyName("revision")]
    public string? Revision { get; init; }

    [JsonPropertyName("modules_to_save")]
    public IReadOnlyList<string>? ModulesToSave { get; init; }

    [JsonPropertyName("layers_to_transform")]
    public JsonNode? LayersToTransform { get; init; }

    [JsonPropertyName("rank_pattern")]
    public Dictionary<string, JsonElement> RankPattern { get; init; } = [];

    [JsonPropertyName("alpha_pattern")]
    public Dictionary<string, JsonElement> AlphaPattern { get; init; } = [];

    /// <summary>Everything else PEFT wrote (megatron_config, loftq_config, …), written back unchanged.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; init; }

    /// <summary>α / r, or α / √r with rsLoRA.</summary>
    [JsonIgnore]
    public double Scaling => UseRsLora ? LoraAlpha / Math.Sqrt(R) : LoraAlpha / R;

    [JsonIgnore]
    public bool TargetsAllLinear => TargetModules is [AllLinear];

    /// <summary>Whether PEFT would adapt the module at this path (e.g. model.layers.0.self_attn.q_proj).</summary>
    public bool Targets(string modulePath)
    {
        if (TargetsAllLinear)
            return modulePath != "lm_head";
        return TargetModules.Any(t => modulePath == t || modulePath.EndsWith("." + t, StringComparison.Ordinal));
    }

    public static LoraConfig Load(string adapterDir)
    {
        string path = Path.Combine(adapterDir, FileName);
        if (!File.Exists(path))
            throw new LoraException($"{path}: not found (a PEFT adapter directory needs adapter_config.json)");
        LoraConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<LoraConfig>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new LoraException($"{path}: not a valid adapter config: {e.Message}", e);
        }
        if (config is null)
            throw new LoraException($"{path}: the file holds null");
        config.Validate(path);
        return config;
    }

    public void Save(string adapterDir)
    {
        Directory.CreateDirectory(adapterDir);
        string path = Path.Combine(adapterDir, FileName);
        string temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, WriteOptions) + "\n");
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Throws <see cref="LoraException"/> naming every option we cannot honour.</summary>
    public void Validate(string source = FileName)
    {
        var problems = new List<string>();
        if (PeftType != "LORA")
            problems.Add($"peft_type '{PeftType}' is not supported; supported: LORA");
        if (TaskType is not null and not "CAUSAL_LM")
            problems.Add($"task_type '{TaskType}' is not supported; supported: CAUSAL_LM");
        if (R < 1)
            problems.Add($"r must be at least 1, found {R}");
        if (!(LoraAlpha > 0))
            problems.Add($"lora_alpha must be positive, found {LoraAlpha}");
        if (!(LoraDropout >= 0 && LoraDropout < 1))
            problems.Add($"lora_dropout must be in [0, 1), found {LoraDropout}");
        if (TargetModules.Count == 0)
            problems.Add("target_modules is empty");
        if (Bias != "none")
            problems.Add($"bias '{Bias}' is not supported; supported: none");
        if (UseDora)
            problems.Add("use_dora: true (DoRA) is not supported");
        if (FanInFanOut)
            problems.Add("fan_in_fan_out: true is not supported (it is for GPT-2 Conv1D layers)");
        if (ModulesToSave is { Count: > 0 })
            problems.Add("modules_to_save is not supported");
        if (LayersToTransform is not null)
            problems.Add("layers_to_transform is not supported");
        if (RankPattern.Count > 0 || AlphaPattern.Count > 0)
            problems.Add("rank_pattern / alpha_pattern are not supported");
        if (problems.Count > 0)
            throw new LoraException($"{source}: {string.Join("; ", problems)}");
    }

    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true };

    /// <summary>target_modules is a list of names, or one string: "all-linear" or (in PEFT) a regex we do not support.</summary>
    private sealed class TargetModulesConverter : JsonConverter<IReadOnlyList<string>>
    {
        public override IReadOnlyList<string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                string value = reader.GetString()!;
                return value == AllLinear
                    ? [AllLinear]
                    : throw new JsonException($"target_modules as a regular expression ('{value}') is not supported; give a list of module names or \"all-linear\"");
            }
            return JsonSerializer.Deserialize<List<string>>(ref reader) ?? [];
        }

        public override void Write(Utf8JsonWriter writer, IReadOnlyList<string> value, JsonSerializerOptions options)
        {
            if (value is [AllLinear])
                writer.WriteStringValue(AllLinear);
            else
                JsonSerializer.Serialize(writer, value.Order(StringComparer.Ordinal).ToList());
        }
    }
}
