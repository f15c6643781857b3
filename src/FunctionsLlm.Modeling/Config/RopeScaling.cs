using System.Text.Json.Serialization;

namespace FunctionsLlm.Modeling.Config;

/// <summary>config.json <c>rope_scaling</c>. Supported: default (none), <c>linear</c>, <c>llama3</c>.</summary>
public sealed class RopeScaling
{
    public static readonly string[] SupportedTypes = ["default", "linear", "llama3"];

    /// <summary>Newer configs say <c>rope_type</c>, older ones <c>type</c>.</summary>
    [JsonPropertyName("rope_type")]
    public string? RopeType { get; init; }

    [JsonPropertyName("type")]
    public string? LegacyType { get; init; }

    [JsonPropertyName("factor")]
    public double Factor { get; init; } = 1.0;

    [JsonPropertyName("low_freq_factor")]
    public double LowFreqFactor { get; init; } = 1.0;

    [JsonPropertyName("high_freq_factor")]
    public double HighFreqFactor { get; init; } = 4.0;

    [JsonPropertyName("original_max_position_embeddings")]
    public int? OriginalMaxPositionEmbeddings { get; init; }

    [JsonIgnore]
    public string Type => RopeType ?? LegacyType ?? "default";
}
