namespace FunctionsLlm.Data.Reading;

/// <summary>
/// A sliding window over a stream for the record readers: bytes from <see cref="Start"/> to <see cref="End"/> are
/// buffered; <see cref="Fill"/> keeps everything from <see cref="Start"/> and appends more, growing the buffer as needed.
/// Also tracks line numbers and where the current line began, for locations in messages.
/// </summary>
internal sealed class ByteWindow(Stream stream, int initialSize = 1 << 20)
{
    private byte[] _buffer = new byte[initialSize];
    private long _bufferOffset; // absolute offset of _buffer[0]

    public int Start { get; set; }
    public int End { get; private set; }
    public bool IsEndOfStream { get; private set; }
    public byte[] Buffer => _buffer;

    /// <summary>1-based line of the byte at the scan position the caller last reported with <see cref="NewLineAt"/>.</summary>
    public long Line { get; private set; } = 1;

    private long _lineStartAbsolute;

    public long Absolute(int index) => _bufferOffset + index;

    public void NewLineAt(int newlineIndex)
    {
        Line++;
        _lineStartAbsolute = Absolute(newlineIndex + 1);
    }

    /// <summary>1-based column in characters of the byte at <paramref name="index"/> (bytes if the line start was already discarded).</summary>
    public long ColumnOf(int index)
    {
        var lineStart = _lineStartAbsolute - _bufferOffset;
        if (lineStart < 0)
            return Absolute(index) - _lineStartAbsolute + 1;
        long column = 1;
        foreach (var b in _buffer.AsSpan((int)lineStart, index - (int)lineStart))
        {
            if ((b & 0xC0) != 0x80) column++;
        }
        return column;
    }

    /// <summary>Reads more bytes after <see cref="End"/>, discarding those before <see cref="Start"/>. Returns false at end of stream.</summary>
    public bool Fill(int maxBufferSize)
    {
        if (IsEndOfStream)
            return false;
        if (Start > 0)
        {
            _buffer.AsSpan(Start, End - Start).CopyTo(_buffer);
            _bufferOffset += Start;
            End -= Start;
            Start = 0;
        }
        if (End == _buffer.Length)
        {
            var size = (int)Math.Min(Math.Max((long)_buffer.Length * 2, 4096), Math.Max(maxBufferSize, _buffer.Length + 4096));
            Array.Resize(ref _buffer, size);
        }
        var read = stream.Read(_buffer, End, _buffer.Length - End);
        if (read == 0)
        {
            IsEndOfStream = true;
            return false;
        }
        End += read;
        return true;
    }

    /// <summary>Drops everything buffered so far (used while skipping an oversized record).</summary>
    public void DiscardAll()
    {
        _bufferOffset += End;
        Start = 0;
        End = 0;
    }
}
