using System.Text.Json;
using System.Text.Json.Serialization;

namespace FunctionsLlm.Modeling.Config;

/// <summary>generation_config.json: the ids that end and pad generation, and the model's sampling defaults.</summary>
public sealed class GenerationConfig
{
    public const string FileName = "generation_config.json";

    [JsonPropertyName("bos_token_id")]
    [JsonConverter(typeof(TokenIdsConverter))]
    public int[]? BosTokenId { get; init; }

    [JsonPropertyName("eos_token_id")]
    [JsonConverter(typeof(TokenIdsConverter))]
    public int[]? EosTokenId { get; init; }

    [JsonPropertyName("pad_token_id")]
    [JsonConverter(typeof(TokenIdsConverter))]
    public int[]? PadTokenId { get; init; }

    [JsonPropertyName("do_sample")]
    public bool? DoSample { get; init; }

    [JsonPropertyName("temperature")]
    public double? Temperature { get; init; }

    [JsonPropertyName("top_p")]
    public double? TopP { get; init; }

    [JsonPropertyName("top_k")]
    public int? TopK { get; init; }

    [JsonPropertyName("repetition_penalty")]
    public double? RepetitionPenalty { get; init; }

    /// <summary>Reads the file when the model directory has one; otherwise an empty config.</summary>
    public static GenerationConfig Load(string modelDir)
    {
        string path = Path.Combine(modelDir, FileName);
        if (!File.Exists(path))
            return new GenerationConfig();
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<GenerationConfig>(stream)
                ?? throw new ModelConfigException($"{path}: the file holds null");
        }
        catch (JsonException e)
        {
            throw new ModelConfigException($"{path}: not a valid generation config: {e.Message}", e);
        }
    }
}
