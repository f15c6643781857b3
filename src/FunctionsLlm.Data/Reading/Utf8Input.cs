using System.Text;

namespace FunctionsLlm.Data.Reading;

/// <summary>
/// Decides how an input is encoded from its first bytes and returns it as a UTF-8 stream: UTF-8 (BOM skipped) as is,
/// UTF-16 (with a BOM, or recognisable by its zero bytes) transcoded. Binary data is refused as a whole.
/// </summary>
public static class Utf8Input
{
    private const int SniffBytes = 8192;

    public static (InputEncoding Encoding, Stream Utf8) Open(Stream input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var head = new byte[SniffBytes];
        var length = input.ReadAtLeast(head, SniffBytes, throwOnEndOfStream: false);
        var bytes = head.AsSpan(0, length);

        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            return (InputEncoding.Utf8WithBom, new ReplayStream(head, 3, length, input));
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]))
        {
            var littleEndian = bytes[0] == 0xFF;
            return Utf16(head, 2, length, input, littleEndian);
        }
        if (LooksLikeUtf16(bytes, out var utf16LittleEndian))
            return Utf16(head, 0, length, input, utf16LittleEndian);

        var nul = bytes.IndexOf((byte)0);
        if (nul >= 0)
            throw new UnreadableInputException($"The input is binary, not JSON text: a NUL byte at offset {nul}.");
        var invalid = CountInvalidUtf8(bytes, isFinalBlock: length < SniffBytes);
        if (invalid > 8 || (invalid > 0 && invalid * 100 > length))
            throw new UnreadableInputException(
                $"The input is not UTF-8 text: {invalid} invalid byte sequences in its first {length} bytes. Save it as UTF-8 (or UTF-16 with a BOM).");
        return (InputEncoding.Utf8, new ReplayStream(head, 0, length, input));
    }

    private static (InputEncoding, Stream) Utf16(byte[] head, int offset, int length, Stream input, bool littleEndian)
    {
        var encoding = littleEndian
            ? new UnicodeEncoding(bigEndian: false, byteOrderMark: false, throwOnInvalidBytes: false)
            : new UnicodeEncoding(bigEndian: true, byteOrderMark: false, throwOnInvalidBytes: false);
        var utf8 = Encoding.CreateTranscodingStream(new ReplayStream(head, offset, length, input), encoding, Encoding.UTF8);
        return (littleEndian ? InputEncoding.Utf16LittleEndian : InputEncoding.Utf16BigEndian, utf8);
    }

    /// <summary>JSON text in UTF-16 without a BOM: ASCII structure characters leave every other byte zero.</summary>
    private static bool LooksLikeUtf16(ReadOnlySpan<byte> bytes, out bool littleEndian)
    {
        littleEndian = false;
        var pairs = bytes.Length / 2;
        if (pairs < 2)
            return false;
        int zeroEven = 0, zeroOdd = 0;
        for (var i = 0; i + 1 < bytes.Length; i += 2)
        {
            if (bytes[i] == 0) zeroEven++;
            if (bytes[i + 1] == 0) zeroOdd++;
        }
        littleEndian = zeroOdd > zeroEven;
        var (many, few) = littleEndian ? (zeroOdd, zeroEven) : (zeroEven, zeroOdd);
        return many * 10 >= pairs * 3 && few * 20 <= pairs && (bytes[littleEndian ? 0 : 1] is (byte)'[' or (byte)'{');
    }

    private static int CountInvalidUtf8(ReadOnlySpan<byte> bytes, bool isFinalBlock)
    {
        var invalid = 0;
        while (!bytes.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(bytes, out _, out var consumed);
            if (status == System.Buffers.OperationStatus.NeedMoreData && !isFinalBlock)
                break; // a character cut by the end of the sniffed block
            if (status != System.Buffers.OperationStatus.Done)
                invalid++;
            bytes = bytes[consumed..];
        }
        return invalid;
    }
}
