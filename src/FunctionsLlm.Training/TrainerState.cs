using System.Text.Json;
using System.Text.Json.Serialization;

namespace FunctionsLlm.Training;

/// <summary>Where a run is (trainer_state.json in every checkpoint): enough to continue it exactly.</summary>
public sealed class TrainerState
{
    public const string FileName = "trainer_state.json";

    [JsonPropertyName("global_step")]
    public int GlobalStep { get; set; }

    [JsonPropertyName("max_steps")]
    public int MaxSteps { get; set; }

    /// <summary>The epoch in progress (0-based) and how many of its optimizer steps are done.</summary>
    [JsonPropertyName("epoch_index")]
    public int EpochIndex { get; set; }

    [JsonPropertyName("steps_in_epoch")]
    public int StepsInEpoch { get; set; }

    [JsonPropertyName("best_eval_loss")]
    public double? BestEvalLoss { get; set; }

    [JsonPropertyName("best_step")]
    public int? BestStep { get; set; }

    [JsonPropertyName("evals_without_improvement")]
    public int EvalsWithoutImprovement { get; set; }

    [JsonPropertyName("stopped_early")]
    public bool StoppedEarly { get; set; }

    /// <summary>Train-loss sum and step count since the last log line, so a resumed run logs the same numbers.</summary>
    [JsonPropertyName("pending_loss_sum")]
    public double PendingLossSum { get; set; }

    [JsonPropertyName("pending_loss_steps")]
    public int PendingLossSteps { get; set; }

    [JsonPropertyName("seed")]
    public int Seed { get; set; }

    public void Save(string path)
    {
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(this, Indented));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    public static TrainerState Load(string path) =>
        JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty trainer state");

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
