namespace FunctionsLlm.Training.Data;

/// <summary>
/// One formatted record (a line of train.jsonl / eval.jsonl written by <c>flm format</c>): token ids and labels of
/// the same length, −100 where the token is not learned (prompt), the token id where it is (answer, end token).
/// </summary>
public sealed record TrainingExample(int[] InputIds, int[] Labels, int Line)
{
    public const int IgnoreIndex = -100;

    public int Length => InputIds.Length;

    /// <summary>Tokens whose prediction is learned: labelled positions after the first (the first has no context).</summary>
    public int LearnedTokens => Labels.Skip(1).Count(l => l != IgnoreIndex);

    /// <summary>The prompt: every token before the first learned one.</summary>
    public int[] PromptIds => InputIds[..Math.Max(0, Array.FindIndex(Labels, l => l != IgnoreIndex))];

    /// <summary>The first answer's ids: the labelled run after the prompt.</summary>
    public int[] FirstAnswerIds
    {
        get
        {
            int start = Array.FindIndex(Labels, l => l != IgnoreIndex);
            if (start < 0)
                return [];
            int end = start;
            while (end < Labels.Length && Labels[end] != IgnoreIndex)
                end++;
            return Labels[start..end];
        }
    }
}
