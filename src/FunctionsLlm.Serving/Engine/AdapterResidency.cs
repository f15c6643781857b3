using FunctionsLlm.Modeling.Lora;

namespace FunctionsLlm.Serving.Engine;

/// <summary>
/// Which adapters are resident in an engine's <see cref="LoraSlots"/>, least recently used first out: an adapter is
/// loaded into a free slot, else into the least recently used slot no running sequence uses. Decode thread only; it
/// decides, the engine loads.
/// </summary>
internal sealed class AdapterResidency(int count)
{
    private readonly ServedAdapter?[] _resident = new ServedAdapter?[count];
    private readonly int[] _users = new int[count];
    private readonly long[] _lastUsed = new long[count];
    private long _clock;

    /// <summary>Adapter loads so far (first loads and reloads after eviction).</summary>
    public int Loads { get; private set; }

    public int Resident => _resident.Count(a => a is not null);

    /// <summary>
    /// The slot holding <paramref name="adapter"/>, reserved for one more sequence; when it is not resident a slot is
    /// assigned to it and <paramref name="mustLoad"/> set: the caller loads the files and reports <see cref="Failed"/> if
    /// that fails. Null when every slot is in use by running sequences (the request waits for one to finish).
    /// </summary>
    public int? Reserve(ServedAdapter adapter, out bool mustLoad)
    {
        mustLoad = false;
        int slot = Array.FindIndex(_resident, a => ReferenceEquals(a, adapter));   // a new version is another instance
        if (slot < 0)
        {
            slot = Array.IndexOf(_resident, null);
            if (slot < 0)
                slot = LeastRecentlyUsedIdle();
            if (slot < 0)
                return null;
            _resident[slot] = adapter;
            mustLoad = true;
            Loads++;
        }
        _users[slot]++;
        _lastUsed[slot] = ++_clock;
        return slot;
    }

    /// <summary>The load into <paramref name="slot"/> failed: it is empty and its reservations are void.</summary>
    public void Failed(int slot)
    {
        _resident[slot] = null;
        _users[slot] = 0;
    }

    public void Release(int slot) => _users[slot]--;

    private int LeastRecentlyUsedIdle()
    {
        int best = -1;
        for (int slot = 0; slot < _resident.Length; slot++)
        {
            if (_users[slot] == 0 && (best < 0 || _lastUsed[slot] < _lastUsed[best]))
                best = slot;
        }
        return best;
    }
}
