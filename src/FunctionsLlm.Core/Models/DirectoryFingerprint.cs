using System.Security.Cryptography;
using System.Text;

namespace FunctionsLlm.Core.Models;

/// <summary>
/// Identifies a model folder by the files that define its weights (<see cref="Contracts.ModelManifest.BaseSha256"/>).
/// </summary>
public static class DirectoryFingerprint
{
    /// <summary>
    /// The SHA-256, as 64 lowercase hex digits, of the text <c>sha256sum</c> prints for the folder's <c>config.json</c>
    /// and <c>*.safetensors</c> files: one line <c>{lowercase hex SHA-256 of the file}␠␠{file name}\n</c> per file,
    /// lines ordered by the file names' UTF-8 bytes, the text hashed as UTF-8. Only files directly in the folder take
    /// part (subfolders, the tokenizer and other files do not), names match case-sensitively, and the result is what
    /// <c>cd FOLDER &amp;&amp; LC_ALL=C sha256sum $(printf '%s\n' config.json *.safetensors | LC_ALL=C sort) | sha256sum</c>
    /// prints, for names without spaces, backslashes or newlines.
    /// </summary>
    /// <exception cref="FileNotFoundException">The folder has no config.json.</exception>
    public static async Task<string> ComputeSha256Async(string folder, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!File.Exists(Path.Combine(folder, "config.json")))
            throw new FileNotFoundException($"No config.json in {Path.GetFullPath(folder)}: it is not a model folder.",
                Path.Combine(folder, "config.json"));

        var names = Directory.EnumerateFiles(folder, "*", SearchOption.TopDirectoryOnly)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(n => n == "config.json" || n.EndsWith(".safetensors", StringComparison.Ordinal))
            .Select(n => (Name: n, Utf8: Encoding.UTF8.GetBytes(n)))
            .OrderBy(n => n.Utf8, Utf8Order.Instance)
            .Select(n => n.Name)
            .ToList();

        var listing = new StringBuilder();
        foreach (var name in names)
        {
            await using var file = new FileStream(Path.Combine(folder, name), FileMode.Open, FileAccess.Read, FileShare.Read,
                bufferSize: 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
            var hash = await SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false);
            listing.Append(Convert.ToHexStringLower(hash)).Append("  ").Append(name).Append('\n');
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(listing.ToString())));
    }

    private sealed class Utf8Order : IComparer<byte[]>
    {
        public static readonly Utf8Order Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
