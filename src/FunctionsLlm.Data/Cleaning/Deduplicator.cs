using FunctionsLlm.Data.Records;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// Remembers a 64-bit fingerprint of every kept conversation (the normalised one in normalized mode, see
/// <see cref="ConversationFingerprint.OfNormalized"/>), with its exact fingerprint and the line where it was first
/// seen. The table never grows past <paramref name="memoryBytes"/>: once it would, it is full, and conversations it
/// does not hold are deferred (<see cref="DedupSpill"/> decides them at the end of the input).
/// </summary>
internal sealed class Deduplicator(DedupMode mode, long memoryBytes = long.MaxValue, long expectedRecords = 0) : IDisposable
{
    private FingerprintTable? _table = mode == DedupMode.None ? null
        : new FingerprintTable(expectedRecords, memoryBytes);

    /// <summary>How many conversations the table holds.</summary>
    public int Remembered => _table?.Count ?? 0;

    /// <summary>Set once the table has reached its memory budget: from then on, new conversations are deferred.</summary>
    public bool IsFull { get; private set; }

    /// <summary>
    /// Returns an issue if the conversation was seen before; otherwise remembers it and returns null, or, once the table
    /// is full, returns null with <paramref name="deferred"/> set.
    /// </summary>
    public RecordIssue? Check(RecordFingerprints fingerprints, long line, out bool deferred)
    {
        deferred = false;
        if (_table is null)
            return null;
        var key = fingerprints.KeyFor(mode);
        if (!IsFull && _table.IsAtGrowth && _table.BytesAfterGrowth > memoryBytes)
            IsFull = true;
        long firstLine;
        ulong firstExact;
        if (IsFull)
        {
            if (!_table.TryGet(key, out firstLine, out firstExact))
            {
                deferred = true;
                return null;
            }
        }
        else if (_table.TryAdd(key, fingerprints.Exact, line, out firstLine, out firstExact))
            return null;

        // One kept conversation per key: an exact copy of it has its exact fingerprint too.
        return mode == DedupMode.Exact || firstExact == fingerprints.Exact
            ? new RecordIssue(RejectReason.Duplicate, $"same conversation as line {firstLine}")
            : new RecordIssue(RejectReason.NearDuplicate,
                $"same conversation as line {firstLine} once case, width, whitespace and punctuation are ignored");
    }

    /// <summary>Starts loading the table's memory for a conversation about to be checked.</summary>
    public void Prefetch(RecordFingerprints fingerprints) =>
        _table?.Prefetch(fingerprints.KeyFor(mode));

    /// <summary>Frees the table (also before the spill's partitions need the memory).</summary>
    public void Dispose()
    {
        _table?.Dispose();
        _table = null;
    }

    /// <summary>Computed where the record is parsed (in parallel); only the look-up happens in input order.</summary>
    public RecordFingerprints Fingerprint(Conversation conversation) => mode switch
    {
        DedupMode.None => default,
        DedupMode.Exact => new RecordFingerprints(ConversationFingerprint.Of(conversation), 0),
        _ => new RecordFingerprints(ConversationFingerprint.Of(conversation), ConversationFingerprint.OfNormalized(conversation)),
    };
}

internal readonly record struct RecordFingerprints(ulong Exact, ulong Normalized)
{
    /// <summary>The fingerprint that identifies a conversation under <paramref name="mode"/>.</summary>
    public ulong KeyFor(DedupMode mode) => mode == DedupMode.Normalized ? Normalized : Exact;
}
