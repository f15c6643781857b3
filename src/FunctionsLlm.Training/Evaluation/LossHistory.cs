using System.Text.Json;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>A loss value at an optimizer step.</summary>
public sealed record LossPoint(long Step, double Loss);

/// <summary>
/// Train and eval loss per step from a training run's metrics.jsonl: lines with <c>"loss"</c> are training logs,
/// lines with <c>"eval_loss"</c> are evaluations; both need an integer <c>"step"</c>; other fields and other lines
/// are ignored. A last line without its newline is one still being written and is skipped if it is not JSON yet.
/// </summary>
public sealed record LossHistory(IReadOnlyList<LossPoint> Train, IReadOnlyList<LossPoint> Eval)
{
    public bool IsEmpty => Train.Count == 0 && Eval.Count == 0;

    public static LossHistory Load(string path)
    {
        if (!File.Exists(path))
            throw new EvaluationException($"{path}: not found");
        string text = File.ReadAllText(path);
        string[] lines = text.Split('\n');
        var train = new List<LossPoint>();
        var eval = new List<LossPoint>();
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line))
                continue;
            bool unfinished = i == lines.Length - 1;
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException) when (unfinished)
            {
                continue;
            }
            catch (JsonException e)
            {
                throw new EvaluationException($"{path}:{i + 1}: not a JSON line: {e.Message}", e);
            }
            using (document)
                Read(document.RootElement, $"{path}:{i + 1}", train, eval);
        }
        return new LossHistory(train, eval);
    }

    private static void Read(JsonElement line, string where, List<LossPoint> train, List<LossPoint> eval)
    {
        if (line.ValueKind != JsonValueKind.Object)
            throw new EvaluationException($"{where}: a metrics line must be a JSON object");
        bool hasLoss = line.TryGetProperty("loss", out var loss);
        bool hasEvalLoss = line.TryGetProperty("eval_loss", out var evalLoss);
        if (!hasLoss && !hasEvalLoss)
            return;
        if (!line.TryGetProperty("step", out var stepValue) || stepValue.ValueKind != JsonValueKind.Number || !stepValue.TryGetInt64(out long step))
            throw new EvaluationException($"{where}: a loss line needs an integer \"step\"");
        if (hasLoss)
            train.Add(new LossPoint(step, Number(loss, "loss", where)));
        if (hasEvalLoss)
            eval.Add(new LossPoint(step, Number(evalLoss, "eval_loss", where)));
    }

    private static double Number(JsonElement value, string name, string where) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double number) && double.IsFinite(number)
            ? number
            : throw new EvaluationException($"{where}: \"{name}\" must be a finite number, got {value.GetRawText()}");
}
