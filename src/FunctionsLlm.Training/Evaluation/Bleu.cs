namespace FunctionsLlm.Training.Evaluation;

/// <summary>BLEU on a 0..1 scale (sacrebleu prints 100×), its n-gram precisions and brevity penalty.</summary>
public sealed record BleuScore(double Score, double[] Precisions, double BrevityPenalty, long HypothesisLength, long ReferenceLength);

/// <summary>
/// BLEU-4 as sacrebleu 2.x computes it (<c>BLEU.compute_bleu</c>): uniform weights ¼ over 1..4-gram precisions,
/// brevity penalty exp(1 − r/c) when c &lt; r, and "exp" smoothing (NIST mteval-v13a; NLTK's method3): the k-th order
/// with no match gets precision 1 / (2^k · n-grams of that order). No match at all gives 0. On characters
/// (<see cref="CharacterTokens"/>), i.e. sacrebleu's <c>tokenize="char"</c>, case-sensitive.
/// Sentence BLEU uses the effective order (only orders the hypothesis has n-grams of), as sacrebleu's
/// <c>sentence_bleu</c> does; corpus BLEU adds the statistics of all segments first and uses all four orders.
/// </summary>
public static class Bleu
{
    public static BleuScore Sentence(string hypothesis, string reference) =>
        Compute(BleuStatistics.Of(CharacterTokens.Of(hypothesis), CharacterTokens.Of(reference)), effectiveOrder: true);

    public static BleuScore Corpus(IEnumerable<(string Hypothesis, string Reference)> segments) =>
        Compute(segments.Aggregate(BleuStatistics.Zero,
            (sum, s) => sum.Add(BleuStatistics.Of(CharacterTokens.Of(s.Hypothesis), CharacterTokens.Of(s.Reference)))),
            effectiveOrder: false);

    public static BleuScore Compute(BleuStatistics statistics, bool effectiveOrder)
    {
        long c = statistics.HypothesisLength, r = statistics.ReferenceLength;
        double brevityPenalty = c < r ? (c > 0 ? Math.Exp(1 - ((double)r / c)) : 0) : 1;
        var precisions = new double[BleuStatistics.MaxOrder];
        if (statistics.Matches.All(m => m == 0))
            return new BleuScore(0, precisions, brevityPenalty, c, r);

        double smoothing = 1;
        int order = BleuStatistics.MaxOrder;
        for (int n = 1; n <= BleuStatistics.MaxOrder; n++)
        {
            long total = statistics.Totals[n - 1];
            if (total == 0)
                break;
            if (effectiveOrder)
                order = n;
            if (statistics.Matches[n - 1] == 0)
            {
                smoothing *= 2;
                precisions[n - 1] = 1 / (smoothing * total);
            }
            else
            {
                precisions[n - 1] = (double)statistics.Matches[n - 1] / total;
            }
        }
        var used = precisions.Take(order).ToArray();
        double score = used.Any(p => p == 0) ? 0 : brevityPenalty * Math.Exp(used.Sum(Math.Log) / order);
        return new BleuScore(score, precisions, brevityPenalty, c, r);
    }
}
