namespace FunctionsLlm.Training.Data;

/// <summary>
/// The batches of one epoch, a pure function of (seed, epoch) so a resumed run sees the same order. Grouped by
/// length like HF's LengthGroupedSampler: shuffle, cut into mega-batches of 50 batches, sort each by length
/// (longest first), cut into batches — similar lengths share a batch and padding stays small.
/// </summary>
public static class LengthGroupedSampler
{
    private const int MegaBatchFactor = 50;

    public static IReadOnlyList<int[]> Batches(IReadOnlyList<TrainingExample> examples, int batchSize, int seed, int epoch, bool groupByLength)
    {
        var random = new Random(HashCode.Combine(seed, epoch, 0x5eed));
        int[] order = [.. Enumerable.Range(0, examples.Count)];
        random.Shuffle(order);
        if (groupByLength)
        {
            int mega = batchSize * MegaBatchFactor;
            order = [.. order.Chunk(mega).SelectMany(chunk => chunk.OrderByDescending(i => examples[i].Length).ThenBy(i => i))];
        }
        return [.. order.Chunk(batchSize)];
    }
}
