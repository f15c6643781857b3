namespace FunctionsLlm.Data.Reading;

/// <summary>
/// Streams the records of a JSON array or JSONL input, whichever the first bytes say it is, in any supported encoding.
/// Memory stays bounded by the largest record kept (see <see cref="RecordReaderOptions.MaxRecordBytes"/>).
/// </summary>
public sealed class RecordReader : IDisposable
{
    private readonly Stream _utf8;
    private readonly ByteWindow _window;
    private readonly RecordReaderOptions _options;
    private JsonArrayReader? _arrayReader;

    /// <exception cref="UnreadableInputException">The input is binary or not text in a supported encoding.</exception>
    public RecordReader(Stream input, RecordReaderOptions? options = null)
    {
        _options = options ?? new RecordReaderOptions();
        (Encoding, _utf8) = Utf8Input.Open(input);
        _window = new ByteWindow(_utf8);
        Kind = DetectKind();
    }

    public InputEncoding Encoding { get; }

    public InputKind Kind { get; }

    /// <summary>Set when a JSON array broke off: every record before it was returned.</summary>
    public ReadError? Error => _arrayReader?.Error;

    public IEnumerable<RawRecord> ReadRecords() => Kind switch
    {
        InputKind.Empty => [],
        InputKind.JsonArray => (_arrayReader = new JsonArrayReader(_window, _options)).Read(),
        _ => JsonLinesReader.Read(_window, _options),
    };

    public void Dispose() => _utf8.Dispose();

    /// <summary>Skips leading blank space (counting lines) and looks at the first byte that is not.</summary>
    private InputKind DetectKind()
    {
        while (true)
        {
            if (_window.Start >= _window.End && !_window.Fill(_window.Buffer.Length))
                return InputKind.Empty;
            var b = _window.Buffer[_window.Start];
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                return b == (byte)'[' ? InputKind.JsonArray : InputKind.JsonLines;
            if (b == (byte)'\n')
                _window.NewLineAt(_window.Start);
            _window.Start++;
        }
    }
}
