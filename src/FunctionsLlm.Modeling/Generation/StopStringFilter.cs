namespace FunctionsLlm.Modeling.Generation;

/// <summary>
/// Cuts streamed text at the first stop string. Text that could still turn out to be the start of a stop string
/// is held back until the next piece decides it, so nothing after a stop string is ever emitted.
/// </summary>
internal sealed class StopStringFilter(IReadOnlyList<string> stopStrings)
{
    private string _pending = "";

    public bool Stopped { get; private set; }

    /// <summary>Adds decoded text; returns the part that is safe to emit now.</summary>
    public string Push(string piece)
    {
        if (Stopped)
            return "";
        _pending += piece;
        int cut = -1;
        foreach (string stop in stopStrings)
        {
            int at = _pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut))
                cut = at;
        }
        if (cut >= 0)
        {
            Stopped = true;
            string before = _pending[..cut];
            _pending = "";
            return before;
        }
        int held = HeldBack();
        string safe = _pending[..^held];
        _pending = _pending[^held..];
        return safe;
    }

    /// <summary>At the end of generation: whatever was held back.</summary>
    public string Flush()
    {
        string rest = Stopped ? "" : _pending;
        _pending = "";
        return rest;
    }

    // The longest suffix of the pending text that is a proper prefix of some stop string.
    private int HeldBack()
    {
        int longest = 0;
        foreach (string stop in stopStrings)
        {
            for (int length = Math.Min(stop.Length - 1, _pending.Length); length > longest; length--)
            {
                if (_pending.AsSpan(_pending.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    longest = length;
                    break;
                }
            }
        }
        return longest;
    }
}
