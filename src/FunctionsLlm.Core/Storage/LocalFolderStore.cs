using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;

namespace FunctionsLlm.Core.Storage;

/// <summary>Artifacts as files under <c>{root}/{container}/{name}</c>: the embedded mode's stand-in for Blob Storage.</summary>
public sealed class LocalFolderStore : IArtifactStore
{
    public LocalFolderStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    /// <summary>The file that holds an artifact (it may not exist yet).</summary>
    public string PathOf(string container, string name)
    {
        ArtifactName.ValidateContainer(container);
        ArtifactName.ValidateName(name);
        return Path.Combine(Root, container, name.Replace('/', Path.DirectorySeparatorChar));
    }

    public Task<Stream> OpenReadAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        var path = PathOf(container, name);
        try
        {
            Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete,
                bufferSize: 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return Task.FromResult(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ArtifactNotFoundException(container, name, $"local folder {Root}", e);
        }
    }

    public async Task WriteAsync(string container, string name, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var path = PathOf(container, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Write beside the target, then rename over it: a crash leaves either the old file or the new one.
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None,
                             bufferSize: 1 << 16, FileOptions.Asynchronous))
            {
                await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public Task<ArtifactInfo?> GetInfoAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        var file = new FileInfo(PathOf(container, name));
        return Task.FromResult(file.Exists ? ToInfo(container, name, file) : null);
    }

    public async IAsyncEnumerable<ArtifactInfo> ListAsync(string container, string prefix = "",
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArtifactName.ValidateContainer(container);
        ArtifactName.ValidatePrefix(prefix);
        var containerDir = Path.Combine(Root, container);
        if (!Directory.Exists(containerDir))
            yield break;

        var names = Directory.EnumerateFiles(containerDir, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(containerDir, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var file = new FileInfo(Path.Combine(containerDir, name));
            if (file.Exists)
                yield return ToInfo(container, name, file);
            await Task.Yield();
        }
    }

    public Task<bool> DeleteAsync(string container, string name, CancellationToken cancellationToken = default)
    {
        var path = PathOf(container, name);
        if (!File.Exists(path))
            return Task.FromResult(false);
        if (LocalFileLease.IsHeld(Root, container, name))
            throw new ArtifactLeasedException(container, name);
        File.Delete(path);
        return Task.FromResult(true);
    }

    public Task<IArtifactLease?> TryLeaseAsync(string container, string name, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArtifactLease.CheckDuration(duration);
        return Task.FromResult(LocalFileLease.TryAcquire(Root, PathOf(container, name), container, name, $"local folder {Root}"));
    }

    private static ArtifactInfo ToInfo(string container, string name, FileInfo file)
    {
        // Length and write time identify a version well enough for a local folder (Blob ETags play this role in Azure).
        var stamp = $"{file.Length}:{file.LastWriteTimeUtc.Ticks}";
        var etag = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(stamp)).AsSpan(0, 8));
        return new ArtifactInfo(container, name, file.Length, file.LastWriteTimeUtc, $"\"{etag}\"");
    }
}
