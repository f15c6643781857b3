namespace FunctionsLlm.Data.Reading;

/// <summary>
/// One record's bytes as found in the input, before any parsing. For a record larger than the reader's limit only the
/// first <see cref="RecordReaderOptions.OversizePrefixBytes"/> bytes are kept and <see cref="IsTruncated"/> is set.
/// <see cref="Utf8"/> is only valid until the reader moves on. <see cref="IsIncomplete"/>: the input ended inside it.
/// </summary>
public readonly record struct RawRecord(SourceLocation Location, ReadOnlyMemory<byte> Utf8, long ByteLength, bool IsIncomplete = false)
{
    public bool IsTruncated => Utf8.Length < ByteLength;
}
