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
    private readonly List<byte> _tokenBytes = new(4096);

    public TokenizedExample Tokenize(TrainingText training, int maxTokens)
    {
        var ids = tokenizer.Encode(training.Text, training.AddSpecialTokens);
        var byteSpans = training.AnswerSpans
            .Select(s => (Start: Encoding.UTF8.GetByteCount(training.Text.AsSpan(0, s.Start.Value)),
                          End: Encoding.UTF8.GetByteCount(training.Text.AsSpan(0, s.End.Value))))
            .ToArray();

        var labels = new int[ids.Count];
        var textBytes = Encoding.UTF8.GetByteCount(training.Text);
        var prefixTokens = training.AddSpecialTokens ? CountAddedPrefix(ids) : 0;
        _tokenBytes.Clear();
        var answerTokens = 0;
        for (var i = 0; i < ids.Count; i++)
        {
            var start = _tokenBytes.Count;
            if (i >= prefixTokens)
                tokenizer.AppendTokenBytes(ids[i], skipSpecialTokens: false, _tokenBytes);
            var end = _tokenBytes.Count;
            var learned = end > start && byteSpans.Any(s => start < s.End && end > s.Start);
            labels[i] = learned ? ids[i] : TokenizedExample.Ignore;
            if (learned) answerTokens++;
        }
        if (_tokenBytes.Count != textBytes)
            throw new InvalidOperationException(
                $"The tokenizer changed the text ({textBytes} bytes in, {_tokenBytes.Count} bytes in its tokens); answer positions cannot be mapped.");

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

    /// <summary>Tokens the tokenizer adds in front of the text (BOS), which have no bytes in it.</summary>
    private int CountAddedPrefix(IReadOnlyList<int> ids) =>
        tokenizer.BosTokenId is { } bos && ids.Count > 0 && ids[0] == bos && tokenizer.Config.AddBosToken == true ? 1 : 0;
}
