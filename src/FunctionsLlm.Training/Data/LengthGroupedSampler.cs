namespace FunctionsLlm.Training.Data;

/// <summary>
/// The batches of one epoch, a pure function of (seed, epoch) so a resumed run sees the same order. Grouped by
/// length like HF's LengthGroupedSampler: shuffle, cut into mega-batches of 50 batches, sort each by length
/// (longest first), cut into batches — similar lengths share a batch and padding stays small. Unlike HF, the batches
/// are then shuffled: HF keeps each mega-batch's long-to-short order, and on a dataset of one or two mega-batches every
/// epoch ends on the shortest records and the model forgets the long ones (measured on the demo corpus: train loss
/// 2.15 after 30 epochs with HF's order).
/// </summary>
public static class LengthGroupedSampler
{
    private const int MegaBatchFactor = 50;

    public static IReadOnlyList<int[]> Batches(IReadOnlyList<TrainingExample> examples, int batchSize, int seed, int epoch, bool groupByLength)
    {
        // Not HashCode.Combine: it is seeded per process, and a run resumed in a new process must see the same order.
        var random = new Random(unchecked((seed * 1_000_003) + epoch));
        int[] order = [.. Enumerable.Range(0, examples.Count)];
        random.Shuffle(order);
        if (groupByLength)
        {
            int mega = batchSize * MegaBatchFactor;
            order = [.. order.Chunk(mega).SelectMany(chunk => chunk.OrderByDescending(i => examples[i].Length).ThenBy(i => i))];
        }
        int[][] batches = [.. order.Chunk(batchSize)];
        if (groupByLength)
            random.Shuffle(batches);
        return batches;
    }
}
