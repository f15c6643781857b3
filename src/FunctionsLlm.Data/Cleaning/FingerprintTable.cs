namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// A set of 64-bit fingerprints, each with the line where it was first seen and a second 64-bit value (the exact
/// fingerprint, when the key is the normalised one): open addressing with linear probing, so a look-up-or-add is one
/// probe sequence (usually one cache miss). 20 bytes per slot, at most 70% full.
/// </summary>
internal sealed class FingerprintTable
{
    public const int BytesPerSlot = sizeof(ulong) * 2 + sizeof(uint);

    private ulong[] _keys;
    private ulong[] _values;
    private uint[] _lines;

    /// <param name="expected">How many fingerprints to make room for at once (it grows past that).</param>
    /// <param name="maxBytes">The most the table may start with.</param>
    public FingerprintTable(long expected = 0, long maxBytes = long.MaxValue)
    {
        var slots = 16;
        while ((slots < 1 << 16 || slots < expected / 7 * 10 + 1) && slots < 1 << 30 && (long)slots * 2 * BytesPerSlot <= maxBytes)
            slots *= 2;
        (_keys, _values, _lines) = (new ulong[slots], new ulong[slots], new uint[slots]);
    }

    public int Count { get; private set; }

    /// <summary>Bytes the table holds now.</summary>
    public long Bytes => (long)_keys.Length * BytesPerSlot;

    /// <summary>Adds the fingerprint, or returns false with the line and value it was first added with.</summary>
    public bool TryAdd(ulong fingerprint, ulong value, long line, out long firstLine, out ulong firstValue)
    {
        var key = fingerprint == 0 ? 1 : fingerprint; // 0 marks an empty slot
        var mask = _keys.Length - 1;
        for (var slot = (int)(Mix(key) & (ulong)mask); ; slot = (slot + 1) & mask)
        {
            if (_keys[slot] == key)
            {
                (firstLine, firstValue) = (_lines[slot], _values[slot]);
                return false;
            }
            if (_keys[slot] != 0)
                continue;
            _keys[slot] = key;
            _values[slot] = value;
            _lines[slot] = (uint)Math.Min(line, uint.MaxValue);
            if (++Count > _keys.Length / 10 * 7)
                Grow();
            (firstLine, firstValue) = (0, 0);
            return true;
        }
    }

    /// <summary>Whether the fingerprint is present, without adding it.</summary>
    public bool TryGet(ulong fingerprint, out long firstLine, out ulong firstValue)
    {
        var key = fingerprint == 0 ? 1 : fingerprint;
        var mask = _keys.Length - 1;
        for (var slot = (int)(Mix(key) & (ulong)mask); _keys[slot] != 0; slot = (slot + 1) & mask)
        {
            if (_keys[slot] == key)
            {
                (firstLine, firstValue) = (_lines[slot], _values[slot]);
                return true;
            }
        }
        (firstLine, firstValue) = (0, 0);
        return false;
    }

    /// <summary>The size after the next growth, in bytes.</summary>
    public long BytesAfterGrowth => Bytes * 2;

    /// <summary>Whether one more fingerprint would make the table grow.</summary>
    public bool IsAtGrowth => Count + 1 > _keys.Length / 10 * 7;

    private void Grow()
    {
        var (keys, values, lines) = (_keys, _values, _lines);
        (_keys, _values, _lines) = (new ulong[keys.Length * 2], new ulong[keys.Length * 2], new uint[keys.Length * 2]);
        var mask = _keys.Length - 1;
        for (var i = 0; i < keys.Length; i++)
        {
            if (keys[i] == 0)
                continue;
            var slot = (int)(Mix(keys[i]) & (ulong)mask);
            while (_keys[slot] != 0)
                slot = (slot + 1) & mask;
            (_keys[slot], _values[slot], _lines[slot]) = (keys[i], values[i], lines[i]);
        }
    }

    /// <summary>The fingerprints are hashes already; one multiply spreads any structure in the low bits.</summary>
    private static ulong Mix(ulong key) => (key * 0x9E3779B97F4A7C15UL) >> 20;
}
