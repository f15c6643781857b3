using System.Runtime.InteropServices;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// A set of 64-bit fingerprints, each with the line where it was first seen and a second 64-bit value (the exact
/// fingerprint, when the key is the normalised one): open addressing with linear probing over 20-byte slots, so a
/// look-up-or-add is one probe sequence and usually one cache miss. At most 70% full.
/// </summary>
internal sealed class FingerprintTable
{
    public const int BytesPerSlot = 20;

    private Slot[] _slots;

    /// <param name="expected">How many fingerprints to make room for at once (it grows past that).</param>
    /// <param name="maxBytes">The most the table may start with.</param>
    public FingerprintTable(long expected = 0, long maxBytes = long.MaxValue)
    {
        var slots = 16;
        while ((slots < 1 << 16 || slots < expected / 7 * 10 + 1) && slots < 1 << 30 && (long)slots * 2 * BytesPerSlot <= maxBytes)
            slots *= 2;
        _slots = new Slot[slots];
    }

    public int Count { get; private set; }

    /// <summary>Bytes the table holds now.</summary>
    public long Bytes => (long)_slots.Length * BytesPerSlot;

    /// <summary>The size after the next growth, in bytes.</summary>
    public long BytesAfterGrowth => Bytes * 2;

    /// <summary>Whether one more fingerprint would make the table grow.</summary>
    public bool IsAtGrowth => Count + 1 > _slots.Length / 10 * 7;

    /// <summary>Adds the fingerprint, or returns false with the line and value it was first added with.</summary>
    public bool TryAdd(ulong fingerprint, ulong value, long line, out long firstLine, out ulong firstValue)
    {
        var key = fingerprint == 0 ? 1 : fingerprint; // 0 marks an empty slot
        var mask = _slots.Length - 1;
        for (var index = (int)(Mix(key) & (ulong)mask); ; index = (index + 1) & mask)
        {
            ref var slot = ref _slots[index];
            if (slot.Key == key)
            {
                (firstLine, firstValue) = (slot.Line, slot.Value);
                return false;
            }
            if (slot.Key != 0)
                continue;
            slot = new Slot(key, value, (uint)Math.Min(line, uint.MaxValue));
            if (++Count > _slots.Length / 10 * 7)
                Grow();
            (firstLine, firstValue) = (0, 0);
            return true;
        }
    }

    /// <summary>Whether the fingerprint is present, without adding it.</summary>
    public bool TryGet(ulong fingerprint, out long firstLine, out ulong firstValue)
    {
        var key = fingerprint == 0 ? 1 : fingerprint;
        var mask = _slots.Length - 1;
        for (var index = (int)(Mix(key) & (ulong)mask); _slots[index].Key != 0; index = (index + 1) & mask)
        {
            if (_slots[index].Key == key)
            {
                (firstLine, firstValue) = (_slots[index].Line, _slots[index].Value);
                return true;
            }
        }
        (firstLine, firstValue) = (0, 0);
        return false;
    }

    private void Grow()
    {
        var old = _slots;
        _slots = new Slot[old.Length * 2];
        var mask = _slots.Length - 1;
        foreach (var slot in old)
        {
            if (slot.Key == 0)
                continue;
            var index = (int)(Mix(slot.Key) & (ulong)mask);
            while (_slots[index].Key != 0)
                index = (index + 1) & mask;
            _slots[index] = slot;
        }
    }

    /// <summary>The fingerprints are hashes already; one multiply spreads any structure in the low bits.</summary>
    private static ulong Mix(ulong key) => (key * 0x9E3779B97F4A7C15UL) >> 20;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private readonly record struct Slot(ulong Key, ulong Value, uint Line);
}
