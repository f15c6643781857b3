using System.Buffers;
using System.Text;
using System.Text.Json;

namespace FunctionsLlm.Data.Json;

/// <summary>
/// Writes string values with only the escapes JSON requires (quote, backslash, control characters), leaving every
/// other character as UTF-8. Several times faster than Utf8JsonWriter's encoder on CJK text, which dominates cleaning.
/// </summary>
public static class JsonStrings
{
    private static readonly SearchValues<byte> NeedsEscape =
        SearchValues.Create([.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

    public static void WriteStringFast(this Utf8JsonWriter writer, string propertyName, string value)
    {
        writer.WritePropertyName(propertyName);
        writer.WriteStringValueFast(value);
    }

    public static void WriteStringValueFast(this Utf8JsonWriter writer, string value)
    {
        var utf8 = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(value.Length));
        var quoted = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(value.Length) * 6 + 2);
        try
        {
            var length = Encoding.UTF8.GetBytes(value, utf8); // lone surrogates become U+FFFD, as JSON text must be valid UTF-8
            var written = Quote(utf8.AsSpan(0, length), quoted);
            writer.WriteRawValue(quoted.AsSpan(0, written), skipInputValidation: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(quoted);
            ArrayPool<byte>.Shared.Return(utf8);
        }
    }

    private static int Quote(ReadOnlySpan<byte> utf8, Span<byte> destination)
    {
        var written = 0;
        destination[written++] = (byte)'"';
        while (true)
        {
            var next = utf8.IndexOfAny(NeedsEscape);
            var plain = next < 0 ? utf8 : utf8[..next];
            plain.CopyTo(destination[written..]);
            written += plain.Length;
            if (next < 0)
                break;
            written += Escape(utf8[next], destination[written..]);
            utf8 = utf8[(next + 1)..];
        }
        destination[written++] = (byte)'"';
        return written;
    }

    private static int Escape(byte b, Span<byte> destination)
    {
        var shortForm = b switch
        {
            (byte)'"' => (byte)'"',
            (byte)'\\' => (byte)'\\',
            (byte)'\n' => (byte)'n',
            (byte)'\r' => (byte)'r',
            (byte)'\t' => (byte)'t',
            (byte)'\b' => (byte)'b',
            (byte)'\f' => (byte)'f',
            _ => (byte)0,
        };
        destination[0] = (byte)'\\';
        if (shortForm != 0)
        {
            destination[1] = shortForm;
            return 2;
        }
        "u00"u8.CopyTo(destination[1..]);
        destination[4] = (byte)"0123456789abcdef"[b >> 4];
        destination[5] = (byte)"0123456789abcdef"[b & 0xF];
        return 6;
    }
}
