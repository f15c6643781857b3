using System.Text;
using FunctionsLlm.Core.Contracts;

namespace FunctionsLlm.Core.Storage;

/// <summary>
/// Folders in a store, every artifact under a prefix ending with '/', to and from local folders: the one way the apps
/// move a model, an adapter, a checkpoint or a report between the store and the disk.
/// <list type="bullet">
/// <item>A download lands in a partial folder, each file flushed to disk and checked against its listed length, then a
/// <see cref="CompleteMarker"/> naming every artifact (name, ETag, length) is written and the folder renamed into
/// place: a crash never leaves a folder that looks complete, and a folder whose marker matches the store's listing is
/// used as it is (nothing downloaded again).</item>
/// <item>An upload sends every file but the marker, relative paths kept, one chosen file last (a reader that sees it
/// finds the rest).</item>
/// </list>
/// </summary>
public static class StoreFolders
{
    /// <summary>Written last into a complete downloaded folder; never uploaded.</summary>
    public const string CompleteMarker = ".flm-complete";

    /// <summary>Whether <paramref name="folder"/> is a completely downloaded folder.</summary>
    public static bool IsComplete(string folder) => File.Exists(Path.Combine(folder, CompleteMarker));

    /// <summary>Every artifact under the prefix; empty when there is none.</summary>
    public static async Task<List<ArtifactInfo>> ListFolderAsync(this IArtifactStore store, string container, string prefix,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var items = new List<ArtifactInfo>();
        await foreach (var item in store.ListAsync(container, prefix, cancellationToken).ConfigureAwait(false))
            items.Add(item);
        return items;
    }

    /// <summary>
    /// Makes <paramref name="folder"/> hold exactly the artifacts under <paramref name="prefix"/>, downloading them through
    /// <paramref name="partialFolder"/> (default: <c>{folder}.partial</c>) unless the folder's marker already lists the same
    /// versions. Returns false, changing nothing, when nothing is stored under the prefix. In <see cref="BlobLayout.Models"/>
    /// a model folder's <see cref="BlobLayout.Model.AdaptersFolder"/> and its exports (<see cref="ModelExports"/>) are left
    /// out: adapters published for a base and GGUF files published beside a model are not part of it.
    /// </summary>
    public static async Task<bool> DownloadFolderAsync(this IArtifactStore store, string container, string prefix, string folder,
        string? partialFolder = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var items = await store.ListFolderAsync(container, prefix, cancellationToken).ConfigureAwait(false);
        if (container == BlobLayout.Models)
        {
            items.RemoveAll(i => i.Name.AsSpan(prefix.Length).StartsWith(BlobLayout.Model.AdaptersFolder, StringComparison.Ordinal)
                                 || ModelExports.IsExportFile(i.Name[prefix.Length..]));
        }
        if (items.Count == 0)
            return false;
        string listing = string.Join('\n', items.Select(i => $"{i.Name}\t{i.ETag}\t{i.Length}"));
        string marker = Path.Combine(folder, CompleteMarker);
        if (File.Exists(marker) && await File.ReadAllTextAsync(marker, Encoding.UTF8, cancellationToken).ConfigureAwait(false) == listing)
            return true;

        string partial = partialFolder ?? folder.TrimEnd(Path.DirectorySeparatorChar) + ".partial";
        if (Directory.Exists(partial))
            Directory.Delete(partial, recursive: true); // left by a process that stopped mid-download
        Directory.CreateDirectory(partial);
        try
        {
            foreach (var item in items)
                await DownloadFileAsync(store, item, LocalPath(partial, prefix, item), cancellationToken).ConfigureAwait(false);
            await using (var file = new FileStream(Path.Combine(partial, CompleteMarker), FileMode.CreateNew, FileAccess.Write))
            {
                await file.WriteAsync(Encoding.UTF8.GetBytes(listing), cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }
            if (Directory.Exists(folder))
                DeleteLocalFolder(folder);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(folder))!);
            Directory.Move(partial, folder);
            return true;
        }
        catch
        {
            if (Directory.Exists(partial))
                Directory.Delete(partial, recursive: true);
            throw;
        }
    }

    /// <summary>Uploads every file under <paramref name="folder"/> but the marker to <c>{prefix}{relative path}</c>; <paramref name="last"/> (a file name) goes last.</summary>
    public static async Task UploadFolderAsync(this IArtifactStore store, string container, string prefix, string folder,
        string? last = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => (Path: f, Name: prefix + Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/')))
            .Where(f => Path.GetFileName(f.Path) != CompleteMarker)
            .OrderBy(f => Path.GetFileName(f.Path) == last)
            .ThenBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        foreach (var (path, name) in files)
            await store.UploadFileAsync(container, name, path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes every artifact under the prefix.</summary>
    public static async Task DeleteFolderAsync(this IArtifactStore store, string container, string prefix, CancellationToken cancellationToken = default)
    {
        foreach (var item in await store.ListFolderAsync(container, prefix, cancellationToken).ConfigureAwait(false))
            await store.DeleteAsync(container, item.Name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes the marker first, so an interrupted delete leaves a folder that is downloaded again.</summary>
    public static void DeleteLocalFolder(string folder)
    {
        File.Delete(Path.Combine(folder, CompleteMarker));
        Directory.Delete(folder, recursive: true);
    }

    private static async Task DownloadFileAsync(IArtifactStore store, ArtifactInfo artifact, string path, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var source = await store.OpenReadAsync(artifact.Container, artifact.Name, cancellationToken).ConfigureAwait(false);
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16, FileOptions.Asynchronous);
        await source.CopyToAsync(file, 1 << 20, cancellationToken).ConfigureAwait(false);
        file.Flush(flushToDisk: true);
        if (file.Length != artifact.Length)
            throw new IOException($"Downloaded {file.Length} bytes of '{artifact.Container}/{artifact.Name}', but it was listed with " +
                $"{artifact.Length}: it changed during the download.");
    }

    /// <summary>Where an artifact goes inside the download folder; names that would leave it, or take the marker's name, are refused.</summary>
    private static string LocalPath(string folder, string prefix, ArtifactInfo artifact)
    {
        var relative = artifact.Name[prefix.Length..];
        try
        {
            ArtifactName.ValidateName(relative);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"Artifact '{artifact.Container}/{artifact.Name}' cannot be stored as a local file.", e);
        }
        if (relative == CompleteMarker)
            throw new InvalidDataException($"Artifact '{artifact.Container}/{artifact.Name}' has the name of the download marker.");
        return Path.Combine(folder, relative.Replace('/', Path.DirectorySeparatorChar));
    }
}
