using FunctionsLlm.Data.Reading;
using FunctionsLlm.Data.Records;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// What cleaning does once the de-duplication table is full (see <see cref="Deduplicator.IsFull"/>): every later record
/// goes, in input order, to a spool file, and the fingerprints of the records still undecided go to hash partitions.
/// At the end of the input each partition is de-duplicated on its own (it holds a fraction of the fingerprints, so it
/// fits the same memory), and the spool is replayed in input order with those decisions: the output is exactly what an
/// unbounded table would give. Memory stays bounded whatever the input's size; disk use is about twice the spooled input.
/// </summary>
internal sealed class DedupSpill : IDisposable
{
    private const int SpoolBufferBytes = 1 << 20;
    private const int PartitionBufferBytes = 1 << 13;

    private readonly DedupMode _mode;
    private readonly string _directory;
    private readonly BinaryWriter _spool;
    private readonly BinaryWriter[] _partitions;
    private readonly long[] _counts;
    private readonly int _partitionBits;
    private long _sequence;

    /// <param name="parentDirectory">Where the spill's temporary folder goes (deleted on dispose).</param>
    /// <param name="partitions">A power of two: each partition must fit the memory the table had.</param>
    public DedupSpill(string parentDirectory, DedupMode mode, int partitions)
    {
        if (partitions < 1 || (partitions & (partitions - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(partitions), partitions, "must be a power of two");
        _mode = mode;
        _directory = Path.Combine(parentDirectory, $".flm-dedup-spill-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_directory);
        _spool = new BinaryWriter(Create(SpoolPath, SpoolBufferBytes));
        _partitions = new BinaryWriter[partitions];
        for (var p = 0; p < partitions; p++)
            _partitions[p] = new BinaryWriter(Create(PartitionPath(p), PartitionBufferBytes));
        _counts = new long[partitions];
        _partitionBits = int.Log2(partitions);
    }

    /// <summary>
    /// How many partitions keep each under <paramref name="capacity"/> fingerprints, with room to spare, for
    /// <paramref name="expectedRecords"/> more records (unknown: 256, enough for about 350 million at the default budget).
    /// </summary>
    public static int PartitionsFor(long? expectedRecords, long capacity)
    {
        if (expectedRecords is not { } expected)
            return 256;
        var partitions = 16;
        while (partitions < 512 && (double)partitions * capacity < expected * 2.0)
            partitions *= 2;
        return partitions;
    }

    public long Spooled => _sequence;

    /// <summary>
    /// One record, in input order: decided (an issue, or kept as <paramref name="json"/>) or, when
    /// <paramref name="undecided"/> is given, kept unless it turns out to repeat an earlier undecided record.
    /// </summary>
    public void Add(RawRecord record, RecordIssue issue, RecordFormat format, ReadOnlySpan<byte> json, RecordFingerprints? undecided)
    {
        var w = _spool;
        w.Write(undecided is not null);
        w.Write(record.Location.Line);
        w.Write(record.Location.Column);
        w.Write(record.Location.Index ?? -1);
        w.Write(record.ByteLength);
        w.Write(record.IsIncomplete);
        w.Write(issue.Message is not null);
        if (issue.Message is not null)
        {
            w.Write((int)issue.Reason);
            w.Write(issue.Message);
        }
        w.Write((byte)format);
        WriteBytes(w, issue.Message is not null || undecided is not null ? record.Utf8.Span : []);
        WriteBytes(w, json);
        if (undecided is { } fingerprints)
        {
            var key = fingerprints.KeyFor(_mode);
            var partition = _partitionBits == 0 ? 0 : (int)(key >> (64 - _partitionBits));
            var p = _partitions[partition];
            p.Write(_sequence);
            p.Write(fingerprints.Exact);
            p.Write(fingerprints.Normalized);
            p.Write(record.Location.Line);
            _counts[partition]++;
        }
        _sequence++;
    }

    /// <summary>Decides the undecided records, then returns every spooled record in input order with its outcome.</summary>
    public IEnumerable<SpooledRecord> Replay(CancellationToken cancellationToken = default)
    {
        _spool.Dispose();
        foreach (var partition in _partitions)
            partition.Dispose();
        for (var p = 0; p < _partitions.Length; p++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Resolve(p);
        }

        using var decisions = new DecisionMerge(Enumerable.Range(0, _partitions.Length).Select(DecisionPath));
        using var spool = new BinaryReader(Open(SpoolPath, SpoolBufferBytes));
        for (long sequence = 0; sequence < _sequence; sequence++)
        {
            if ((sequence & 0xFFF) == 0)
                cancellationToken.ThrowIfCancellationRequested();
            var undecided = spool.ReadBoolean();
            var location = new SourceLocation(spool.ReadInt64(), spool.ReadInt64(), spool.ReadInt64() is var index and >= 0 ? index : null);
            var byteLength = spool.ReadInt64();
            var incomplete = spool.ReadBoolean();
            var issue = spool.ReadBoolean() ? new RecordIssue((RejectReason)spool.ReadInt32(), spool.ReadString()) : default;
            var format = (RecordFormat)spool.ReadByte();
            var utf8 = spool.ReadBytes(spool.ReadInt32());
            var json = spool.ReadBytes(spool.ReadInt32());
            if (undecided && decisions.TryTake(sequence) is { } duplicate)
                issue = duplicate;
            yield return new SpooledRecord(new RawRecord(location, utf8, byteLength, incomplete), issue, format, json);
        }
    }

    /// <summary>De-duplicates one partition in input order and writes its rejects (sequence, reason, message).</summary>
    private void Resolve(int partition)
    {
        using var deduplicator = new Deduplicator(_mode, expectedRecords: _counts[partition]);
        using var entries = new BinaryReader(Open(PartitionPath(partition), PartitionBufferBytes));
        using var rejects = new BinaryWriter(Create(DecisionPath(partition), PartitionBufferBytes));
        for (long i = 0; i < _counts[partition]; i++)
        {
            var sequence = entries.ReadInt64();
            var fingerprints = new RecordFingerprints(entries.ReadUInt64(), entries.ReadUInt64());
            var line = entries.ReadInt64();
            if (deduplicator.Check(fingerprints, line, out _) is not { } issue)
                continue;
            rejects.Write(sequence);
            rejects.Write((int)issue.Reason);
            rejects.Write(issue.Message);
        }
    }

    private string SpoolPath => Path.Combine(_directory, "spool.bin");

    private string PartitionPath(int p) => Path.Combine(_directory, $"fingerprints-{p}.bin");

    private string DecisionPath(int p) => Path.Combine(_directory, $"rejects-{p}.bin");

    private static void WriteBytes(BinaryWriter writer, ReadOnlySpan<byte> bytes)
    {
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    private static FileStream Create(string path, int buffer) => new(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, buffer);

    private static FileStream Open(string path, int buffer) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, buffer, FileOptions.SequentialScan);

    public void Dispose()
    {
        _spool.Dispose();
        foreach (var partition in _partitions)
            partition.Dispose();
        try { Directory.Delete(_directory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>The partitions' rejects, each file in input order, merged into one stream in input order.</summary>
    private sealed class DecisionMerge : IDisposable
    {
        private readonly List<BinaryReader> _readers = [];
        private readonly PriorityQueue<(BinaryReader Reader, RecordIssue Issue), long> _next = new();

        public DecisionMerge(IEnumerable<string> paths)
        {
            foreach (var path in paths)
            {
                var reader = new BinaryReader(Open(path, PartitionBufferBytes));
                _readers.Add(reader);
                Advance(reader);
            }
        }

        /// <summary>The reject for this sequence number, if there is one (sequence numbers are asked in increasing order).</summary>
        public RecordIssue? TryTake(long sequence)
        {
            if (!_next.TryPeek(out var head, out var next) || next != sequence)
                return null;
            _next.Dequeue();
            Advance(head.Reader);
            return head.Issue;
        }

        private void Advance(BinaryReader reader)
        {
            if (reader.BaseStream.Position >= reader.BaseStream.Length)
                return;
            var sequence = reader.ReadInt64();
            _next.Enqueue((reader, new RecordIssue((RejectReason)reader.ReadInt32(), reader.ReadString())), sequence);
        }

        public void Dispose()
        {
            foreach (var reader in _readers)
                reader.Dispose();
        }
    }
}

/// <summary>A record replayed from the spill with its final outcome: an issue, or kept as <see cref="Json"/>.</summary>
internal readonly record struct SpooledRecord(RawRecord Record, RecordIssue Issue, RecordFormat Format, byte[] Json);
