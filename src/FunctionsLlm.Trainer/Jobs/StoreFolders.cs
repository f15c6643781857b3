using System.Text;
using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.Trainer.Jobs;

/// <summary>Folders in the store (every artifact under a prefix ending with '/') to and from local folders.</summary>
public static class StoreFolders
{
    private const string Marker = ".flm-complete";

    /// <summary>Every artifact under the prefix; empty when there is none.</summary>
    public static async Task<List<ArtifactInfo>> ListAsync(IArtifactStore store, string container, string prefix, CancellationToken cancellationToken)
    {
        var items = new List<ArtifactInfo>();
        await foreach (var item in store.ListAsync(container, prefix, cancellationToken))
            items.Add(item);
        return items;
    }

    /// <summary>
    /// Downloads every artifact under <paramref name="prefix"/> into <paramref name="folder"/> (relative paths kept), unless
    /// the folder already holds exactly those versions (names and ETags, recorded in a marker written last).
    /// </summary>
    /// <exception cref="InputMissingException">Nothing is stored under the prefix.</exception>
    public static async Task<string> DownloadAsync(IArtifactStore store, string container, string prefix, string folder, string what,
        CancellationToken cancellationToken)
    {
        var items = await ListAsync(store, container, prefix, cancellationToken);
        if (items.Count == 0)
            throw new InputMissingException($"{what} not found: nothing is stored under {container}/{prefix}");
        string fingerprint = string.Join('\n', items.Select(i => $"{i.Name}\t{i.ETag}\t{i.Length}"));
        string marker = Path.Combine(folder, Marker);
        if (File.Exists(marker) && await File.ReadAllTextAsync(marker, Encoding.UTF8, cancellationToken) == fingerprint)
            return folder;
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        foreach (var item in items)
            await store.DownloadFileAsync(container, item.Name, LocalPath(folder, item.Name[prefix.Length..]), cancellationToken);
        await File.WriteAllTextAsync(marker, fingerprint, Encoding.UTF8, cancellationToken);
        return folder;
    }

    /// <summary>Uploads every file under <paramref name="folder"/> to <c>{prefix}{relative path}</c>; <paramref name="last"/> (a file name) goes last.</summary>
    public static async Task UploadAsync(IArtifactStore store, string container, string prefix, string folder, CancellationToken cancellationToken,
        string? last = null)
    {
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => (Path: f, Name: prefix + Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/')))
            .Where(f => Path.GetFileName(f.Path) != Marker)
            .OrderBy(f => Path.GetFileName(f.Path) == last)
            .ThenBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        foreach (var (path, name) in files)
            await store.UploadFileAsync(container, name, path, cancellationToken);
    }

    /// <summary>Deletes every artifact under the prefix.</summary>
    public static async Task DeleteAsync(IArtifactStore store, string container, string prefix, CancellationToken cancellationToken)
    {
        foreach (var item in await ListAsync(store, container, prefix, cancellationToken))
            await store.DeleteAsync(container, item.Name, cancellationToken);
    }

    private static string LocalPath(string folder, string relative)
    {
        string path = Path.GetFullPath(Path.Combine(folder, relative.Replace('/', Path.DirectorySeparatorChar)));
        string root = Path.GetFullPath(folder) + Path.DirectorySeparatorChar;
        return path.StartsWith(root, StringComparison.Ordinal) ? path : throw new InvalidDataException($"artifact name '{relative}' leaves its folder");
    }
}

/// <summary>An input the job names is not in the store (a missing base model, adapter or dataset).</summary>
public sealed class InputMissingException(string message) : Exception(message);
