using FunctionsLlm.Data.Tokenization;
using FunctionsLlm.Modeling.Decoder;
using FunctionsLlm.Modeling.Generation;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Tests.Decoder;

public class KvCacheTests
{
    /// <summary>
    /// Continuous batching as the serving engine does it: each sequence is prefilled alone into its own row, then
    /// all live rows decode one token per step with different lengths; a finished row is refilled by moving the
    /// last live row into it. Every sequence must still produce what llama.cpp produced for it alone.
    /// </summary>
    [Theory]
    [MemberData(nameof(FixtureModel.All), MemberType = typeof(FixtureModel))]
    public void Sequences_joining_and_leaving_a_running_batch_decode_what_they_decode_alone(string name)
    {
        var fixture = FixtureModel.Get(name);
        using var model = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        var (first, second) = (fixture.GreedyCases[0], fixture.GreedyCases[1]);
        int[] third = [42, 43, 44];
        var thirdAlone = new TextGenerator(model, HfTokenizer.Load(fixture.Directory))
            .Generate(third, SamplingOptions.Greedy with { MaxTokens = 12, StopTokenIds = [] }).TokenIds;

        // (prompt, tokens wanted, decode step at which it joins)
        var requests = new (int[] Prompt, int Tokens, int JoinsAt)[]
        {
            (first.PromptIds, first.GreedyIds.Length, 0),
            (third, 12, 2),
            (second.PromptIds, second.GreedyIds.Length, 5),
        };
        var outputs = requests.Select(_ => new List<int>()).ToArray();
        var rowOwner = new List<int>();   // row → request index, rows kept contiguous
        var next = new List<long>();      // row → the token it feeds next
        using var cache = model.CreateCache(3, 64);
        using var noGrad = no_grad();
        for (int step = 0; step < 40 && outputs.Select((o, i) => o.Count < requests[i].Tokens).Any(x => x); step++)
        {
            for (int r = 0; r < requests.Length; r++)
            {
                if (requests[r].JoinsAt != step)
                    continue;
                int row = rowOwner.Count;
                cache.ResetRow(row);
                using var slot = cache.Rows(row, 1);
                using var ids = tensor(requests[r].Prompt.Select(i => (long)i).ToArray(), [1, requests[r].Prompt.Length], ScalarType.Int64);
                using var logits = model.Forward(ids, slot, lastPositionOnly: true);
                int id = (int)logits[0, 0].argmax().item<long>();
                outputs[r].Add(id);
                rowOwner.Add(r);
                next.Add(id);
            }
            if (rowOwner.Count > 0)
            {
                using var live = cache.Rows(0, rowOwner.Count);
                using var input = tensor(next.ToArray(), [rowOwner.Count, 1], ScalarType.Int64);
                using var logits = model.Forward(input, live, lastPositionOnly: true);
                for (int row = 0; row < rowOwner.Count; row++)
                {
                    int id = (int)logits[row, 0].argmax().item<long>();
                    outputs[rowOwner[row]].Add(id);
                    next[row] = id;
                }
            }
            for (int row = rowOwner.Count - 1; row >= 0; row--)
            {
                if (outputs[rowOwner[row]].Count < requests[rowOwner[row]].Tokens)
                    continue;
                int last = rowOwner.Count - 1;
                cache.MoveRow(last, row);
                rowOwner[row] = rowOwner[last];
                next[row] = next[last];
                rowOwner.RemoveAt(last);
                next.RemoveAt(last);
            }
        }

        Assert.Equal(first.GreedyIds, outputs[0].Take(first.GreedyIds.Length));
        Assert.Equal(second.GreedyIds, outputs[2].Take(second.GreedyIds.Length));
        Assert.Equal(thirdAlone, outputs[1].Take(12));
    }

    [Fact]
    public void Rows_of_different_lengths_accept_one_token_per_row_only()
    {
        var fixture = FixtureModel.Get("tiny-llama");
        using var model = ModelLoader.Load(fixture.Directory, new ModelLoadOptions(CPU, ScalarType.Float32));
        using var cache = model.CreateCache(2, 16);
        using (var row = cache.Rows(1, 1))
        using (var ids = tensor(new long[] { 5, 6, 7 }, [1, 3], ScalarType.Int64))
            model.Forward(ids, row).Dispose();
        Assert.True(cache.IsRagged);
        Assert.Equal(3, cache.Length);
        Assert.Equal(0, cache.RowLength(0));
        using var two = tensor(new long[] { 1, 2, 3, 4 }, [2, 2], ScalarType.Int64);
        var error = Assert.Throws<ArgumentException>(() => model.Forward(two, cache));
        Assert.Contains("differ in length", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Rows(1, 2));
    }
}
