namespace FunctionsLlm.Training.Evaluation;

/// <summary>ROUGE-L precision, recall and F-measure.</summary>
public readonly record struct RougeScore(double Precision, double Recall, double F1);

/// <summary>
/// ROUGE-L as Google's rouge-score (<c>rouge_scorer</c>, sentence-level "rougeL"): the longest common subsequence of
/// candidate and reference tokens; precision = LCS / candidate tokens, recall = LCS / reference tokens,
/// F = 2PR / (P + R) (β = 1); every score is 0 when either side has no token.
/// </summary>
public static class RougeL
{
    /// <summary>ROUGE-L on <see cref="CharacterTokens"/>.</summary>
    public static RougeScore Characters(string candidate, string reference) =>
        Score(CharacterTokens.Of(candidate), CharacterTokens.Of(reference));

    public static RougeScore Score(IReadOnlyList<string> candidate, IReadOnlyList<string> reference)
    {
        if (candidate.Count == 0 || reference.Count == 0)
            return default;
        int lcs = LongestCommonSubsequence(candidate, reference);
        double precision = (double)lcs / candidate.Count;
        double recall = (double)lcs / reference.Count;
        double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
        return new RougeScore(precision, recall, f1);
    }

    /// <summary>Length of the longest common subsequence (dynamic programming, two rows).</summary>
    public static int LongestCommonSubsequence(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var previous = new int[b.Count + 1];
        var current = new int[b.Count + 1];
        for (int i = 1; i <= a.Count; i++)
        {
            for (int j = 1; j <= b.Count; j++)
            {
                current[j] = string.Equals(a[i - 1], b[j - 1], StringComparison.Ordinal)
                    ? previous[j - 1] + 1
                    : Math.Max(previous[j], current[j - 1]);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Count];
    }
}
