using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace FunctionsLlm.Data.Json;

/// <summary>Writes one compact JSON value per line; non-ASCII text stays readable (no \u escapes for Chinese).</summary>
public sealed class JsonLinesWriter : IDisposable
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Stream _stream;
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _writer;

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
        _stream.Write(_buffer.WrittenSpan);
        _stream.WriteByte((byte)'\n');
        _buffer.ResetWrittenCount();
        _writer.Reset();
        Count++;
    }

    public void Dispose()
    {
        _writer.Dispose();
        _stream.Flush();
    }
}
