using System.Text.Json;
using System.Text.Json.Nodes;

namespace FunctionsLlm.Modeling.Config;

/// <summary>
/// The config.json of a remote-code ChatGLM checkpoint (<c>model_type: chatglm</c>, <c>ChatGLMModel</c>: ChatGLM2/3,
/// glm-4-9b-chat) as the same network in Hugging Face's <c>glm</c> form, field for field as transformers' GLM
/// conversion reads it: half of each head rotated in neighbouring pairs, θ = 10000 × rope_ratio.
/// </summary>
public static class ChatGlmConfig
{
    public const string ModelType = "chatglm";

    /// <summary>The glm config; throws <see cref="ModelConfigException"/> naming every field that makes the network another one.</summary>
    public static JsonObject ToGlm(JsonObject chatglm, string source)
    {
        var problems = new List<string>();
        bool? Flag(string name) => chatglm[name] is { } value
            ? value.GetValueKind() switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => Wrong<bool?>(name, "true or false") }
            : null;
        double? Number(string name) => chatglm[name] is { } value
            ? value.GetValueKind() == JsonValueKind.Number ? value.GetValue<double>() : Wrong<double?>(name, "a number")
            : null;
        T? Wrong<T>(string name, string expected)
        {
            problems.Add($"{name} must be {expected}, found {chatglm[name]!.ToJsonString()}");
            return default;
        }
        JsonNode? Required(string name)
        {
            if (Number(name) is { } value)
                return value % 1 == 0 ? JsonValue.Create((long)value) : JsonValue.Create(value);
            if (chatglm[name] is null)
                problems.Add($"{name} is missing");
            return null;
        }

        foreach (var (field, expected) in new[] { ("rmsnorm", true), ("post_layer_norm", true), ("original_rope", true), ("add_bias_linear", false),
                     ("apply_residual_connection_post_layernorm", false) })
        {
            if (Flag(field) is { } value && value != expected)
                problems.Add($"{field}: {(value ? "true" : "false")} is another network than GLM's ({(expected ? "true" : "false")})");
        }
        var glm = new JsonObject
        {
            ["architectures"] = new JsonArray("GlmForCausalLM"),
            ["model_type"] = "glm",
            ["vocab_size"] = Required("padded_vocab_size"),
            ["hidden_size"] = Required("hidden_size"),
            ["intermediate_size"] = Required("ffn_hidden_size"),
            ["num_hidden_layers"] = Required("num_layers"),
            ["num_attention_heads"] = Required("num_attention_heads"),
            ["num_key_value_heads"] = Flag("multi_query_attention") == true ? Required("multi_query_group_num") : Required("num_attention_heads"),
            ["head_dim"] = Required("kv_channels"),
            ["hidden_act"] = "silu",
            ["rms_norm_eps"] = Required("layernorm_epsilon"),
            ["rope_theta"] = 10000.0 * (Number("rope_ratio") ?? 1.0),
            ["partial_rotary_factor"] = 0.5,
            ["max_position_embeddings"] = Required("seq_length"),
            ["attention_bias"] = Flag("add_qkv_bias") ?? false,
            ["tie_word_embeddings"] = false,
        };
        foreach (string copied in new[] { "eos_token_id", "pad_token_id", "bos_token_id", "torch_dtype" })
        {
            if (chatglm[copied] is { } value)
                glm[copied] = value.DeepClone();
        }
        if (problems.Count > 0)
            throw new ModelConfigException($"{source}: a remote-code ChatGLM config ({ModelType}): {string.Join("; ", problems)}");
        return glm;
    }
}
