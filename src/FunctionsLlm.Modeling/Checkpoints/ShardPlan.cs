namespace FunctionsLlm.Modeling.Checkpoints;

/// <summary>
/// How transformers' <c>save_pretrained</c> (huggingface_hub <c>split_torch_state_dict_into_shards</c>) groups
/// tensors into shards: in input order, a new shard starts when the next tensor would push the current one past the
/// limit; a tensor larger than the limit gets a shard of its own, placed where it is met.
/// </summary>
internal static class ShardPlan
{
    /// <summary>Indices into <paramref name="byteLengths"/>, one list per shard, in shard order.</summary>
    public static List<List<int>> Split(IReadOnlyList<long> byteLengths, long maxShardBytes)
    {
        var shards = new List<List<int>>();
        var current = new List<int>();
        long currentBytes = 0;
        for (var i = 0; i < byteLengths.Count; i++)
        {
            var size = byteLengths[i];
            if (size > maxShardBytes)
            {
                shards.Add([i]);
                continue;
            }
            if (currentBytes + size > maxShardBytes)
            {
                shards.Add(current);
                current = [];
                currentBytes = 0;
            }
            current.Add(i);
            currentBytes += size;
        }
        if (current.Count > 0)
            shards.Add(current);
        return shards;
    }
}
