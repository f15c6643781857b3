using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Generation;

/// <summary>
/// One sequence's sampling state: its options, its seeded generator and the ids it has seen (for the repetition
/// penalty). <see cref="BatchSampler"/> picks the next ids of many sequences at once; <see cref="Next"/> is one alone.
/// </summary>
internal sealed class TokenSampler
{
    private readonly HashSet<int> _seen = [];
    private readonly long _vocabSize;

    public TokenSampler(SamplingOptions options, int seed, long vocabSize, IEnumerable<int> promptIds)
    {
        Options = options;
        Random = new Random(seed);
        _vocabSize = vocabSize;
        foreach (int id in promptIds)
            Remember(id);
    }

    public SamplingOptions Options { get; }

    /// <summary>Drawn from only when this sequence samples (not when greedy), once per token.</summary>
    public Random Random { get; }

    /// <summary>Ids in the prompt and output so far, when a repetition penalty needs them.</summary>
    public IReadOnlyCollection<int> Seen => _seen;

    public bool Penalises => Options.RepetitionPenalty != 1.0;

    /// <summary>The next id from this sequence's fp32 logits (vocab).</summary>
    public int Next(Tensor logits)
    {
        using var row = logits.unsqueeze(0);
        return BatchSampler.Next(row, [this])[0];
    }

    public void Remember(int id)
    {
        if (Penalises && id >= 0 && id < _vocabSize)
            _seen.Add(id);
    }
}
