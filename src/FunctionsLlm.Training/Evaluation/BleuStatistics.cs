using System.Text;

namespace FunctionsLlm.Training.Evaluation;

/// <summary>
/// BLEU's sufficient statistics (sacrebleu's): per n-gram order the clipped matches and the hypothesis n-grams, the
/// hypothesis length and the closest reference length (ties go to the shorter). Corpus BLEU adds them over segments.
/// </summary>
public sealed record BleuStatistics(long[] Matches, long[] Totals, long HypothesisLength, long ReferenceLength)
{
    public const int MaxOrder = 4;

    public static BleuStatistics Zero { get; } = new(new long[MaxOrder], new long[MaxOrder], 0, 0);

    public static BleuStatistics Of(IReadOnlyList<string> hypothesis, IReadOnlyList<string> reference) =>
        Of(hypothesis, [reference]);

    /// <summary>Statistics of one segment; a hypothesis n-gram matches at most as often as it occurs in any one reference.</summary>
    public static BleuStatistics Of(IReadOnlyList<string> hypothesis, IReadOnlyList<IReadOnlyList<string>> references)
    {
        if (references.Count == 0)
            throw new ArgumentException("at least one reference is needed", nameof(references));
        var matches = new long[MaxOrder];
        var totals = new long[MaxOrder];
        for (int n = 1; n <= MaxOrder; n++)
        {
            var allowed = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var reference in references)
            {
                foreach (var (gram, count) in Ngrams(reference, n))
                    allowed[gram] = Math.Max(allowed.GetValueOrDefault(gram), count);
            }
            foreach (var (gram, count) in Ngrams(hypothesis, n))
            {
                matches[n - 1] += Math.Min(count, allowed.GetValueOrDefault(gram));
                totals[n - 1] += count;
            }
        }
        int closest = references.Select(r => r.Count).MinBy(length => (Math.Abs(length - hypothesis.Count), length));
        return new BleuStatistics(matches, totals, hypothesis.Count, closest);
    }

    public BleuStatistics Add(BleuStatistics other) => new(
        [.. Matches.Zip(other.Matches, (a, b) => a + b)],
        [.. Totals.Zip(other.Totals, (a, b) => a + b)],
        HypothesisLength + other.HypothesisLength,
        ReferenceLength + other.ReferenceLength);

    /// <summary>Counts of the n-grams; a key is its tokens, each prefixed with its length, so no two n-grams share one.</summary>
    private static Dictionary<string, int> Ngrams(IReadOnlyList<string> tokens, int n)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var key = new StringBuilder();
        for (int start = 0; start + n <= tokens.Count; start++)
        {
            key.Clear();
            for (int i = start; i < start + n; i++)
                key.Append((char)tokens[i].Length).Append(tokens[i]);
            string gram = key.ToString();
            counts[gram] = counts.GetValueOrDefault(gram) + 1;
        }
        return counts;
    }
}
