using static TorchSharp.torch;

namespace FunctionsLlm.Training.Data;

/// <summary>Examples right-padded to the longest: ids (pad id), labels (−100), attention mask (false on padding).</summary>
public sealed class Batch : IDisposable
{
    private Batch(Tensor inputIds, Tensor labels, Tensor attentionMask, long learnedTokens, long tokens)
    {
        InputIds = inputIds;
        Labels = labels;
        AttentionMask = attentionMask;
        LearnedTokens = learnedTokens;
        Tokens = tokens;
    }

    public Tensor InputIds { get; }

    public Tensor Labels { get; }

    public Tensor AttentionMask { get; }

    public long LearnedTokens { get; }

    /// <summary>Real (non-padding) tokens.</summary>
    public long Tokens { get; }

    public static Batch Collate(IReadOnlyList<TrainingExample> examples, int padId, Device device)
    {
        int width = examples.Max(e => e.Length);
        var ids = new long[examples.Count * width];
        var labels = new long[examples.Count * width];
        var mask = new bool[examples.Count * width];
        Array.Fill(ids, padId);
        Array.Fill(labels, TrainingExample.IgnoreIndex);
        for (int b = 0; b < examples.Count; b++)
        {
            var example = examples[b];
            for (int t = 0; t < example.Length; t++)
            {
                ids[(b * width) + t] = example.InputIds[t];
                labels[(b * width) + t] = example.Labels[t];
                mask[(b * width) + t] = true;
            }
        }
        return new Batch(
            tensor(ids, [examples.Count, width], device: device),
            tensor(labels, [examples.Count, width], device: device),
            tensor(mask, [examples.Count, width], device: device),
            examples.Sum(e => (long)e.LearnedTokens),
            examples.Sum(e => (long)e.Length));
    }

    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
        AttentionMask.Dispose();
    }
}
