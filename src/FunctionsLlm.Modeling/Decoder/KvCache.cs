using FunctionsLlm.Modeling.Config;
using TorchSharp;
using static FunctionsLlm.Modeling.Runtime.Scalars;
using static TorchSharp.torch;

namespace FunctionsLlm.Modeling.Decoder;

/// <summary>
/// Preallocated keys and values of every layer, (B, kv_heads, capacity, head_dim). Each row (sequence) is filled
/// left to right and has its own length, so sequences that started at different times can decode together
/// (continuous batching): <see cref="Rows"/> gives a view of some rows, <see cref="MoveRow"/> compacts them.
/// Also remembers which cached positions are padding and each row's next position id, so a batch of left-padded
/// prompts decodes exactly like each prompt alone.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys;
    private readonly Tensor[] _values;
    private readonly RowState _rows;
    private readonly int _first;
    private Tensor? _writeIndex; // (B, 1, 1, 1) during a forward over rows of different lengths

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
        _rows = new RowState(batch);
    }

    private KvCache(KvCache parent, int first, int count)
    {
        Batch = count;
        Capacity = parent.Capacity;
        _keys = [.. parent._keys.Select(k => k.narrow(0, first, count).DetachFromDisposeScope())];
        _values = [.. parent._values.Select(v => v.narrow(0, first, count).DetachFromDisposeScope())];
        Valid = parent.Valid.narrow(0, first, count).DetachFromDisposeScope();
        NextPosition = parent.NextPosition.narrow(0, first, count).DetachFromDisposeScope();
        _rows = parent._rows;
        _first = parent._first + first;
    }

    public int Batch { get; }

    public int Capacity { get; }

    /// <summary>Positions filled in the longest row (padding included); every row's length when they are equal.</summary>
    public int Length => Enumerable.Range(_first, Batch).Max(r => _rows.Lengths[r]);

    /// <summary>Positions filled in one row.</summary>
    public int RowLength(int row) => _rows.Lengths[_first + CheckRow(row)];

    /// <summary>Whether the rows hold different numbers of positions (then only one new token per row is accepted).</summary>
    public bool IsRagged => Enumerable.Range(_first, Batch).Any(r => _rows.Lengths[r] != _rows.Lengths[_first]);

    /// <summary>Whether any cached position is padding (then attention needs an explicit mask).</summary>
    public bool HasPadding => Enumerable.Range(_first, Batch).Any(r => _rows.Padded[r]);

    /// <summary>(B, capacity): true where the cached position holds a real token.</summary>
    internal Tensor Valid { get; }

    /// <summary>(B): the position id the next real token of each sequence gets.</summary>
    internal Tensor NextPosition { get; }

    /// <summary>Each layer's keys, (B, kv_heads, capacity, head_dim), of this cache's rows; owned here.</summary>
    internal IReadOnlyList<Tensor> Keys => _keys;

    /// <summary>Each layer's values, laid out as <see cref="Keys"/>; owned here.</summary>
    internal IReadOnlyList<Tensor> Values => _values;

    /// <summary>A cache over rows [first, first + count) that shares this one's memory and row lengths.</summary>
    public KvCache Rows(int first, int count)
    {
        if (first < 0 || count < 1 || first + count > Batch)
            throw new ArgumentOutOfRangeException(nameof(count), $"rows [{first}, {first + count}) are outside the cache's {Batch} rows");
        return new KvCache(this, first, count);
    }

    /// <summary>Empties one row so a new sequence can use it.</summary>
    public void ResetRow(int row)
    {
        CheckRow(row);
        using (var valid = Valid[row])
            valid.fill_(Zero);
        using (var next = NextPosition[row])
            next.fill_(Zero);
        _rows.Lengths[_first + row] = 0;
        _rows.Padded[_first + row] = false;
    }

    /// <summary>Moves one row's contents to another row (which is overwritten); used to keep live rows contiguous.</summary>
    public void MoveRow(int from, int to)
    {
        CheckRow(from);
        CheckRow(to);
        if (from == to)
            return;
        using var scope = NewDisposeScope();
        int length = RowLength(from);
        foreach (var layer in _keys.Concat(_values))
        {
            if (length > 0)
                layer[to].narrow(1, 0, length).copy_(layer[from].narrow(1, 0, length));
        }
        Valid[to].copy_(Valid[from]);
        NextPosition[to].copy_(NextPosition[from]);
        _rows.Lengths[_first + to] = length;
        _rows.Padded[_first + to] = _rows.Padded[_first + from];
    }

    /// <summary>
    /// For one new token per row when rows differ in length: marks each row's next slot as real and returns the
    /// (B, 1, 1, S) attention mask over the keys every row may see. <see cref="Append"/> then writes there.
    /// </summary>
    internal Tensor BeginRaggedStep()
    {
        using var scope = NewDisposeScope();
        int s = Length + 1;
        var index = tensor(Enumerable.Range(_first, Batch).Select(r => (long)_rows.Lengths[r]).ToArray(), ScalarType.Int64, Valid.device);
        Valid.scatter_(1, index.unsqueeze(1), ones([Batch, 1], ScalarType.Bool, Valid.device));
        _writeIndex = index.view(Batch, 1, 1, 1).DetachFromDisposeScope();
        return Valid.narrow(1, 0, s).unsqueeze(1).unsqueeze(1).MoveToOuterDisposeScope();  // (B, 1, 1, S)
    }

    /// <summary>Writes (B, kv_heads, T, head_dim) keys and values after each row's last position; returns the filled views.</summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        if (_writeIndex is { } index)
        {
            using var scope = NewDisposeScope();
            var at = index.expand(keys.shape[0], keys.shape[1], 1, keys.shape[3]);
            _keys[layer].scatter_(2, at, keys);
            _values[layer].scatter_(2, at, values);
            int filled = Length + 1;
            return (_keys[layer].narrow(2, 0, filled).MoveToOuterDisposeScope(), _values[layer].narrow(2, 0, filled).MoveToOuterDisposeScope());
        }
        long t = keys.shape[2];
        int length = Length;
        using (var slot = _keys[layer].narrow(2, length, t))
            slot.copy_(keys);
        using (var slot = _values[layer].narrow(2, length, t))
            slot.copy_(values);
        return (_keys[layer].narrow(2, 0, length + t), _values[layer].narrow(2, 0, length + t));
    }

    /// <summary>Records T new positions per row (after every layer appended) and which of them are real tokens.</summary>
    internal void Advance(int t, Tensor? validNew, bool newHasPadding)
    {
        if (_writeIndex is not null)
        {
            _writeIndex.Dispose();
            _writeIndex = null;
            NextPosition.add_(One, One);
        }
        else
        {
            using (var slot = Valid.narrow(1, Length, t))
            {
                if (validNew is null)
                    slot.fill_(True);
                else
                    slot.copy_(validNew);
            }
            if (validNew is null)
            {
                using var count = t.ToScalar();
                NextPosition.add_(count, One);
            }
            else
            {
                using var count = validNew.sum(1);
                NextPosition.add_(count, One);
            }
        }
        for (int r = _first; r < _first + Batch; r++)
        {
            _rows.Lengths[r] += t;
            _rows.Padded[r] |= newHasPadding;
        }
    }

    /// <summary>
    /// Records <paramref name="counts"/>[r] new real positions in row r, after its own last one (the slots already written
    /// and marked valid by the caller, the managed CPU step): what <see cref="BeginRaggedStep"/> and <see cref="Advance"/>
    /// do for one token, for rows of any length and any number of tokens each. CPU only.
    /// </summary>
    internal unsafe void AdvanceRows(int[] counts)
    {
        fixed (byte* next = NextPosition.bytes)
        {
            for (int r = 0; r < Batch; r++)
            {
                ((long*)next)[r] += counts[r];
                _rows.Lengths[_first + r] += counts[r];
            }
        }
    }

    /// <summary>Forgets everything, keeping the memory, so the cache can serve another request.</summary>
    public void Reset()
    {
        for (int row = 0; row < Batch; row++)
            ResetRow(row);
    }

    private int CheckRow(int row) =>
        row >= 0 && row < Batch ? row : throw new ArgumentOutOfRangeException(nameof(row), $"row {row} is outside the cache's {Batch} rows");

    /// <summary>Releases the memory, or for a view only its handles on the shared memory.</summary>
    public void Dispose()
    {
        foreach (var tensor in _keys.Concat(_values))
            tensor.Dispose();
        Valid.Dispose();
        NextPosition.Dispose();
        _writeIndex?.Dispose();
    }

    /// <summary>Row lengths shared by a cache and its views.</summary>
    private sealed class RowState(int rows)
    {
        public int[] Lengths { get; } = new int[rows];

        public bool[] Padded { get; } = new bool[rows];
    }
}
