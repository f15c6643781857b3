namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character table: byte-level BPE vocabularies spell every byte as a printable
/// character (a space becomes 'Ġ', a newline 'Ċ').
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] s_byteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> s_charToByte = BuildCharToByte(s_byteToChar);

    /// <summary>Spells the UTF-8 bytes of <paramref name="text"/> in the byte-level alphabet.</summary>
    public static string Encode(string text) => Spell(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>Spells bytes in the byte-level alphabet (e.g. a tiktoken vocabulary entry as tokenizer.json would).</summary>
    public static string Spell(byte[] bytes) =>
        string.Create(bytes.Length, bytes, static (chars, source) =>
        {
            for (var i = 0; i < source.Length; i++)
                chars[i] = s_byteToChar[source[i]];
        });

    /// <summary>
    /// Appends the bytes a vocabulary token stands for. A token containing a character outside the alphabet
    /// contributes its own UTF-8 bytes instead, as the Hugging Face ByteLevel decoder does.
    /// </summary>
    public static void AppendBytes(string token, List<byte> destination)
    {
        foreach (var c in token)
        {
            if (!s_charToByte.ContainsKey(c))
            {
                destination.AddRange(System.Text.Encoding.UTF8.GetBytes(token));
                return;
            }
        }

        foreach (var c in token)
            destination.Add(s_charToByte[c]);
    }

    /// <summary>How many bytes <see cref="AppendBytes"/> would append for the token.</summary>
    public static int ByteCount(string token)
    {
        foreach (var c in token)
        {
            if (!s_charToByte.ContainsKey(c))
                return System.Text.Encoding.UTF8.GetByteCount(token);
        }
        return token.Length;
    }

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }

        return table;
    }

    private static Dictionary<char, byte> BuildCharToByte(char[] byteToChar)
    {
        var map = new Dictionary<char, byte>(256);
        for (var b = 0; b < 256; b++)
            map[byteToChar[b]] = (byte)b;
        return map;
    }
}
