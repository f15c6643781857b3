using System.Buffers;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text.Json;
using System.Text.Unicode;
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
        if (instruction.IsEmpty || output.IsEmpty)
            return null;

        // UTF-16 has at most as many code units as UTF-8 has bytes.
        var chars = ArrayPool<char>.Shared.Rent(system.Length + instruction.Length + input.Length + output.Length);
        try
        {
            var buffer = chars.AsSpan();
            if (!TryDecodeClean(system, ref buffer, out var sys) || !TryDecodeClean(instruction, ref buffer, out var ins)
                || !TryDecodeClean(input, ref buffer, out var inp) || !TryDecodeClean(output, ref buffer, out var outp))
                return null;
            // Clean text has no surrogates, so its UTF-16 length is its number of code points.
            return new Result(CleanedJson(system, instruction, input, output), outp.Length, Fingerprints(sys, ins, inp, outp, dedup));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <summary>
    /// Decodes one text into the front of <paramref name="buffer"/> (which then moves past it). False when it is not
    /// valid UTF-8 or the text rules would change it: surrounding white space, or any character outside the ranges that
    /// are surely NFC and not control characters. This is also the record's UTF-8 check (the reader skips its own).
    /// </summary>
    private static bool TryDecodeClean(ReadOnlySpan<byte> utf8, ref Span<char> buffer, out ReadOnlySpan<char> text)
    {
        text = default;
        if (Utf8.ToUtf16(utf8, buffer, out _, out var length, replaceInvalidSequences: false) != OperationStatus.Done)
            return false;
        text = buffer[..length];
        buffer = buffer[length..];
        return text.IsEmpty || (!char.IsWhiteSpace(text[0]) && !char.IsWhiteSpace(text[^1]) && AreStable(text));
    }

    private static bool AreStable(ReadOnlySpan<char> text)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var units = MemoryMarshal.Cast<char, ushort>(text);
            for (; i + Vector256<ushort>.Count <= units.Length; i += Vector256<ushort>.Count)
            {
                // Most text is printable ASCII and ideographs: 16 of them are checked at once, anything else one by one.
                var v = Vector256.Create(units.Slice(i, Vector256<ushort>.Count));
                var common = Vector256.LessThanOrEqual(v - Vector256.Create((ushort)0x20), Vector256.Create((ushort)(0x7E - 0x20)))
                    | Vector256.LessThanOrEqual(v - Vector256.Create((ushort)0x4000), Vector256.Create((ushort)(0x9FFF - 0x4000)));
                if (common == Vector256<ushort>.AllBitsSet)
                    continue;
                foreach (var c in text.Slice(i, Vector256<ushort>.Count))
                {
                    if (!IsStable(c)) return false;
                }
            }
        }
        foreach (var c in text[i..])
        {
            if (!IsStable(c)) return false;
        }
        return true;
    }

    /// <summary>Printable ASCII, Latin up to U+02FF (no C1 controls), general punctuation, CJK symbols, ideographs, full-width ASCII.</summary>
    private static bool IsStable(char c) =>
        c is (>= ' ' and <= '~') or (>= '\u00A0' and <= '\u02FF') or (>= '\u2002' and <= '\u206F') or (>= '\u3000' and <= '\u3029')
            or (>= '\u3030' and <= '\u303F') or (>= '\u4000' and <= '\u9FFF') or (>= '\uFF01' and <= '\uFF5E');

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

    private static RecordFingerprints Fingerprints(ReadOnlySpan<char> system, ReadOnlySpan<char> instruction,
        ReadOnlySpan<char> input, ReadOnlySpan<char> output, DedupMode dedup) => dedup switch
    {
        DedupMode.None => default,
        DedupMode.Exact => new RecordFingerprints(ConversationFingerprint.OfAlpaca(system, instruction, input, output, normalized: false), 0),
        _ => new RecordFingerprints(ConversationFingerprint.OfAlpaca(system, instruction, input, output, normalized: false),
            ConversationFingerprint.OfAlpaca(system, instruction, input, output, normalized: true)),
    };
}
