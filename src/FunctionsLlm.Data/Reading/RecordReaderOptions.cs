namespace FunctionsLlm.Data.Reading;

public sealed record RecordReaderOptions
{
    /// <summary>Records larger than this are not buffered: they are reported as too large with a prefix of their text.</summary>
    public long MaxRecordBytes { get; init; } = 1024 * 1024;

    /// <summary>How much of an oversized record is kept for the reject report.</summary>
    public int OversizePrefixBytes { get; init; } = 1024;

    internal int PrefixBytes => (int)Math.Min(OversizePrefixBytes, MaxRecordBytes);
}
