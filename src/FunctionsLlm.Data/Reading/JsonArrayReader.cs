using System.Buffers;

namespace FunctionsLlm.Data.Reading;

/// <summary>
/// Splits a top-level JSON array into its elements without parsing them, so each record is buffered alone and a
/// file of any size streams through. A structural error stops the reader: the elements before it stay usable and
/// <see cref="Error"/> says where the array broke.
/// </summary>
internal sealed class JsonArrayReader(ByteWindow window, RecordReaderOptions options)
{
    private static readonly SearchValues<byte> Structural = SearchValues.Create("\"{}[],\n"u8);
    private static readonly SearchValues<byte> InString = SearchValues.Create("\"\\\n"u8);

    private int _position;
    private bool _skipping;
    private byte[]? _prefix;

    public ReadError? Error { get; private set; }

    public IEnumerable<RawRecord> Read()
    {
        // The caller has checked that the first non-blank byte is '['.
        _position = window.Start;
        if (!SkipWhitespace() || window.Buffer[_position] != (byte)'[')
            throw new InvalidOperationException("JsonArrayReader must start at '['.");
        _position++;
        long index = 0;

        if (!SkipWhitespace())
        {
            Fail("the array is not closed: unexpected end of file");
            yield break;
        }
        if (window.Buffer[_position] == (byte)']')
        {
            _position++;
            CheckTrailing();
            yield break;
        }

        while (true)
        {
            window.Start = _position;
            var location = new SourceLocation(window.Line, window.ColumnOf(_position), index);
            var startAbsolute = window.Absolute(_position);
            var complete = ScanElement();
            if (!complete)
                Fail("the array is not closed: unexpected end of file inside a record");
            var length = window.Absolute(_position) - startAbsolute;
            yield return _skipping
                ? new RawRecord(location, _prefix!, length, !complete)
                : new RawRecord(location, window.Buffer.AsMemory(window.Start, _position - window.Start), length, !complete);
            _skipping = false;
            _prefix = null;
            index++;
            if (!complete)
                yield break;

            if (!SkipWhitespace())
            {
                Fail("the array is not closed: unexpected end of file");
                yield break;
            }
            var next = window.Buffer[_position];
            if (next == (byte)']')
            {
                _position++;
                CheckTrailing();
                yield break;
            }
            if (next != (byte)',')
            {
                Fail($"expected ',' or ']' after record {index - 1}, found '{(char)next}'");
                yield break;
            }
            _position++;
            if (!SkipWhitespace())
            {
                Fail("the array is not closed: unexpected end of file");
                yield break;
            }
            if (window.Buffer[_position] == (byte)']')
            {
                Fail("trailing comma before ']'");
                yield break;
            }
        }
    }

    /// <summary>Advances past one element (object, array, string or literal). Returns false when the input ends inside it.</summary>
    private bool ScanElement()
    {
        var depth = 0;
        var inString = false;
        var first = true;
        while (true)
        {
            if (_position >= window.End && !More())
                return false;
            var span = window.Buffer.AsSpan(_position, window.End - _position);
            if (inString)
            {
                var i = span.IndexOfAny(InString);
                if (i < 0) { _position = window.End; continue; }
                _position += i;
                var c = span[i];
                if (c == (byte)'\\')
                {
                    _position++;
                    if (_position >= window.End && !More())
                        return false;
                    _position++;
                    continue;
                }
                if (c == (byte)'\n') window.NewLineAt(_position);
                _position++;
                if (c == (byte)'"')
                {
                    inString = false;
                    if (depth == 0) return true;
                }
                continue;
            }

            if (first && depth == 0 && span[0] is not ((byte)'{' or (byte)'[' or (byte)'"'))
                return ScanLiteral();
            first = false;
            var j = span.IndexOfAny(Structural);
            if (j < 0) { _position = window.End; continue; }
            _position += j;
            var b = span[j];
            _position++;
            switch (b)
            {
                case (byte)'"': inString = true; break;
                case (byte)'{' or (byte)'[': depth++; break;
                case (byte)'}' or (byte)']':
                    depth--;
                    if (depth <= 0) return true;
                    break;
                case (byte)'\n': window.NewLineAt(_position - 1); break;
            }
        }
    }

    /// <summary>A number, true, false or null element: runs to the next separator.</summary>
    private bool ScanLiteral()
    {
        while (true)
        {
            if (_position >= window.End && !More())
                return true;
            var b = window.Buffer[_position];
            if (b is (byte)',' or (byte)']' or (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
                return true;
            _position++;
        }
    }

    private bool SkipWhitespace()
    {
        while (true)
        {
            if (_position >= window.End)
            {
                window.Start = _position;
                if (!More()) return false;
            }
            var b = window.Buffer[_position];
            if (b == (byte)'\n') window.NewLineAt(_position);
            else if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r')) return true;
            _position++;
        }
    }

    /// <summary>
    /// Buffers more input keeping the element that starts at <see cref="ByteWindow.Start"/>; once it outgrows the record
    /// limit, keeps only a prefix and lets the rest of it go by.
    /// </summary>
    private bool More()
    {
        var scanned = _position - window.Start;
        if (!_skipping && scanned > options.MaxRecordBytes)
        {
            _skipping = true;
            _prefix = window.Buffer.AsSpan(window.Start, options.PrefixBytes).ToArray();
        }
        if (_skipping)
        {
            window.Start = _position;
            scanned = 0;
        }
        var maxBuffer = (int)Math.Min(options.MaxRecordBytes + 2, int.MaxValue);
        var more = window.Fill(maxBuffer);
        _position = window.Start + scanned;
        return more;
    }

    private void CheckTrailing()
    {
        window.Start = _position;
        if (SkipWhitespace())
            Fail($"unexpected '{(char)window.Buffer[_position]}' after the end of the array");
    }

    private void Fail(string message) => Error = new ReadError(window.Line, window.ColumnOf(Math.Min(_position, window.End)), message);
}
