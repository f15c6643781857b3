using System.Text.Json;
using System.Text.Unicode;
using FunctionsLlm.Data.Reading;
using FunctionsLlm.Data.Records;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>One record read from the input: its conversation, or why it could not be read.</summary>
public readonly record struct ReadResult(RawRecord Record, Conversation? Conversation, RecordIssue Issue);

/// <summary>
/// Reads records and parses them into conversations with the per-field text rules: everything cleaning and formatting
/// share. A JSON syntax error inside a JSON array ends reading (the array cannot be trusted past it).
/// </summary>
public sealed class ConversationReader : IDisposable
{
    private readonly RecordReader _reader;
    private readonly RecordParser _parser;
    private readonly long _maxRecordBytes;

    /// <exception cref="UnreadableInputException">The input as a whole is not JSON/JSONL text.</exception>
    public ConversationReader(Stream input, CleaningOptions options, CleaningStats stats)
    {
        _maxRecordBytes = options.MaxRecordBytes;
        _reader = new RecordReader(input, options.ReaderOptions);
        _parser = new RecordParser(new TextRules(options, stats));
    }

    public InputEncoding Encoding => _reader.Encoding;

    public InputKind Kind => _reader.Kind;

    /// <summary>Where reading stopped early, if it did.</summary>
    public ReadError? StoppedEarly { get; private set; }

    public IEnumerable<ReadResult> Read()
    {
        foreach (var record in _reader.ReadRecords())
        {
            var conversation = Parse(record, out var issue, out var stop);
            yield return new ReadResult(record, conversation, issue);
            if (stop)
            {
                StoppedEarly = _reader.Error ?? new ReadError(record.Location.Line, record.Location.Column, issue.Message);
                yield break;
            }
        }
        StoppedEarly = _reader.Error;
    }

    public void Dispose() => _reader.Dispose();

    private Conversation? Parse(RawRecord record, out RecordIssue issue, out bool stop)
    {
        stop = false;
        if (record.IsTruncated)
        {
            issue = new RecordIssue(RejectReason.RecordTooLarge,
                $"record is {record.ByteLength:N0} bytes; the limit is {_maxRecordBytes:N0} (--max-record-bytes)");
            return null;
        }
        if (!Utf8.IsValid(record.Utf8.Span))
        {
            issue = new RecordIssue(RejectReason.InvalidUtf8, "record is not valid UTF-8 text");
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(record.Utf8);
            return _parser.Parse(document.RootElement, out issue);
        }
        catch (JsonException e)
        {
            stop = record.Location.Index is not null;
            issue = new RecordIssue(RejectReason.JsonSyntax, _reader.Error is { } broken
                ? $"invalid JSON at {broken}; the array cannot be read past this point (records before it were kept)"
                : SyntaxMessage(record.Location, e, stop));
            return null;
        }
    }

    private static string SyntaxMessage(SourceLocation location, JsonException e, bool stop)
    {
        var lineInRecord = e.LineNumber ?? 0;
        var line = location.Line + lineInRecord;
        var column = lineInRecord == 0 ? location.Column + (e.BytePositionInLine ?? 0) : (e.BytePositionInLine ?? 0) + 1;
        var reason = e.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0].TrimEnd('.', ' ');
        return stop
            ? $"invalid JSON at line {line}, column {column}: {reason}; the array cannot be read past this point (records before it were kept)"
            : $"invalid JSON at line {line}, column {column}: {reason}";
    }
}
