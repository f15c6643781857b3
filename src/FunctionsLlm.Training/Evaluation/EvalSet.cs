using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Training.Data;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>Reads the eval JSONL written by <c>flm format</c> into prompts and reference answers.</summary>
public static class EvalSet
{
    /// <summary>
    /// Loads the records (cut to <paramref name="maxSequenceLength"/> tokens, those without a learned token skipped,
    /// as for training), keeps the first <paramref name="limit"/>, and splits each into prompt and reference answer.
    /// </summary>
    public static IReadOnlyList<EvalItem> Load(string path, HfTokenizer tokenizer, int maxSequenceLength, int vocabSize, int? limit = null)
    {
        if (limit is < 1)
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "the record limit must be at least 1");
        var examples = TrainingData.Load(path, maxSequenceLength, vocabSize);
        var items = new List<EvalItem>();
        foreach (var example in examples.Take(limit ?? int.MaxValue))
        {
            var prompt = example.PromptIds;
            if (prompt.Length == 0)
                throw new EvaluationException($"{path}:{example.Line}: the record has no prompt (its first token is already labelled)");
            items.Add(new EvalItem(example,
                tokenizer.Decode(prompt, skipSpecialTokens: false),
                tokenizer.Decode(example.FirstAnswerIds, skipSpecialTokens: true).Trim()));
        }
        return items;
    }
}
