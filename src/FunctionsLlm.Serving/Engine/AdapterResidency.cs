using FunctionsLlm.Modeling.Lora;

namespace FunctionsLlm.Serving.Engine;

/// <summary>
/// An engine's <see cref="LoraSlots"/> and which adapters are resident in them, least recently used first out: an adapter
/// is loaded into a free slot, else into the least recently used slot no running sequence uses. Decode thread only, but
/// <see cref="Check"/>, which reads only files.
/// </summary>
internal sealed class AdapterResidency(LoraSlots slots) : IDisposable
{
    private readonly ServedAdapter?[] _resident = new ServedAdapter?[slots.Count];
    private readonly int[] _users = new int[slots.Count];
    private readonly long[] _lastUsed = new long[slots.Count];
    private long _clock;

    /// <summary>Adapter loads so far (first loads and reloads after eviction).</summary>
    public int Loads { get; private set; }

    public int Resident => _resident.Count(a => a is not null);

    /// <summary>Checks that an adapter fits the base and the slots (<see cref="LoraSlots.Check"/>).</summary>
    public void Check(string adapterDir) => slots.Check(adapterDir);

    /// <summary>Gives the request its adapter's slot (noting a slot to load in <paramref name="loads"/>); false when none is free.</summary>
    public bool Place(SequenceRequest request, List<int> loads)
    {
        if (request.Adapter is not { } adapter)
            return true;
        if (Reserve(adapter, out bool mustLoad) is not { } slot)
            return false;
        request.Slot = slot;
        if (mustLoad)
            loads.Add(slot);
        return true;
    }

    /// <summary>Loads the adapters the group reserved slots for; the requests of one that fails to load fail with it.</summary>
    public void Load(List<SequenceRequest> group, List<int> loads)
    {
        foreach (int slot in loads)
        {
            var adapter = group.First(r => r.Slot == slot).Adapter!;
            try
            {
                slots.Load(slot, adapter.Directory);
            }
            catch (Exception e)
            {
                Failed(slot);
                foreach (var request in group.Where(r => r.Slot == slot))
                {
                    request.Slot = -1;
                    request.Fail(new InvalidOperationException($"the adapter '{adapter.Name}' failed to load: {e.Message}", e));
                }
            }
        }
    }

    /// <summary>The request no longer holds a row: its slot may be evicted once no other row uses it.</summary>
    public void Release(SequenceRequest request)
    {
        if (request.Slot >= 0)
            _users[request.Slot]--;
        request.Slot = -1;
    }

    /// <summary>Each row's slot for the model's next forward passes, until the handle is disposed.</summary>
    public IDisposable Select(IEnumerable<SequenceRequest> rows) => slots.Select([.. rows.Select(r => r.Slot)]);

    /// <summary>
    /// The slot holding <paramref name="adapter"/>, reserved for one more sequence; when it is not resident a slot is
    /// assigned to it and <paramref name="mustLoad"/> set: <see cref="Load"/> loads the files, or empties the slot if
    /// that fails. Null when every slot is in use by running sequences (the request waits for one to finish).
    /// </summary>
    private int? Reserve(ServedAdapter adapter, out bool mustLoad)
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
    private void Failed(int slot)
    {
        _resident[slot] = null;
        _users[slot] = 0;
    }

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

    public void Dispose() => slots.Dispose();
}
