using System.Text.Json;
using System.Text.Json.Serialization;

namespace FunctionsLlm.Training.Data;

/// <summary>Reads formatted JSONL ({"input_ids": [...], "labels": [...]}), cutting records to the maximum length.</summary>
public static class TrainingData
{
    public static IReadOnlyList<TrainingExample> Load(string path, int maxSequenceLength, int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 2);
        if (!File.Exists(path))
            throw new TrainingDataException($"{path}: not found");
        var examples = new List<TrainingExample>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            Record? record;
            try
            {
                record = JsonSerializer.Deserialize<Record>(line);
            }
            catch (JsonException e)
            {
                throw new TrainingDataException($"{path}:{lineNumber}: not a formatted record: {e.Message}", e);
            }
            if (record?.InputIds is not { } ids || record.Labels is not { } labels)
                throw new TrainingDataException($"{path}:{lineNumber}: a formatted record needs input_ids and labels");
            if (ids.Length != labels.Length)
                throw new TrainingDataException($"{path}:{lineNumber}: {ids.Length} input_ids but {labels.Length} labels");
            if (ids.Concat(labels.Where(l => l != TrainingExample.IgnoreIndex)).FirstOrDefault(i => i < 0 || i >= vocabSize, -1) is var bad and >= 0)
                throw new TrainingDataException($"{path}:{lineNumber}: token id {bad} is outside the model's vocabulary (0..{vocabSize - 1})");
            int length = Math.Min(ids.Length, maxSequenceLength);
            var example = new TrainingExample(ids[..length], labels[..length], lineNumber);
            if (example.LearnedTokens > 0)
                examples.Add(example);
        }
        if (examples.Count == 0)
            throw new TrainingDataException($"{path}: no record with a learned token (after cutting to {maxSequenceLength} tokens)");
        return examples;
    }

    private sealed record Record(
        [property: JsonPropertyName("input_ids")] int[]? InputIds,
        [property: JsonPropertyName("labels")] int[]? Labels);
}
