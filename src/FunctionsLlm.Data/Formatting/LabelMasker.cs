using System.Text;
using FunctionsLlm.Data.Tokenization;

namespace FunctionsLlm.Data.Formatting;

/// <summary>Token ids and labels for one training text: a token is learned (label = its id) when it overlaps an answer span; everything else is -100.</summary>
public sealed record TokenizedExample(int[] InputIds, int[] Labels, int AnswerTokens, int KeptAnswerTokens)
{
    public const int Ignore = -100;

    /// <summary>Share of answer tokens that survived truncation.</summary>
    public double Coverage => AnswerTokens == 0 ? 0 : (double)KeptAnswerTokens / AnswerTokens;
}

/// <summary>
/// Tokenizes the whole text once (so merges across the prompt/answer boundary are exactly what inference sees) and
/// labels tokens by their byte ranges in the text.
/// </summary>
public sealed class LabelMasker(HfTokenizer tokenizer)
{
    public TokenizedExample Tokenize(TrainingText training, int maxTokens)
    {
        var ids = tokenizer.Encode(training.Text, training.AddSpecialTokens);
        var byteSpans = training.AnswerSpans
            .Select(s => (Start: Encoding.UTF8.GetByteCount(training.Text.AsSpan(0, s.Start.Value)),
                          End: Encoding.UTF8.GetByteCount(training.Text.AsSpan(0, s.End.Value))))
            .ToArray();

        var labels = new int[ids.Count];
        var prefixTokens = training.AddSpecialTokens ? tokenizer.AddedPrefixLength : 0;
        var position = 0;
        var answerTokens = 0;
        for (var i = 0; i < ids.Count; i++)
        {
            var start = position;
            if (i >= prefixTokens)
                position += tokenizer.TokenByteLength(ids[i]);
            var learned = position > start && Overlaps(byteSpans, start, position);
            labels[i] = learned ? ids[i] : TokenizedExample.Ignore;
            if (learned) answerTokens++;
        }
        var textBytes = Encoding.UTF8.GetByteCount(training.Text);
        if (position != textBytes)
            throw new TokenizerAltersTextException(
                $"the tokenizer's normalisation changes this text ({textBytes} bytes in, {position} bytes in its tokens), so answer tokens cannot be located");

        var length = Math.Min(ids.Count, maxTokens);
        var inputIds = ids.Take(length).ToArray();
        var kept = labels.AsSpan(0, length).ToArray();
        var keptAnswers = 0;
        foreach (var label in kept)
        {
            if (label != TokenizedExample.Ignore) keptAnswers++;
        }
        return new TokenizedExample(inputIds, kept, answerTokens, keptAnswers);
    }

    private static bool Overlaps((int Start, int End)[] spans, int start, int end)
    {
        foreach (var span in spans)
        {
            if (start < span.End && end > span.Start)
                return true;
        }
        return false;
    }
}

/// <summary>The tokenizer's normalisation changed the text, so byte positions do not line up.</summary>
public sealed class TokenizerAltersTextException(string message) : Exception(message);
