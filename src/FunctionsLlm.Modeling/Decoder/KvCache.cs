using FunctionsLlm.Modeling.Config;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// Preallocated keys and values of every layer, (B, kv_heads, capacity, head_dim), filled left to right.
/// Also remembers which cached positions are padding and each sequence's next position id, so a batch of
/// left-padded prompts decodes exactly like each prompt alone.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys;
    private readonly Tensor[] _values;

    public KvCache(ModelConfig config, int batch, int capacity, Device device, ScalarType dtype)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        if (capacity > config.MaxPositionEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(capacity), $"capacity {capacity} is beyond max_position_embeddings {config.MaxPositionEmbeddings}");
        Batch = batch;
        Capacity = capacity;
        _keys = new Tensor[config.NumHiddenLayers];
        _values = new Tensor[config.NumHiddenLayers];
        long[] shape = [batch, config.NumKeyValueHeads, capacity, config.HeadDim];
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            _keys[layer] = zeros(shape, dtype, device).DetachFromDisposeScope();
            _values[layer] = zeros(shape, dtype, device).DetachFromDisposeScope();
        }
        Valid = zeros([batch, capacity], ScalarType.Bool, device).DetachFromDisposeScope();
        NextPosition = zeros([batch], ScalarType.Int64, device).DetachFromDisposeScope();
    }

    public int Batch { get; }

    public int Capacity { get; }

    /// <summary>Positions filled so far (the same for every sequence; padding included).</summary>
    public int Length { get; private set; }

    /// <summary>Whether any cached position is padding (then attention needs an explicit mask).</summary>
    public bool HasPadding { get; private set; }

    /// <summary>(B, capacity): true where the cached position holds a real token.</summary>
    internal Tensor Valid { get; }

    /// <summary>(B): the position id the next real token of each sequence gets.</summary>
    internal Tensor NextPosition { get; }

    /// <summary>Writes (B, kv_heads, T, head_dim) keys and values at [Length, Length + T); returns the filled views.</summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        long t = keys.shape[2];
        using (var slot = _keys[layer].narrow(2, Length, t))
            slot.copy_(keys);
        using (var slot = _values[layer].narrow(2, Length, t))
            slot.copy_(values);
        return (_keys[layer].narrow(2, 0, Length + t), _values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>Records T new positions (after every layer appended) and which of them are real tokens.</summary>
    internal void Advance(int t, Tensor? validNew, bool newHasPadding)
    {
        using (var slot = Valid.narrow(1, Length, t))
        {
            if (validNew is null)
                slot.fill_(true);
            else
                slot.copy_(validNew);
        }
        if (validNew is null)
        {
            NextPosition.add_(t);
        }
        else
        {
            using var count = validNew.sum(1);
            NextPosition.add_(count);
        }
        HasPadding |= newHasPadding;
        Length += t;
    }

    /// <summary>Forgets everything, keeping the memory, so the cache can serve another request.</summary>
    public void Reset()
    {
        Length = 0;
        HasPadding = false;
        Valid.zero_();
        NextPosition.zero_();
    }

    public void Dispose()
    {
        foreach (var tensor in _keys.Concat(_values))
            tensor.Dispose();
        Valid.Dispose();
        NextPosition.Dispose();
    }
}
