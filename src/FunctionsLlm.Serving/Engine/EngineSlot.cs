namespace FunctionsLlm.Serving.Engine;

/// <summary>
/// The hot-swap slot of the engine requests are served by: it swaps the engine without dropping anyone: a request leases the current
/// engine for its whole life; after <see cref="Swap"/> new requests get the new engine and the old one is disposed
/// when its last lease ends.
/// </summary>
public sealed class EngineSlot : IDisposable
{
    private readonly Lock _lock = new();
    private Occupant? _current;
    private bool _disposed;

    public EngineSlot() => Metrics = new EngineMetrics(this);

    /// <summary>The serving metrics of every engine this slot holds, before and after swaps.</summary>
    public EngineMetrics Metrics { get; }

    /// <summary>The engine new requests get, or null before the first model is loaded.</summary>
    public InferenceEngine? Current { get { lock (_lock) return _current?.Engine; } }

    /// <summary>Leases the current engine until the lease is disposed.</summary>
    /// <exception cref="EngineRejectedException">No model is loaded yet (503).</exception>
    public EngineLease Acquire()
    {
        lock (_lock)
        {
            if (_current is null || _disposed)
                throw new EngineRejectedException(EngineRejection.Unavailable, "no model is loaded yet; retry shortly");
            _current.Leases++;
            return new EngineLease(this, _current);
        }
    }

    /// <summary>Makes <paramref name="engine"/> current; the previous engine finishes its requests, then is disposed.</summary>
    public void Swap(InferenceEngine engine)
    {
        Occupant? old;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            engine.Events = Metrics;
            old = _current;
            _current = new Occupant(engine);
            if (old is not null)
                old.Retired = true;
        }
        if (old is { Leases: 0 })
            old.Engine.Dispose();
    }

    internal void Release(Occupant slot)
    {
        bool dispose;
        lock (_lock)
        {
            slot.Leases--;
            dispose = slot.Retired && slot.Leases == 0;
        }
        if (dispose)
            slot.Engine.Dispose();
    }

    public void Dispose()
    {
        Occupant? current;
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            current = _current;
            _current = null;
        }
        current?.Engine.Dispose();
    }

    internal sealed class Occupant(InferenceEngine engine)
    {
        public InferenceEngine Engine { get; } = engine;

        public int Leases { get; set; }

        public bool Retired { get; set; }
    }
}

/// <summary>The engine one request uses; dispose when the request is over.</summary>
public sealed class EngineLease : IDisposable
{
    private readonly EngineSlot _host;
    private readonly EngineSlot.Occupant _slot;
    private int _released;

    internal EngineLease(EngineSlot host, EngineSlot.Occupant slot)
    {
        _host = host;
        _slot = slot;
    }

    public InferenceEngine Engine => _slot.Engine;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
            _host.Release(_slot);
    }
}
