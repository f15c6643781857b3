using System.Text;
using System.Text.Json;

namespace FunctionsLlm.Core.Storage;

/// <summary>Convenience reads and writes on top of the streaming <see cref="IArtifactStore"/> operations.</summary>
public static class ArtifactStoreExtensions
{
    public static async Task<bool> ExistsAsync(this IArtifactStore store, string container, string name,
        CancellationToken cancellationToken = default) =>
        await store.GetInfoAsync(container, name, cancellationToken).ConfigureAwait(false) is not null;

    public static async Task WriteTextAsync(this IArtifactStore store, string container, string name, string text,
        CancellationToken cancellationToken = default)
    {
        await using var content = new MemoryStream(Encoding.UTF8.GetBytes(text), writable: false);
        await store.WriteAsync(container, name, content, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The artifact as UTF-8 text (a byte order mark is dropped); see <see cref="ReadBytesAsync"/>.</summary>
    public static async Task<string> ReadTextAsync(this IArtifactStore store, string container, string name,
        CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(new MemoryStream(await store.ReadBytesAsync(container, name, cancellationToken).ConfigureAwait(false)), Encoding.UTF8);
        return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The whole artifact. A blob replaced while it is read fails the read (HTTP 412: a stream never mixes two versions);
    /// the new version is then read, a few times at most, so a reader polling what another process rewrites (a job's
    /// status) sees one version or the other, never an error.
    /// </summary>
    public static async Task<byte[]> ReadBytesAsync(this IArtifactStore store, string container, string name,
        CancellationToken cancellationToken = default)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await using var stream = await store.OpenReadAsync(container, name, cancellationToken).ConfigureAwait(false);
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
                return copy.ToArray();
            }
            catch (Azure.RequestFailedException e) when (e.Status == 412 && attempt < 3)
            {
            }
        }
    }

    public static async Task WriteJsonAsync<T>(this IArtifactStore store, string container, string name, T value,
        JsonSerializerOptions? options = null, CancellationToken cancellationToken = default)
    {
        await using var content = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(value, options ?? JsonDefaults.Indented));
        await store.WriteAsync(container, name, content, cancellationToken).ConfigureAwait(false);
    }

    public static async Task UploadFileAsync(this IArtifactStore store, string container, string name, string path,
        CancellationToken cancellationToken = default)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        await store.WriteAsync(container, name, file, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Downloads to <paramref name="path"/> through a temporary file, so a failed download leaves no partial file.</summary>
    public static async Task DownloadFileAsync(this IArtifactStore store, string container, string name, string path,
        CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var source = await store.OpenReadAsync(container, name, cancellationToken).ConfigureAwait(false))
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await source.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
