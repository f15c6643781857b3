using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace FunctionsLlm.Modeling.Config;

/// <summary>
/// config.json's <c>quantization_config</c> as transformers writes it for a model loaded with
/// <c>BitsAndBytesConfig(load_in_4bit=True, …)</c>. Only bitsandbytes 4-bit is supported; which linear layers are
/// quantized, and how, is read from each weight's own quant state, so skipped modules simply load as dense weights.
/// </summary>
public sealed class QuantizationConfig
{
    [JsonPropertyName("quant_method")]
    public string? QuantMethod { get; init; }

    [JsonPropertyName("load_in_4bit")]
    public bool? LoadIn4Bit { get; init; }

    /// <summary>The private field older transformers versions serialise instead of (or besides) load_in_4bit.</summary>
    [JsonPropertyName("_load_in_4bit")]
    public bool? LoadIn4BitPrivate { get; init; }

    [JsonPropertyName("load_in_8bit")]
    public bool? LoadIn8Bit { get; init; }

    [JsonPropertyName("bnb_4bit_quant_type")]
    public string? QuantType { get; init; }

    [JsonPropertyName("bnb_4bit_use_double_quant")]
    public bool? UseDoubleQuant { get; init; }

    [JsonPropertyName("bnb_4bit_compute_dtype")]
    public string? ComputeDType { get; init; }

    [JsonPropertyName("bnb_4bit_quant_storage")]
    public string? QuantStorage { get; init; }

    [JsonIgnore]
    public bool IsFourBit => LoadIn4Bit ?? LoadIn4BitPrivate ?? false;

    /// <summary>The problems that stop this project from loading such a checkpoint (none for bitsandbytes 4-bit in uint8).</summary>
    public IEnumerable<string> Problems()
    {
        if (QuantMethod != "bitsandbytes")
            yield return $"quantization_config.quant_method '{QuantMethod}' is not supported; supported: bitsandbytes (4-bit)";
        else if (LoadIn8Bit == true)
            yield return "quantization_config.load_in_8bit: bitsandbytes 8-bit checkpoints are not supported; supported: load_in_4bit";
        else if (!IsFourBit)
            yield return "quantization_config: bitsandbytes without load_in_4bit is not supported";
        else if (QuantStorage is not null and not "uint8")
            yield return $"quantization_config.bnb_4bit_quant_storage '{QuantStorage}' is not supported; supported: uint8";
    }

    /// <summary>The object transformers writes for <c>BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=…, …)</c>.</summary>
    public static JsonObject FourBit(string quantType, bool doubleQuant, string computeDType) => new()
    {
        ["_load_in_4bit"] = true,
        ["_load_in_8bit"] = false,
        ["bnb_4bit_compute_dtype"] = computeDType,
        ["bnb_4bit_quant_storage"] = "uint8",
        ["bnb_4bit_quant_type"] = quantType,
        ["bnb_4bit_use_double_quant"] = doubleQuant,
        ["llm_int8_enable_fp32_cpu_offload"] = false,
        ["llm_int8_has_fp16_weight"] = false,
        ["llm_int8_skip_modules"] = null,
        ["llm_int8_threshold"] = 6.0,
        ["load_in_4bit"] = true,
        ["load_in_8bit"] = false,
        ["quant_method"] = "bitsandbytes",
    };
}
