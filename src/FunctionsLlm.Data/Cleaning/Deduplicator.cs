using FunctionsLlm.Data.Records;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// Remembers a 64-bit fingerprint of every kept conversation and the line where it was first seen, exact and
/// normalised (see <see cref="ConversationFingerprint.OfNormalized"/>): 32 to 64 bytes per kept record and mode.
/// </summary>
internal sealed class Deduplicator(DedupMode mode)
{
    private readonly FingerprintTable _exact = new();
    private readonly FingerprintTable _normalized = new();

    /// <summary>Returns an issue if the conversation was seen before; otherwise remembers it.</summary>
    public RecordIssue? Check(RecordFingerprints fingerprints, long line)
    {
        if (mode == DedupMode.None)
            return null;
        if (_exact.TryGet(fingerprints.Exact, out var firstLine))
            return new RecordIssue(RejectReason.Duplicate, $"same conversation as line {firstLine}");
        if (mode == DedupMode.Normalized && !_normalized.TryAdd(fingerprints.Normalized, line, out firstLine))
            return new RecordIssue(RejectReason.NearDuplicate,
                $"same conversation as line {firstLine} once case, width, whitespace and punctuation are ignored");
        _exact.TryAdd(fingerprints.Exact, line, out _);
        return null;
    }

    /// <summary>Computed where the record is parsed (in parallel); only the look-up happens in input order.</summary>
    public RecordFingerprints Fingerprint(Conversation conversation) => mode switch
    {
        DedupMode.None => default,
        DedupMode.Exact => new RecordFingerprints(ConversationFingerprint.Of(conversation), 0),
        _ => new RecordFingerprints(ConversationFingerprint.Of(conversation), ConversationFingerprint.OfNormalized(conversation)),
    };
}

internal readonly record struct RecordFingerprints(ulong Exact, ulong Normalized);
