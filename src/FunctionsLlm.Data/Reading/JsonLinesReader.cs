namespace FunctionsLlm.Data.Reading;

/// <summary>Yields the non-blank lines of a JSONL stream as records located by line number. Never buffers more than the record limit.</summary>
internal static class JsonLinesReader
{
    public static IEnumerable<RawRecord> Read(ByteWindow window, RecordReaderOptions options)
    {
        var scanFrom = window.Start;
        var maxBuffer = (int)Math.Min(options.MaxRecordBytes + 2, int.MaxValue);
        while (true)
        {
            var newline = window.Buffer.AsSpan(scanFrom, window.End - scanFrom).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                newline += scanFrom;
                var line = window.Line;
                var record = Line(window.Buffer.AsMemory(window.Start, newline - window.Start));
                window.NewLineAt(newline);
                window.Start = scanFrom = newline + 1;
                if (!IsBlank(record.Span))
                    yield return Record(line, record, options);
                continue;
            }

            if (window.End - window.Start > options.MaxRecordBytes)
            {
                yield return SkipOversizedLine(window, options);
                scanFrom = window.Start;
                continue;
            }

            var scanned = window.End - window.Start;
            if (!window.Fill(maxBuffer))
            {
                var last = Line(window.Buffer.AsMemory(window.Start, window.End - window.Start));
                window.Start = window.End;
                if (!IsBlank(last.Span))
                    yield return Record(window.Line, last, options);
                yield break;
            }
            scanFrom = window.Start + scanned;
        }
    }

    private static RawRecord Record(long line, ReadOnlyMemory<byte> bytes, RecordReaderOptions options) =>
        bytes.Length > options.MaxRecordBytes
            ? new RawRecord(new SourceLocation(line, 1, null), bytes[..options.PrefixBytes].ToArray(), bytes.Length)
            : new RawRecord(new SourceLocation(line, 1, null), bytes, bytes.Length);

    /// <summary>Keeps a prefix for the report, then counts and discards bytes up to the end of the line.</summary>
    private static RawRecord SkipOversizedLine(ByteWindow window, RecordReaderOptions options)
    {
        var line = window.Line;
        var prefix = window.Buffer.AsSpan(window.Start, options.PrefixBytes).ToArray();
        long length = 0;
        while (true)
        {
            var span = window.Buffer.AsSpan(window.Start, window.End - window.Start);
            var newline = span.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                length += newline;
                var end = window.Start + newline;
                window.NewLineAt(end);
                window.Start = end + 1;
                break;
            }
            length += span.Length;
            window.DiscardAll();
            if (!window.Fill(window.Buffer.Length))
                break;
        }
        return new RawRecord(new SourceLocation(line, 1, null), prefix, length);
    }

    private static ReadOnlyMemory<byte> Line(ReadOnlyMemory<byte> line) =>
        line.Span.EndsWith((byte)'\r') ? line[..^1] : line;

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.IndexOfAnyExcept(" \t\r"u8) < 0;
}
