using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// A set of 64-bit fingerprints, each with the line where it was first seen and a second 64-bit value (the exact
/// fingerprint, when the key is the normalised one): open addressing with linear probing over 20-byte slots, so a
/// look-up-or-add is one probe sequence and usually one cache miss. At most 70% full.
/// </summary>
internal sealed unsafe class FingerprintTable : IDisposable
{
    private LargePageMemory _memory;
    private Span<Slot> Slots => new(_memory.Pointer, (int)(_memory.Bytes / sizeof(Slot)));

    /// <param name="expected">How many fingerprints to make room for at once (it grows past that).</param>
    /// <param name="maxBytes">The most the table may start with.</param>
    public FingerprintTable(long expected = 0, long maxBytes = long.MaxValue)
    {
        var slots = 16;
        while ((slots < 1 << 16 || slots < expected / 7 * 10 + 1) && slots < 1 << 30 && (long)slots * 2 * sizeof(Slot) <= maxBytes)
            slots *= 2;
        _memory = new LargePageMemory((long)slots * sizeof(Slot));
    }

    public int Count { get; private set; }

    /// <summary>Bytes the table holds now.</summary>
    public long Bytes => _memory.Bytes;

    /// <summary>The size after the next growth, in bytes.</summary>
    public long BytesAfterGrowth => Bytes * 2;

    /// <summary>Whether one more fingerprint would make the table grow.</summary>
    public bool IsAtGrowth => Count + 1 > Slots.Length / 10 * 7;

    /// <summary>Adds the fingerprint, or returns false with the line and value it was first added with.</summary>
    public bool TryAdd(ulong fingerprint, ulong value, long line, out long firstLine, out ulong firstValue)
    {
        var key = Stored(fingerprint);
        var slots = Slots;
        var mask = slots.Length - 1;
        for (var index = Home(key, slots.Length); ; index = (index + 1) & mask)
        {
            ref var slot = ref slots[index];
            if (slot.Key == key)
            {
                (firstLine, firstValue) = (slot.Line, slot.Value);
                return false;
            }
            if (slot.Key != 0)
                continue;
            slot = new Slot(key, value, (uint)Math.Min(line, uint.MaxValue));
            if (++Count > slots.Length / 10 * 7)
                Grow();
            (firstLine, firstValue) = (0, 0);
            return true;
        }
    }

    /// <summary>Asks the processor to start loading the fingerprint's first slot.</summary>
    public void Prefetch(ulong fingerprint)
    {
        if (!Sse.IsSupported)
            return;
        var slots = Slots;
        Sse.Prefetch0(Unsafe.AsPointer(ref slots[Home(Stored(fingerprint), slots.Length)]));
    }

    /// <summary>Whether the fingerprint is present, without adding it.</summary>
    public bool TryGet(ulong fingerprint, out long firstLine, out ulong firstValue)
    {
        var key = Stored(fingerprint);
        var slots = Slots;
        var mask = slots.Length - 1;
        for (var index = Home(key, slots.Length); slots[index].Key != 0; index = (index + 1) & mask)
        {
            if (slots[index].Key == key)
            {
                (firstLine, firstValue) = (slots[index].Line, slots[index].Value);
                return true;
            }
        }
        (firstLine, firstValue) = (0, 0);
        return false;
    }

    private void Grow()
    {
        using var old = _memory;
        _memory = new LargePageMemory(old.Bytes * 2);
        var slots = Slots;
        var mask = slots.Length - 1;
        foreach (var slot in new Span<Slot>(old.Pointer, (int)(old.Bytes / sizeof(Slot))))
        {
            if (slot.Key == 0)
                continue;
            var index = Home(slot.Key, slots.Length);
            while (slots[index].Key != 0)
                index = (index + 1) & mask;
            slots[index] = slot;
        }
    }

    public void Dispose() => _memory.Dispose();

    /// <summary>0 marks an empty slot, so a fingerprint of 0 is stored as 1.</summary>
    private static ulong Stored(ulong fingerprint) => fingerprint == 0 ? 1 : fingerprint;

    /// <summary>
    /// Where a key's probe sequence starts in a table of <paramref name="length"/> slots (a power of two). The
    /// fingerprints are hashes already; one multiply spreads any structure in the low bits.
    /// </summary>
    private static int Home(ulong key, int length) => (int)(((key * 0x9E3779B97F4A7C15UL) >> 20) & (ulong)(length - 1));

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private readonly record struct Slot(ulong Key, ulong Value, uint Line);
}
