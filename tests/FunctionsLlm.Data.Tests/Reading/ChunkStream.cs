namespace FunctionsLlm.Data.Tests.Reading;

/// <summary>A non-seekable stream over lazily produced chunks: gigabytes of input without a file or the memory to hold it.</summary>
internal sealed class ChunkStream(IEnumerable<ReadOnlyMemory<byte>> chunks) : Stream
{
    private readonly IEnumerator<ReadOnlyMemory<byte>> _chunks = chunks.GetEnumerator();
    private ReadOnlyMemory<byte> _current;

    public long BytesRead { get; private set; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        while (_current.IsEmpty)
        {
            if (!_chunks.MoveNext())
                return 0;
            _current = _chunks.Current;
        }
        var n = Math.Min(buffer.Length, _current.Length);
        _current.Span[..n].CopyTo(buffer);
        _current = _current[n..];
        BytesRead += n;
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _chunks.Dispose();
        base.Dispose(disposing);
    }
}
