namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// A set of 64-bit fingerprints with the line each was first seen on: open addressing with linear probing, so a
/// look-up-or-add is one probe sequence (usually one cache miss) where a Dictionary needs two operations. 12 bytes per
/// slot, at most 70% full: 17 to 34 bytes per fingerprint.
/// </summary>
internal sealed class FingerprintTable
{
    private ulong[] _keys = new ulong[1 << 16];
    private uint[] _lines = new uint[1 << 16];
    private int _count;

    /// <summary>Adds the fingerprint, or returns false with the line where it was first added.</summary>
    public bool TryAdd(ulong fingerprint, long line, out long firstLine)
    {
        var key = fingerprint == 0 ? 1 : fingerprint; // 0 marks an empty slot
        var mask = _keys.Length - 1;
        for (var slot = (int)(Mix(key) & (ulong)mask); ; slot = (slot + 1) & mask)
        {
            if (_keys[slot] == key)
            {
                firstLine = _lines[slot];
                return false;
            }
            if (_keys[slot] != 0)
                continue;
            _keys[slot] = key;
            _lines[slot] = (uint)Math.Min(line, uint.MaxValue);
            if (++_count > _keys.Length / 10 * 7)
                Grow();
            firstLine = 0;
            return true;
        }
    }

    /// <summary>Whether the fingerprint is present, without adding it.</summary>
    public bool TryGet(ulong fingerprint, out long firstLine)
    {
        var key = fingerprint == 0 ? 1 : fingerprint;
        var mask = _keys.Length - 1;
        for (var slot = (int)(Mix(key) & (ulong)mask); _keys[slot] != 0; slot = (slot + 1) & mask)
        {
            if (_keys[slot] == key)
            {
                firstLine = _lines[slot];
                return true;
            }
        }
        firstLine = 0;
        return false;
    }

    private void Grow()
    {
        var (keys, lines) = (_keys, _lines);
        _keys = new ulong[keys.Length * 2];
        _lines = new uint[keys.Length * 2];
        var mask = _keys.Length - 1;
        for (var i = 0; i < keys.Length; i++)
        {
            if (keys[i] == 0)
                continue;
            var slot = (int)(Mix(keys[i]) & (ulong)mask);
            while (_keys[slot] != 0)
                slot = (slot + 1) & mask;
            _keys[slot] = keys[i];
            _lines[slot] = lines[i];
        }
    }

    /// <summary>The fingerprints are hashes already; one multiply spreads any structure in the low bits.</summary>
    private static ulong Mix(ulong key) => (key * 0x9E3779B97F4A7C15UL) >> 20;
}
