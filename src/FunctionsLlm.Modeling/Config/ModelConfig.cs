using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace FunctionsLlm.Modeling.Config;

/// <summary>
/// Hugging Face config.json of a decoder-only model of the llama, qwen2, qwen3, mistral or GLM (glm, glm4) families,
/// with the family rules HF applies in code (qwen2: q/k/v biases always, none on o_proj; qwen3: q_norm/k_norm; GLM:
/// interleaved partial rotary, no o_proj bias, one fused gate_up_proj; glm4: norms after attention and MLP as well).
/// Build with <see cref="Load"/> or <see cref="Parse"/>, which validate; the properties mirror the file.
/// </summary>
public sealed class ModelConfig
{
    public const string FileName = "config.json";

    public static readonly string[] SupportedModelTypes = ["llama", "mistral", "qwen2", "qwen3", "glm", "glm4"];

    [JsonPropertyName("model_type")]
    public string ModelType { get; init; } = "";

    [JsonPropertyName("vocab_size")]
    public int VocabSize { get; init; }

    [JsonPropertyName("hidden_size")]
    public int HiddenSize { get; init; }

    [JsonPropertyName("intermediate_size")]
    public int IntermediateSize { get; init; }

    [JsonPropertyName("num_hidden_layers")]
    public int NumHiddenLayers { get; init; }

    [JsonPropertyName("num_attention_heads")]
    public int NumAttentionHeads { get; init; }

    /// <summary>Absent means no grouped-query attention (as many KV heads as query heads).</summary>
    [JsonPropertyName("num_key_value_heads")]
    public int? NumKeyValueHeadsOrNull { get; init; }

    /// <summary>Absent means hidden_size / num_attention_heads; qwen3 sets it to something else.</summary>
    [JsonPropertyName("head_dim")]
    public int? HeadDimOrNull { get; init; }

    [JsonPropertyName("hidden_act")]
    public string HiddenAct { get; init; } = "silu";

    [JsonPropertyName("rms_norm_eps")]
    public double RmsNormEps { get; init; } = 1e-6;

    [JsonPropertyName("rope_theta")]
    public double RopeTheta { get; init; } = 10000.0;

    /// <summary>Share of each head that rotary positions rotate (the first dimensions); the rest pass through.</summary>
    [JsonPropertyName("partial_rotary_factor")]
    public double PartialRotaryFactor { get; init; } = 1.0;

    [JsonPropertyName("rope_scaling")]
    public RopeScaling? RopeScaling { get; init; }

    [JsonPropertyName("max_position_embeddings")]
    public int MaxPositionEmbeddings { get; init; } = 2048;

    [JsonPropertyName("tie_word_embeddings")]
    public bool TieWordEmbeddings { get; init; }

    [JsonPropertyName("attention_bias")]
    public bool AttentionBias { get; init; }

    [JsonPropertyName("mlp_bias")]
    public bool MlpBias { get; init; }

    /// <summary>mistral: attention window; qwen2/qwen3 use it only with use_sliding_window (unsupported).</summary>
    [JsonPropertyName("sliding_window")]
    public int? SlidingWindow { get; init; }

    [JsonPropertyName("use_sliding_window")]
    public bool UseSlidingWindow { get; init; }

    [JsonPropertyName("bos_token_id")]
    [JsonConverter(typeof(TokenIdsConverter))]
    public int[]? BosTokenId { get; init; }

    [JsonPropertyName("eos_token_id")]
    [JsonConverter(typeof(TokenIdsConverter))]
    public int[]? EosTokenId { get; init; }

    [JsonPropertyName("pad_token_id")]
    [JsonConverter(typeof(TokenIdsConverter))]
    public int[]? PadTokenId { get; init; }

    /// <summary>σ of the normal initialisation of new weights (training from scratch).</summary>
    [JsonPropertyName("initializer_range")]
    public double InitializerRange { get; init; } = 0.02;

    [JsonPropertyName("torch_dtype")]
    public string? TorchDtype { get; init; }

    /// <summary>Set for a bitsandbytes 4-bit checkpoint (e.g. one written by <c>flm quantize</c>).</summary>
    [JsonPropertyName("quantization_config")]
    public QuantizationConfig? Quantization { get; init; }

    /// <summary>How the checkpoint names its tensors: Hugging Face's names, or a remote-code ChatGLM's (read through <see cref="Checkpoints.ChatGlmTensors"/>).</summary>
    [JsonIgnore]
    public CheckpointLayout Layout { get; private set; }

    [JsonIgnore]
    public int NumKeyValueHeads => NumKeyValueHeadsOrNull ?? NumAttentionHeads;

    [JsonIgnore]
    public int HeadDim => HeadDimOrNull ?? HiddenSize / NumAttentionHeads;

    /// <summary>Biases on q_proj, k_proj and v_proj.</summary>
    [JsonIgnore]
    public bool QkvBias => ModelType == "qwen2" || AttentionBias;

    /// <summary>Bias on o_proj (llama/qwen3/mistral attention_bias; qwen2 and GLM never).</summary>
    [JsonIgnore]
    public bool OutputBias => !IsGlm && ModelType != "qwen2" && AttentionBias;

    /// <summary>GLM-4 in Hugging Face's own layout: glm (GlmForCausalLM) and glm4 (Glm4ForCausalLM, GLM-4-0414).</summary>
    [JsonIgnore]
    public bool IsGlm => ModelType is "glm" or "glm4";

    /// <summary>Head dimensions rotary positions rotate: head_dim × partial_rotary_factor.</summary>
    [JsonIgnore]
    public int RotaryDim => (int)(HeadDim * PartialRotaryFactor);

    /// <summary>Rotary pairs are neighbours (2i, 2i+1), as in GLM; otherwise HF's rotate-half pairs (i, i + d/2).</summary>
    [JsonIgnore]
    public bool InterleavedRotary => IsGlm;

    /// <summary>One mlp.gate_up_proj [2 × intermediate, hidden] (gate first) instead of gate_proj and up_proj (GLM).</summary>
    [JsonIgnore]
    public bool FusedGateUp => IsGlm;

    /// <summary>post_self_attn_layernorm and post_mlp_layernorm on each sublayer's output before its residual add (glm4).</summary>
    [JsonIgnore]
    public bool SublayerOutputNorms => ModelType == "glm4";

    /// <summary>RMSNorm of each query and key head before RoPE (qwen3).</summary>
    [JsonIgnore]
    public bool QkNorm => ModelType == "qwen3";

    /// <summary>The attention window to enforce, or null for full causal attention.</summary>
    [JsonIgnore]
    public int? AttentionWindow => ModelType == "mistral" ? SlidingWindow : null;

    public static ModelConfig Load(string modelDir)
    {
        string path = Path.Combine(modelDir, FileName);
        if (!File.Exists(path))
            throw new ModelConfigException($"{path}: not found (a model directory needs a Hugging Face config.json)");
        return Parse(File.ReadAllText(path), path);
    }

    public static ModelConfig Parse(string json, string source = FileName)
    {
        ModelConfig? config;
        var layout = CheckpointLayout.HuggingFace;
        try
        {
            if (IsChatGlm(json))
            {
                json = ChatGlmConfig.ToGlm(JsonNode.Parse(json)!.AsObject(), source).ToJsonString();
                layout = CheckpointLayout.ChatGlm;
            }
            config = JsonSerializer.Deserialize<ModelConfig>(json);
        }
        catch (JsonException e)
        {
            throw new ModelConfigException($"{source}: not a valid model config: {e.Message}", e);
        }
        catch (ArgumentException e)   // JsonObject refuses a key given twice
        {
            throw new ModelConfigException($"{source}: not a valid model config: {e.Message}", e);
        }
        if (config is null)
            throw new ModelConfigException($"{source}: the file holds null");
        config.Layout = layout;
        config.Validate(source);
        return config;
    }

    private static bool IsChatGlm(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("model_type", out var type) && type.ValueKind == JsonValueKind.String
            && type.GetString() == ChatGlmConfig.ModelType;
    }

    private void Validate(string source)
    {
        var problems = new List<string>();
        if (!SupportedModelTypes.Contains(ModelType))
        {
            throw new ModelConfigException(
                $"{source}: model_type '{ModelType}' is not supported; supported: {string.Join(", ", SupportedModelTypes)}");
        }
        RequirePositive(problems, "vocab_size", VocabSize);
        RequirePositive(problems, "hidden_size", HiddenSize);
        RequirePositive(problems, "intermediate_size", IntermediateSize);
        RequirePositive(problems, "num_hidden_layers", NumHiddenLayers);
        RequirePositive(problems, "num_attention_heads", NumAttentionHeads);
        RequirePositive(problems, "num_key_value_heads", NumKeyValueHeads);
        RequirePositive(problems, "max_position_embeddings", MaxPositionEmbeddings);
        if (HeadDimOrNull is null && NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads != 0)
            problems.Add($"hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads} and head_dim is not given");
        if (HeadDimOrNull is { } headDim && (headDim <= 0 || headDim % 2 != 0))
            problems.Add($"head_dim must be a positive even number, found {headDim}");
        if (NumKeyValueHeads > 0 && NumAttentionHeads % NumKeyValueHeads != 0)
            problems.Add($"num_attention_heads {NumAttentionHeads} is not a multiple of num_key_value_heads {NumKeyValueHeads}");
        if (HiddenAct != "silu")
            problems.Add($"hidden_act '{HiddenAct}' is not supported; supported: silu");
        if (!(RmsNormEps > 0))
            problems.Add($"rms_norm_eps must be positive, found {RmsNormEps.ToString(CultureInfo.InvariantCulture)}");
        if (!(PartialRotaryFactor > 0 && PartialRotaryFactor <= 1) || (HeadDim > 0 && (RotaryDim <= 0 || RotaryDim % 2 != 0)))
        {
            problems.Add($"partial_rotary_factor {PartialRotaryFactor.ToString(CultureInfo.InvariantCulture)} must be in (0, 1] and give an even " +
                $"number of rotary dimensions of head_dim {HeadDim}");
        }
        if (!(RopeTheta > 0))
            problems.Add($"rope_theta must be positive, found {RopeTheta.ToString(CultureInfo.InvariantCulture)}");
        if (RopeScaling is { } scaling)
        {
            if (!RopeScaling.SupportedTypes.Contains(scaling.Type))
                problems.Add($"rope_scaling type '{scaling.Type}' is not supported; supported: {string.Join(", ", RopeScaling.SupportedTypes)}");
            else if (scaling.Type != "default" && !(scaling.Factor > 0))
                problems.Add("rope_scaling factor must be positive");
            if (scaling.Type == "llama3" && (scaling.OriginalMaxPositionEmbeddings is null || !(scaling.HighFreqFactor > scaling.LowFreqFactor)))
                problems.Add("rope_scaling llama3 needs original_max_position_embeddings and high_freq_factor > low_freq_factor");
        }
        if (UseSlidingWindow && ModelType is "qwen2" or "qwen3")
            problems.Add("use_sliding_window: true is not supported for qwen2/qwen3");
        if (Quantization is { } quantization)
            problems.AddRange(quantization.Problems());
        if (problems.Count > 0)
            throw new ModelConfigException($"{source}: {string.Join("; ", problems)}");
    }

    private static void RequirePositive(List<string> problems, string name, int value)
    {
        if (value <= 0)
            problems.Add($"{name} must be a positive integer, found {value}");
    }
}
