using TorchSharp;
using FunctionsLlm.Modeling.Generation;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Generation;

public class BatchSamplerTests
{
    private static readonly SamplingOptions[] MixedOptions =
    [
        SamplingOptions.Greedy,
        SamplingOptions.Greedy with { RepetitionPenalty = 1.3 },
        new() { Temperature = 0.8, TopP = 1 },
        new() { Temperature = 1.3, TopP = 1, RepetitionPenalty = 1.2 },
        new() { Temperature = 0.7, TopP = 0.9 },
        new() { Temperature = 1.0, TopP = 1, TopK = 40 },
        new() { Temperature = 0.9, TopP = 0.8, TopK = 50, RepetitionPenalty = 1.5 },
    ];

    [Fact]
    public void A_rows_picks_are_the_same_alone_and_in_a_batch_in_any_order()
    {
        const int vocab = 32000;
        var batch = MixedOptions.Select((o, i) => new TokenSampler(o, seed: 100 + i, vocab, [i, 7, 7000])).ToArray();
        var alone = MixedOptions.Select((o, i) => new TokenSampler(o, seed: 100 + i, vocab, [i, 7, 7000])).ToArray();
        var shuffle = new Random(3);
        using var spread = 3.ToScalar();
        var picks = MixedOptions.Select(_ => new List<int>()).ToArray();
        for (int step = 0; step < 60; step++)
        {
            using var scope = NewDisposeScope();
            manual_seed(step);
            var logits = randn(MixedOptions.Length, vocab).mul_(spread);
            int[] order = [.. Enumerable.Range(0, MixedOptions.Length).OrderBy(_ => shuffle.Next())];
            var permuted = logits.index_select(0, tensor(order.Select(o => (long)o).ToArray()));
            int[] batched = BatchSampler.Next(permuted, [.. order.Select(o => batch[o])]);
            for (int i = 0; i < order.Length; i++)
            {
                int row = order[i];
                int single = alone[row].Next(logits[row]);
                Assert.Equal(single, batched[i]);
                batch[row].Remember(batched[i]);
                alone[row].Remember(single);
                picks[row].Add(single);
            }
        }
        // The sampled rows did sample: their picks are not the greedy ones.
        Assert.All(picks.Skip(2), p => Assert.True(p.Distinct().Count() > 30));
    }

    [Fact]
    public void Rows_with_different_temperatures_in_one_batch_each_follow_the_softmax_of_their_scaled_logits()
    {
        float[] row = [2.0f, 1.0f, 0.0f, -1.0f];
        using var logits = tensor(row.Concat(row).ToArray(), [2, 4]);
        var rows = new[] { 0.5, 2.0 }.Select((t, i) => new TokenSampler(new SamplingOptions { Temperature = t, TopP = 1 }, i, 4, [])).ToArray();
        var counts = new int[2, 4];
        const int draws = 20000;
        for (int i = 0; i < draws; i++)
        {
            int[] ids = BatchSampler.Next(logits, rows);
            counts[0, ids[0]]++;
            counts[1, ids[1]]++;
        }
        for (int r = 0; r < 2; r++)
        {
            double[] scaled = [.. row.Select(l => l / rows[r].Options.Temperature)];
            double norm = scaled.Sum(Math.Exp);
            for (int id = 0; id < 4; id++)
                Assert.Equal(Math.Exp(scaled[id]) / norm, counts[r, id] / (double)draws, 0.01);
        }
    }

    [Fact]
    public void Top_p_applies_to_the_probabilities_renormalised_over_the_top_k_as_in_transformers()
    {
        // Top 3 of [0.4, 0.3, 0.2, 0.1] renormalised: [0.444, 0.333, 0.222]; the mass before the third is 0.778 ≥ 0.75,
        // so top-p 0.75 keeps two. Over the unrenormalised probabilities it would keep three (0.7 < 0.75).
        float[] probabilities = [0.4f, 0.3f, 0.2f, 0.1f];
        using var logits = tensor(probabilities.Select(p => (float)Math.Log(p)).ToArray(), [1, 4]);
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1, TopK = 3, TopP = 0.75 }, 1, 4, []);
        var seen = Enumerable.Range(0, 3000).Select(_ => BatchSampler.Next(logits, [sampler])[0]).ToHashSet();
        Assert.Equal([0, 1], seen.Order());
    }
}
