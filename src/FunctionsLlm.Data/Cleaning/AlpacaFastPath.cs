using System.Buffers;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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

    /// <summary>Where the texts are in the record's JSON (System empty when absent): its cleaned JSON is assembled from them.</summary>
    public readonly record struct Fields(Range System, Range Instruction, Range Input, Range Output);

    public readonly record struct Result(Fields Fields, int AnswerChars, RecordFingerprints Fingerprints);

    public static Result? TryRead(ReadOnlySpan<byte> json, DedupMode dedup)
    {
        Span<Range> values = stackalloc Range[4];
        Span<bool> present = stackalloc bool[4];
        if (!TryScanFlatObject(json, values, present))
            return null;
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
            var fields = new Fields(present[System] ? values[System] : default, values[Instruction], values[Input], values[Output]);
            return new Result(fields, outp.Length, Fingerprints(sys, ins, inp, outp, dedup));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <summary>
    /// Finds the values of a flat object of unescaped strings under the four alpaca keys, each at most once: <c>{"key":
    /// "value", …}</c> with JSON white space anywhere between tokens and nothing after the object. Anything else (other
    /// keys, escapes, nesting, numbers, a syntax error) returns false. A strict subset of what Utf8JsonReader accepts; the
    /// values' bytes are checked later (control characters and invalid UTF-8 fail there).
    /// </summary>
    private static bool TryScanFlatObject(ReadOnlySpan<byte> json, Span<Range> values, Span<bool> present)
    {
        var at = SkipSpace(json, 0);
        if (at >= json.Length || json[at] != (byte)'{')
            return false;
        at = SkipSpace(json, at + 1);
        if (at < json.Length && json[at] == (byte)'}')
            return false; // no fields
        while (true)
        {
            if (!TryScanString(json, ref at, out var key))
                return false;
            var name = json[key];
            var field = name.SequenceEqual("instruction"u8) ? Instruction
                : name.SequenceEqual("input"u8) ? Input
                : name.SequenceEqual("output"u8) ? Output
                : name.SequenceEqual("system"u8) ? System
                : -1;
            if (field < 0 || present[field])
                return false;
            at = SkipSpace(json, at);
            if (at >= json.Length || json[at] != (byte)':')
                return false;
            at = SkipSpace(json, at + 1);
            if (!TryScanString(json, ref at, out values[field]))
                return false;
            present[field] = true;
            at = SkipSpace(json, at);
            if (at >= json.Length)
                return false;
            if (json[at] == (byte)'}')
                return SkipSpace(json, at + 1) == json.Length;
            if (json[at] != (byte)',')
                return false;
            at = SkipSpace(json, at + 1);
        }
    }

    /// <summary>A string without escapes starting at <paramref name="at"/>: its contents, and <paramref name="at"/> moved past it.</summary>
    private static bool TryScanString(ReadOnlySpan<byte> json, ref int at, out Range contents)
    {
        contents = default;
        if (at >= json.Length || json[at] != (byte)'"')
            return false;
        var length = json[(at + 1)..].IndexOfAny((byte)'"', (byte)'\\');
        if (length < 0 || json[at + 1 + length] != (byte)'"')
            return false;
        contents = new Range(at + 1, at + 1 + length);
        at += length + 2;
        return true;
    }

    private static int SkipSpace(ReadOnlySpan<byte> json, int at)
    {
        while (at < json.Length && json[at] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            at++;
        return at;
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
        if (!Vector256.IsHardwareAccelerated || text.Length < Vector256<ushort>.Count)
        {
            foreach (var c in text)
            {
                if (!IsStable(c)) return false;
            }
            return true;
        }
        var units = MemoryMarshal.Cast<char, ushort>(text);
        var last = units.Length - Vector256<ushort>.Count;
        for (var i = 0; ; i += Vector256<ushort>.Count)
        {
            // The last block overlaps the one before it rather than leaving a tail: the check does not care.
            var v = Vector256.Create(units.Slice(Math.Min(i, last), Vector256<ushort>.Count));
            var stable = Vector256<ushort>.Zero;
            foreach (var (low, high) in StableRanges)
                stable |= Vector256.LessThanOrEqual(v - Vector256.Create(low), Vector256.Create((ushort)(high - low)));
            if (stable != Vector256<ushort>.AllBitsSet)
                return false;
            if (i >= last)
                return true;
        }
    }

    /// <summary>
    /// The characters the text rules never change: ideographs, printable ASCII, CJK symbols (without the combining marks
    /// U+302A–U+302F), full-width ASCII, general punctuation, Latin up to U+02FF (no C1 controls). Most common first.
    /// </summary>
    private static readonly (ushort Low, ushort High)[] StableRanges =
        [(0x4000, 0x9FFF), (' ', '~'), (0x3000, 0x3029), (0x3030, 0x303F), (0xFF01, 0xFF5E), (0x2002, 0x206F), (0x00A0, 0x02FF)];

    private static bool IsStable(char c)
    {
        foreach (var (low, high) in StableRanges)
        {
            if ((ushort)(c - low) <= high - low) return true;
        }
        return false;
    }

    /// <summary>
    /// The cleaned JSON of a record the fast path read: its own texts re-assembled (no allocation per record: written into
    /// <paramref name="buffer"/>, which grows when too small).
    /// </summary>
    public static ReadOnlySpan<byte> CleanedJson(ReadOnlySpan<byte> json, Fields fields, ref byte[] buffer)
    {
        ReadOnlySpan<byte> systemKey = "{\"system\":\""u8, instructionKey = "\",\"instruction\":\""u8, firstKey = "{\"instruction\":\""u8;
        ReadOnlySpan<byte> inputKey = "\",\"input\":\""u8, outputKey = "\",\"output\":\""u8, end = "\"}"u8;
        ReadOnlySpan<byte> system = json[fields.System], instruction = json[fields.Instruction], input = json[fields.Input], output = json[fields.Output];
        var prefix = system.IsEmpty ? firstKey.Length : systemKey.Length + system.Length + instructionKey.Length;
        var length = prefix + instruction.Length + inputKey.Length + input.Length + outputKey.Length + output.Length + end.Length;
        if (buffer.Length < length)
            buffer = new byte[Math.Max(length, buffer.Length * 2)];
        var at = 0;
        if (system.IsEmpty)
            Put(buffer, ref at, firstKey);
        else
        {
            Put(buffer, ref at, systemKey);
            Put(buffer, ref at, system);
            Put(buffer, ref at, instructionKey);
        }
        Put(buffer, ref at, instruction);
        Put(buffer, ref at, inputKey);
        Put(buffer, ref at, input);
        Put(buffer, ref at, outputKey);
        Put(buffer, ref at, output);
        Put(buffer, ref at, end);
        return buffer.AsSpan(0, length);
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
