using System.Buffers;
using System.Text;
using System.Text.Json;
using FunctionsLlm.Data.Records;

namespace FunctionsLlm.Data.Cleaning;

/// <summary>
/// The common record, read without building a document or strings: a flat alpaca object whose texts need no fix (no
/// escapes, no surrounding whitespace, no control characters, characters that are surely NFC). Its cleaned JSON is its
/// own text re-assembled, byte for byte what the general path writes. Anything else returns null and takes the
/// general path, so the fast path can only be faster, never different (a test compares both on every sample).
/// </summary>
internal static class AlpacaFastPath
{
    private const int Instruction = 0, Input = 1, Output = 2, System = 3;

    public readonly record struct Result(byte[] CleanedJson, int AnswerChars, RecordFingerprints Fingerprints);

    public static Result? TryRead(ReadOnlySpan<byte> json, DedupMode dedup)
    {
        Span<Range> values = stackalloc Range[4];
        Span<bool> present = stackalloc bool[4];
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = reader.ValueTextEquals("instruction"u8) ? Instruction
                    : reader.ValueTextEquals("input"u8) ? Input
                    : reader.ValueTextEquals("output"u8) ? Output
                    : reader.ValueTextEquals("system"u8) ? System
                    : -1;
                if (field < 0 || present[field] || !reader.Read() || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
                    return null;
                var start = (int)reader.TokenStartIndex + 1; // after the opening quote
                values[field] = new Range(start, start + reader.ValueSpan.Length);
                present[field] = true;
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                return null;
        }
        catch (JsonException)
        {
            return null;
        }
        if (!present[Instruction] || !present[Input] || !present[Output])
            return null;

        var instruction = json[values[Instruction]];
        var input = json[values[Input]];
        var output = json[values[Output]];
        var system = present[System] ? json[values[System]] : [];
        if (instruction.IsEmpty || output.IsEmpty || !IsClean(instruction) || !IsClean(output)
            || (!input.IsEmpty && !IsClean(input)) || (!system.IsEmpty && !IsClean(system)))
            return null;

        return new Result(CleanedJson(system, instruction, input, output), CountCharacters(output),
            Fingerprints(system, instruction, input, output, dedup));
    }

    /// <summary>No change under the text rules: no control or surrounding white space, and only characters that are surely NFC.</summary>
    private static bool IsClean(ReadOnlySpan<byte> utf8)
    {
        if (Rune.DecodeFromUtf8(utf8, out var first, out _) != OperationStatus.Done || Rune.IsWhiteSpace(first) ||
            Rune.DecodeLastFromUtf8(utf8, out var last, out _) != OperationStatus.Done || Rune.IsWhiteSpace(last))
            return false;
        for (var i = 0; i < utf8.Length;)
        {
            var b = utf8[i];
            if (b < 0x80)
            {
                if (b == 0x7F) return false; // DEL
                i++;
                continue;
            }
            if (b is >= 0xC2 and <= 0xCB && i + 1 < utf8.Length) // U+0080–U+02FF, minus the C1 controls
            {
                if (b == 0xC2 && utf8[i + 1] < 0xA0) return false;
                i += 2;
                continue;
            }
            if (i + 2 >= utf8.Length) return false;
            var second = utf8[i + 1];
            var stable = b switch
            {
                >= 0xE4 and <= 0xE9 => true,                                              // U+4000–U+9FFF ideographs
                0xE3 => second == 0x80 && utf8[i + 2] is <= 0xA9 or >= 0xB0,               // U+3000–U+3029, U+3030–U+303F
                0xE2 => (second == 0x80 && utf8[i + 2] >= 0x82) || (second == 0x81 && utf8[i + 2] <= 0xAF), // U+2002–U+206F
                0xEF => (second == 0xBC && utf8[i + 2] >= 0x81) || (second == 0xBD && utf8[i + 2] <= 0x9E), // U+FF01–U+FF5E
                _ => false,
            };
            if (!stable) return false;
            i += 3;
        }
        return true;
    }

    private static byte[] CleanedJson(ReadOnlySpan<byte> system, ReadOnlySpan<byte> instruction, ReadOnlySpan<byte> input, ReadOnlySpan<byte> output)
    {
        ReadOnlySpan<byte> systemKey = "{\"system\":\""u8, instructionKey = "\",\"instruction\":\""u8, firstKey = "{\"instruction\":\""u8;
        ReadOnlySpan<byte> inputKey = "\",\"input\":\""u8, outputKey = "\",\"output\":\""u8, end = "\"}"u8;
        var prefix = system.IsEmpty ? firstKey.Length : systemKey.Length + system.Length + instructionKey.Length;
        var bytes = new byte[prefix + instruction.Length + inputKey.Length + input.Length + outputKey.Length + output.Length + end.Length];
        var at = 0;
        if (system.IsEmpty)
            Put(bytes, ref at, firstKey);
        else
        {
            Put(bytes, ref at, systemKey);
            Put(bytes, ref at, system);
            Put(bytes, ref at, instructionKey);
        }
        Put(bytes, ref at, instruction);
        Put(bytes, ref at, inputKey);
        Put(bytes, ref at, input);
        Put(bytes, ref at, outputKey);
        Put(bytes, ref at, output);
        Put(bytes, ref at, end);
        return bytes;
    }

    private static void Put(byte[] destination, ref int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(destination.AsSpan(at));
        at += bytes.Length;
    }

    private static RecordFingerprints Fingerprints(ReadOnlySpan<byte> system, ReadOnlySpan<byte> instruction,
        ReadOnlySpan<byte> input, ReadOnlySpan<byte> output, DedupMode dedup)
    {
        if (dedup == DedupMode.None)
            return default;
        var chars = ArrayPool<char>.Shared.Rent(system.Length + instruction.Length + input.Length + output.Length);
        try
        {
            var s = Encoding.UTF8.GetChars(system, chars);
            var n = Encoding.UTF8.GetChars(instruction, chars.AsSpan(s));
            var p = Encoding.UTF8.GetChars(input, chars.AsSpan(s + n));
            var o = Encoding.UTF8.GetChars(output, chars.AsSpan(s + n + p));
            ReadOnlySpan<char> sys = chars.AsSpan(0, s), ins = chars.AsSpan(s, n), inp = chars.AsSpan(s + n, p), outp = chars.AsSpan(s + n + p, o);
            var exact = ConversationFingerprint.OfAlpaca(sys, ins, inp, outp, normalized: false);
            var normalized = dedup == DedupMode.Normalized ? ConversationFingerprint.OfAlpaca(sys, ins, inp, outp, normalized: true) : 0;
            return new RecordFingerprints(exact, normalized);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    private static int CountCharacters(ReadOnlySpan<byte> utf8)
    {
        var continuation = 0;
        foreach (var b in utf8)
        {
            if ((b & 0xC0) == 0x80) continuation++;
        }
        return utf8.Length - continuation;
    }
}
