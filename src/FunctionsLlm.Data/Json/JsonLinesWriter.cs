using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace FunctionsLlm.Data.Json;

/// <summary>Writes one compact JSON value per line; non-ASCII text stays readable (no \u escapes for Chinese).</summary>
public sealed class JsonLinesWriter : IDisposable
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Lines are gathered into large writes: one stream call per record costs more than the copy.</summary>
    private const int PendingBytes = 1 << 20;

    private readonly Stream _stream;
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _writer;
    private readonly byte[] _pending = new byte[PendingBytes];
    private int _used;

    public JsonLinesWriter(Stream stream)
    {
        _stream = stream;
        _writer = new Utf8JsonWriter(_buffer, Options);
    }

    public long Count { get; private set; }

    /// <summary>Writes one line; <paramref name="write"/> writes exactly one JSON value.</summary>
    public void WriteLine(Action<Utf8JsonWriter> write)
    {
        write(_writer);
        _writer.Flush();
        WriteLine(_buffer.WrittenSpan);
        _buffer.ResetWrittenCount();
        _writer.Reset();
    }

    /// <summary>Writes a line that is already serialised (see <see cref="Serialize"/>).</summary>
    public void WriteLine(ReadOnlySpan<byte> json)
    {
        Count++;
        if (_used + json.Length + 1 > _pending.Length)
        {
            WritePending();
            if (json.Length + 1 > _pending.Length)
            {
                _stream.Write(json);
                _stream.WriteByte((byte)'\n');
                return;
            }
        }
        json.CopyTo(_pending.AsSpan(_used));
        _used += json.Length;
        _pending[_used++] = (byte)'\n';
    }

    private void WritePending()
    {
        _stream.Write(_pending, 0, _used);
        _used = 0;
    }

    [ThreadStatic]
    private static (ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer)? s_serializer;

    /// <summary>Serialises one value to compact JSON bytes, so the work can happen on any thread before the ordered write.</summary>
    public static byte[] Serialize<TState>(TState state, Action<Utf8JsonWriter, TState> write)
    {
        var (buffer, writer) = s_serializer ??= NewSerializer();
        write(writer, state);
        writer.Flush();
        var bytes = buffer.WrittenSpan.ToArray();
        buffer.ResetWrittenCount();
        writer.Reset();
        return bytes;
    }

    private static (ArrayBufferWriter<byte>, Utf8JsonWriter) NewSerializer()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        return (buffer, new Utf8JsonWriter(buffer, Options));
    }

    public void Dispose()
    {
        _writer.Dispose();
        WritePending();
        _stream.Flush();
    }
}
