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
/// labels tokens by their byte ranges in the text. Byte-level tokens spell the text exactly; SentencePiece-style ones
/// also spell the "▁" their normaliser puts before each stretch of text, which is aligned away as an inserted space.
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
        var prefixTokens = training.AddSpecialTokens ? tokenizer.SpecialPrefixIds.Count : 0;
        var text = Encoding.UTF8.GetBytes(training.Text);
        var ends = ExactTokenEnds(ids, prefixTokens, text.Length) ?? AlignedTokenEnds(ids, prefixTokens, text);

        var labels = new int[ids.Count];
        var answerTokens = 0;
        for (var i = 0; i < ids.Count; i++)
        {
            var start = i == 0 ? 0 : ends[i - 1];
            var learned = ends[i] > start && Overlaps(byteSpans, start, ends[i]);
            labels[i] = learned ? ids[i] : TokenizedExample.Ignore;
            if (learned) answerTokens++;
        }

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

    // Where each token ends in the text's bytes, when the tokens' byte lengths add up to the text's (byte-level BPE); else null.
    private int[]? ExactTokenEnds(IReadOnlyList<int> ids, int prefixTokens, int textBytes)
    {
        var ends = new int[ids.Count];
        var position = 0;
        for (var i = 0; i < ids.Count; i++)
        {
            if (i >= prefixTokens)
                position += tokenizer.TokenByteLength(ids[i]);
            ends[i] = position;
        }
        return position == textBytes ? ends : null;
    }

    // Walks the tokens' bytes along the text's: a space the text does not have there was put in by the normaliser and
    // covers nothing. Any other difference means the normaliser changed the text.
    private int[] AlignedTokenEnds(IReadOnlyList<int> ids, int prefixTokens, byte[] text)
    {
        var ends = new int[ids.Count];
        var position = 0;
        for (var i = 0; i < ids.Count; i++)
        {
            if (i >= prefixTokens)
            {
                foreach (var b in tokenizer.TokenBytes(ids[i]))
                {
                    if (position < text.Length && text[position] == b)
                        position++;
                    else if (b != (byte)' ')
                        throw Altered(text.Length, position);
                }
            }
            ends[i] = position;
        }
        if (position != text.Length)
            throw Altered(text.Length, position);
        return ends;
    }

    private static TokenizerAltersTextException Altered(int textBytes, int matched) => new(
        $"the tokenizer's normalisation changes this text (its tokens spell the first {matched} of its {textBytes} bytes, then differ), " +
        "so answer tokens cannot be located");

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
