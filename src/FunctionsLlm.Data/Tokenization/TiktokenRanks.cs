using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace FunctionsLlm.Data.Tokenization;

/// <summary>
/// A tiktoken vocabulary: one line per token, its bytes in base64, whitespace, and its rank (which is its id and its
/// merge priority). THUDM's glm-4-9b-chat ships it as tokenizer.model and reads it with
/// <c>token, rank = line.strip().split()</c>.
/// </summary>
internal static partial class TiktokenRanks
{
    private const int LongestFirstLineSniffed = 1024;

    /// <summary>Whether the file starts with a tiktoken line (a SentencePiece model starts with a protobuf tag byte).</summary>
    public static bool LooksLikeTiktoken(byte[] content)
    {
        var end = Array.IndexOf(content, (byte)'\n', 0, Math.Min(content.Length, LongestFirstLineSniffed));
        if (end < 0 && content.Length > LongestFirstLineSniffed)
            return false;
        var firstLine = Encoding.Latin1.GetString(content, 0, end < 0 ? content.Length : end);
        return TiktokenLine().IsMatch(firstLine);
    }

    /// <summary>The bytes of each token, indexed by rank (null where no token has that rank).</summary>
    /// <exception cref="TokenizerLoadException">A line is malformed, a token or rank repeats, or a single byte has no token.</exception>
    public static byte[]?[] Parse(string path, byte[] content)
    {
        var text = Encoding.Latin1.GetString(content);
        var lines = text.Split('\n');
        var lineCount = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        var rankOfToken = new Dictionary<byte[], (int Rank, int Line)>(lineCount, ByteArrayComparer.Instance);
        var tokenOfRank = new Dictionary<int, (byte[] Token, int Line)>(lineCount);
        for (var i = 0; i < lineCount; i++)
        {
            var (token, rank) = ParseLine(path, lines[i], i + 1);
            if (rankOfToken.TryGetValue(token, out var earlier))
                throw new TokenizerLoadException(path, $"line {i + 1}: the token is already on line {earlier.Line} (rank {earlier.Rank}).");
            if (tokenOfRank.TryGetValue(rank, out var other))
                throw new TokenizerLoadException(path, $"line {i + 1}: rank {rank} is already on line {other.Line}.");
            rankOfToken[token] = (rank, i + 1);
            tokenOfRank[rank] = (token, i + 1);
        }

        for (var b = 0; b < 256; b++)
        {
            if (!rankOfToken.ContainsKey([(byte)b]))
                throw new TokenizerLoadException(path, $"no token is the single byte 0x{b:X2}; a tiktoken vocabulary needs all 256.");
        }

        var tokens = new byte[]?[tokenOfRank.Keys.Max() + 1];
        foreach (var (rank, (token, _)) in tokenOfRank)
            tokens[rank] = token;
        return tokens;
    }

    private static (byte[] Token, int Rank) ParseLine(string path, string line, int number)
    {
        var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 2)
            throw new TokenizerLoadException(path, $"line {number}: expected \"<base64 token> <rank>\", found {fields.Length} fields.");
        var token = new byte[fields[0].Length];
        if (!Convert.TryFromBase64String(fields[0], token, out var length) || length == 0)
            throw new TokenizerLoadException(path, $"line {number}: \"{Shorten(fields[0])}\" is not a non-empty base64 token.");
        if (!int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var rank))
            throw new TokenizerLoadException(path, $"line {number}: rank \"{Shorten(fields[1])}\" is not a non-negative integer.");
        return (token[..length], rank);
    }

    private static string Shorten(string field) => field.Length <= 40 ? field : field[..40] + "…";

    [GeneratedRegex(@"^[A-Za-z0-9+/]+={0,2}[ \t]+[0-9]+\r?$", RegexOptions.CultureInvariant)]
    private static partial Regex TiktokenLine();

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static ByteArrayComparer Instance { get; } = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] bytes)
        {
            var hash = new HashCode();
            hash.AddBytes(bytes);
            return hash.ToHashCode();
        }
    }
}
