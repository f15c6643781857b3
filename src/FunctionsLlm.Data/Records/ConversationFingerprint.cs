using System.Buffers;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FunctionsLlm.Data.Records;

/// <summary>
/// A 64-bit XxHash3 over roles and texts (UTF-16 code units): the identity used for de-duplication and the
/// train/eval split. Stable across runs and machines (collisions: about one in 10^7 for a million records).
/// </summary>
public static class ConversationFingerprint
{
    private const char TurnSeparator = '\u0001';
    private const char MessageEnd = '\u0002';

    /// <summary>
    /// What each UTF-16 code unit becomes in the normalised fingerprint ('\0': dropped): full-width ASCII folds to
    /// ASCII, letters are lower-cased, whitespace, punctuation and symbols drop out; surrogates (emoji, astral letters)
    /// stay as they are. One 128 KB table, built once, instead of a Unicode look-up per character.
    /// </summary>
    private static readonly Lazy<char[]> FoldTable = new(() =>
    {
        var table = new char[char.MaxValue + 1];
        for (var i = 1; i <= char.MaxValue; i++)
        {
            var c = i is >= 0xFF01 and <= 0xFF5E ? (char)(i - 0xFEE0) : (char)i;
            table[i] = char.IsSurrogate(c) ? c : char.GetUnicodeCategory(c) switch
            {
                UnicodeCategory.UppercaseLetter or UnicodeCategory.TitlecaseLetter => char.ToLowerInvariant(c),
                UnicodeCategory.LowercaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                    or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber
                    or UnicodeCategory.NonSpacingMark => c,
                _ => '\0',
            };
        }
        return table;
    });

    public static ulong Of(Conversation conversation) => Hash(conversation, normalized: false);

    /// <summary>
    /// The fingerprint of the conversation with case, width, whitespace and punctuation ignored: only letters, digits
    /// and combining marks count, full-width ASCII forms (Ａ１，) fold to their plain ones, letters are lower-cased.
    /// </summary>
    public static ulong OfNormalized(Conversation conversation) => Hash(conversation, normalized: true);

    private static ulong Hash(Conversation conversation, bool normalized)
    {
        var buffer = ArrayPool<char>.Shared.Rent(MaxLength(conversation));
        var length = 0;
        if (conversation.Alpaca is { } alpaca)
        {
            // The same characters as alpaca.ToMessages() would give, without building them.
            if (alpaca.System is not null)
                AppendMessage(buffer, ref length, ChatMessage.System, alpaca.System, "", normalized);
            foreach (var (user, assistant) in alpaca.History)
            {
                AppendMessage(buffer, ref length, ChatMessage.User, user, "", normalized);
                AppendMessage(buffer, ref length, ChatMessage.Assistant, assistant, "", normalized);
            }
            AppendMessage(buffer, ref length, ChatMessage.User, alpaca.Instruction, alpaca.Input, normalized);
            AppendMessage(buffer, ref length, ChatMessage.Assistant, alpaca.Output, "", normalized);
        }
        else
        {
            foreach (var message in conversation.Messages)
                AppendMessage(buffer, ref length, message.Role, message.Content, "", normalized);
        }
        var hash = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(buffer.AsSpan(0, length)));
        ArrayPool<char>.Shared.Return(buffer);
        return hash;
    }

    /// <summary>
    /// The fingerprint of a single-turn alpaca record given as spans (the cleaner's fast path reads them without
    /// making strings); equal to <see cref="Of"/>/<see cref="OfNormalized"/> of the same record parsed in full.
    /// </summary>
    public static ulong OfAlpaca(ReadOnlySpan<char> system, ReadOnlySpan<char> instruction, ReadOnlySpan<char> input,
        ReadOnlySpan<char> output, bool normalized)
    {
        var buffer = ArrayPool<char>.Shared.Rent(system.Length + instruction.Length + input.Length + output.Length + 40);
        var length = 0;
        if (!system.IsEmpty)
            AppendMessage(buffer, ref length, ChatMessage.System, system, "", normalized);
        AppendMessage(buffer, ref length, ChatMessage.User, instruction, input, normalized);
        AppendMessage(buffer, ref length, ChatMessage.Assistant, output, "", normalized);
        var hash = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(buffer.AsSpan(0, length)));
        ArrayPool<char>.Shared.Return(buffer);
        return hash;
    }

    private static int MaxLength(Conversation conversation)
    {
        const int overhead = 12; // longest role name plus the two separators
        if (conversation.Alpaca is not { } alpaca)
            return conversation.Messages.Sum(m => m.Content.Length + overhead);
        var length = (alpaca.System?.Length ?? 0) + alpaca.Instruction.Length + alpaca.Input.Length + 1 + alpaca.Output.Length + overhead * 3;
        foreach (var (user, assistant) in alpaca.History)
            length += user.Length + assistant.Length + overhead * 2;
        return length;
    }

    /// <summary>One turn; an alpaca user turn is the instruction, a line break and the input (when there is one).</summary>
    private static void AppendMessage(char[] buffer, ref int length, string role, ReadOnlySpan<char> content, ReadOnlySpan<char> input, bool normalized)
    {
        role.CopyTo(buffer.AsSpan(length));
        length += role.Length;
        buffer[length++] = TurnSeparator;
        length += Append(content, buffer.AsSpan(length), normalized);
        if (input.Length > 0)
        {
            if (!normalized)
                buffer[length++] = '\n';
            length += Append(input, buffer.AsSpan(length), normalized);
        }
        buffer[length++] = MessageEnd;
    }

    private static int Append(ReadOnlySpan<char> text, Span<char> destination, bool normalized)
    {
        if (!normalized)
        {
            text.CopyTo(destination);
            return text.Length;
        }
        // Branch-free: every character is stored, and the length only moves past the ones that are not dropped
        // (punctuation comes at unpredictable places; a branch per character mispredicts on it).
        if (destination.Length < text.Length)
            throw new ArgumentException("destination is shorter than the text", nameof(destination));
        var length = 0;
        ref var fold = ref MemoryMarshal.GetArrayDataReference(FoldTable.Value);
        ref var target = ref MemoryMarshal.GetReference(destination);
        foreach (var c in text)
        {
            var folded = Unsafe.Add(ref fold, c);
            Unsafe.Add(ref target, length) = folded;
            length += folded != '\0' ? 1 : 0;
        }
        return length;
    }
}
