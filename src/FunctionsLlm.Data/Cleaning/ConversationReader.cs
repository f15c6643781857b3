using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using System.Threading.Channels;
using FunctionsLlm.Data.Reading;
using FunctionsLlm.Data.Records;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// One record read from the input: its conversation (or why it could not be read: <see cref="Issue"/> has a message),
/// and the result of the caller's per-record work. The conversation is null, with no issue, when the caller's
/// shortcut handled the record. <see cref="BrokenAt"/> is set on the record where a JSON array broke: reading ends there.
/// </summary>
public readonly record struct ReadResult<T>(RawRecord Record, Conversation? Conversation, RecordIssue Issue, T Work, ReadError? BrokenAt)
{
    public bool IsReadable => Issue.Message is null;
}

/// <summary>
/// Handles a record straight from its UTF-8 JSON when it can; false sends it through the full parse. It runs before the
/// reader's UTF-8 check, so it may only return true for records that are valid UTF-8.
/// </summary>
public delegate bool RecordShortcut<T>(ReadOnlySpan<byte> utf8Json, out T work);

/// <summary>
/// Reads records and parses them into conversations with the per-field text rules: everything cleaning and formatting
/// share. Parsing, the text rules and the caller's per-record work run on all cores in batches, while results come
/// back in input order and at most a few batches are in memory. A JSON syntax error inside a JSON array ends reading
/// (the array cannot be trusted past it).
/// </summary>
public sealed class ConversationReader : IDisposable
{
    private const int BatchRecords = 512;
    private const int BatchBytes = 1 << 20;

    private readonly RecordReader _reader;
    private readonly CleaningOptions _options;

    /// <exception cref="UnreadableInputException">The input as a whole is not JSON/JSONL text.</exception>
    public ConversationReader(Stream input, CleaningOptions options)
    {
        _options = options;
        _reader = new RecordReader(input, options.ReaderOptions);
    }

    public InputEncoding Encoding => _reader.Encoding;

    public InputKind Kind => _reader.Kind;

    /// <summary>What the text rules changed in the records read so far.</summary>
    public CleaningStats Stats { get; } = new();

    /// <summary>Where reading stopped early, if it did.</summary>
    public ReadError? StoppedEarly { get; private set; }

    /// <summary>Reads every record; <paramref name="work"/> runs in parallel on each parsed conversation.</summary>
    public IEnumerable<ReadResult<T>> Read<T>(Func<Conversation, T> work, CancellationToken cancellationToken = default) =>
        Read(work, shortcut: null, cancellationToken);

    /// <summary>As <see cref="Read{T}(Func{Conversation, T}, CancellationToken)"/>, trying <paramref name="shortcut"/> on each record that is not truncated first.</summary>
    public IEnumerable<ReadResult<T>> Read<T>(Func<Conversation, T> work, RecordShortcut<T>? shortcut, CancellationToken cancellationToken = default)
    {
        foreach (var batch in ReadBatches(work, shortcut, cancellationToken))
        {
            for (var i = 0; i < batch.Length; i++)
                yield return batch.Span[i];
        }
    }

    /// <summary>
    /// As <see cref="Read{T}(Func{Conversation, T}, RecordShortcut{T}?, CancellationToken)"/>, a batch at a time: the caller
    /// can look ahead within a batch and read results in place. A batch is valid until the next one is asked for.
    /// </summary>
    public IEnumerable<ReadOnlyMemory<ReadResult<T>>> ReadBatches<T>(Func<Conversation, T> work, RecordShortcut<T>? shortcut,
        CancellationToken cancellationToken = default)
    {
        var inFlight = Math.Max(2, Environment.ProcessorCount * 2);
        var pending = Channel.CreateBounded<Task<Processed<T>>>(new BoundedChannelOptions(inFlight) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(() => Produce(pending.Writer, work, shortcut, stop.Token), stop.Token);
        try
        {
            foreach (var batch in pending.Reader.ReadAllAsync(stop.Token).ToBlockingEnumerable(stop.Token))
            {
                // Block without spinning: on a small machine a spinning waiter takes the core a worker needs.
                if (!batch.IsCompleted)
                    ((IAsyncResult)batch).AsyncWaitHandle.WaitOne();
                var processed = batch.GetAwaiter().GetResult();
                Stats.Add(processed.Stats);
                // A batch ends at the record where a JSON array broke (see Process).
                var brokenAt = processed.Pooled[processed.Count - 1].BrokenAt;
                try
                {
                    yield return processed.Results;
                }
                finally
                {
                    processed.Release();
                }
                if (brokenAt is { } broken)
                {
                    StoppedEarly = broken;
                    yield break;
                }
            }
            producer.GetAwaiter().GetResult(); // surfaces reader exceptions
            StoppedEarly = _reader.Error;
        }
        finally
        {
            stop.Cancel();
            try { producer.Wait(CancellationToken.None); }
            catch (AggregateException e) when (e.InnerExceptions.All(x => x is OperationCanceledException)) { }
        }
    }

    public void Dispose() => _reader.Dispose();

    private async Task Produce<T>(ChannelWriter<Task<Processed<T>>> pending, Func<Conversation, T> work, RecordShortcut<T>? shortcut,
        CancellationToken cancellationToken)
    {
        try
        {
            var batch = new Batch();
            foreach (var record in _reader.ReadRecords())
            {
                batch.Add(record);
                if (batch.Count >= BatchRecords || batch.Bytes >= BatchBytes)
                {
                    await Dispatch(pending, batch, work, shortcut, cancellationToken).ConfigureAwait(false);
                    batch = new Batch();
                }
            }
            if (batch.Count > 0)
                await Dispatch(pending, batch, work, shortcut, cancellationToken).ConfigureAwait(false);
            pending.Complete();
        }
        catch (Exception e)
        {
            pending.Complete(e);
        }
    }

    private ValueTask Dispatch<T>(ChannelWriter<Task<Processed<T>>> pending, Batch batch, Func<Conversation, T> work,
        RecordShortcut<T>? shortcut, CancellationToken cancellationToken) =>
        pending.WriteAsync(Task.Run(() => Process(batch, work, shortcut), cancellationToken), cancellationToken);

    private Processed<T> Process<T>(Batch batch, Func<Conversation, T> work, RecordShortcut<T>? shortcut)
    {
        var stats = new CleaningStats();
        var parser = new RecordParser(new TextRules(_options, stats));
        var results = ArrayPool<ReadResult<T>>.Shared.Rent(batch.Count); // ~85 KB: fresh ones would land on the large-object heap
        for (var i = 0; i < batch.Count; i++)
        {
            var record = batch[i];
            if (shortcut is not null && !record.IsTruncated && shortcut(record.Utf8.Span, out var quick))
            {
                results[i] = new ReadResult<T>(record, null, default, quick, null);
                continue;
            }
            if (BytesIssue(record) is { } bytesIssue)
            {
                results[i] = new ReadResult<T>(record, null, bytesIssue, default!, null);
                continue;
            }
            var conversation = Parse(parser, record, out var issue, out var brokenAt);
            results[i] = new ReadResult<T>(record, conversation, issue, conversation is null ? default! : work(conversation), brokenAt);
            if (brokenAt is not null)
                return new Processed<T>(batch, results, i + 1, stats);
        }
        return new Processed<T>(batch, results, batch.Count, stats);
    }

    /// <summary>What is wrong with the record's bytes before any JSON is read: too large, or not UTF-8.</summary>
    private RecordIssue? BytesIssue(RawRecord record)
    {
        if (record.IsTruncated)
            return new RecordIssue(RejectReason.RecordTooLarge,
                $"record is {record.ByteLength:N0} bytes; the limit is {_options.MaxRecordBytes:N0} (--max-record-bytes)");
        return Utf8.IsValid(record.Utf8.Span) ? null : new RecordIssue(RejectReason.InvalidUtf8, "record is not valid UTF-8 text");
    }

    /// <summary>Parses a record whose bytes passed <see cref="BytesIssue"/>.</summary>
    private static Conversation? Parse(RecordParser parser, RawRecord record, out RecordIssue issue, out ReadError? brokenAt)
    {
        brokenAt = null;
        try
        {
            using var document = JsonDocument.Parse(record.Utf8);
            return parser.Parse(document.RootElement, out issue);
        }
        catch (JsonException e)
        {
            var (line, column) = Position(record.Location, e);
            var inArray = record.Location.Index is not null;
            var reason = record.IsIncomplete
                ? "the file ends inside this record (the array is not closed)"
                : e.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0].TrimEnd('.', ' ');
            issue = new RecordIssue(RejectReason.JsonSyntax, inArray
                ? $"invalid JSON at line {line}, column {column}: {reason}; the array cannot be read past this point (records before it were kept)"
                : $"invalid JSON at line {line}, column {column}: {reason}");
            if (inArray)
                brokenAt = new ReadError(line, column, reason);
            return null;
        }
    }

    private static (long Line, long Column) Position(SourceLocation location, JsonException e)
    {
        var lineInRecord = e.LineNumber ?? 0;
        return (location.Line + lineInRecord,
            lineInRecord == 0 ? location.Column + (e.BytePositionInLine ?? 0) : (e.BytePositionInLine ?? 0) + 1);
    }

    private sealed record Processed<T>(Batch Batch, ReadResult<T>[] Pooled, int Count, CleaningStats Stats)
    {
        public ReadOnlyMemory<ReadResult<T>> Results => Pooled.AsMemory(0, Count);

        public void Release()
        {
            Batch.Release();
            ArrayPool<ReadResult<T>>.Shared.Return(Pooled, clearArray: true);
        }
    }

    /// <summary>
    /// Records copied out of the reader's window (which it reuses) into pooled buffers, returned once the batch has been
    /// consumed: a fresh megabyte per batch would land on the large-object heap and force full collections.
    /// </summary>
    private sealed class Batch
    {
        private readonly List<RawRecord> _records = new(BatchRecords);
        private readonly List<byte[]> _arenas = [];
        private byte[] _arena = [];
        private int _used;

        public int Count => _records.Count;

        public long Bytes { get; private set; }

        public RawRecord this[int index] => _records[index];

        public void Add(RawRecord record)
        {
            var length = record.Utf8.Length;
            if (_used + length > _arena.Length)
            {
                // A new buffer: records already added keep pointing at the previous one.
                _arena = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(BatchBytes, length));
                _arenas.Add(_arena);
                _used = 0;
            }
            record.Utf8.Span.CopyTo(_arena.AsSpan(_used));
            _records.Add(record with { Utf8 = _arena.AsMemory(_used, length) });
            _used += length;
            Bytes += length;
        }

        public void Release()
        {
            foreach (var arena in _arenas)
                System.Buffers.ArrayPool<byte>.Shared.Return(arena);
            _arenas.Clear();
            _records.Clear();
        }
    }
}
