using System.Collections.Concurrent;
using System.Text.Json;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.Core.Models;

/// <summary>
/// Local copies of published model versions: <c>{root}/{model}/{version}/</c> holds every artifact under the
/// manifest's <see cref="ModelManifest.MergedPrefix"/> in the <see cref="BlobLayout.Models"/> container, relative paths
/// kept. A version is downloaded into <c>{root}/{model}/.partial/{version}/</c>, files streamed and flushed to disk,
/// then a <c>.flm-complete</c> marker is written and the folder renamed into place, so a crash mid-download never
/// leaves a folder that looks complete: a version folder without the marker is downloaded again. Versions are
/// immutable, so a complete folder is served without asking the store. Concurrent calls for one version download it
/// once. One instance should own a root (the locks are in-process).
/// </summary>
public sealed class ModelCache
{
    private const string CompleteMarker = ".flm-complete";
    private const string PartialFolder = ".partial";

    private readonly IArtifactStore _store;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public ModelCache(IArtifactStore store, string root)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        _store = store;
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    /// <summary>The folder that holds (or will hold) a version: <c>{root}/{model}/{version}</c>.</summary>
    public string PathOf(string model, string version)
    {
        RequireSegment(model, nameof(model));
        RequireSegment(version, nameof(version));
        return Path.Combine(Root, model, version);
    }

    /// <summary>Whether the version is completely downloaded.</summary>
    public bool IsCached(string model, string version) => File.Exists(Path.Combine(PathOf(model, version), CompleteMarker));

    /// <summary>
    /// The local folder of the manifest's version, downloading it first unless it is cached.
    /// </summary>
    /// <exception cref="ArgumentException">The model name or the manifest is invalid.</exception>
    /// <exception cref="ArtifactNotFoundException">Nothing is stored under the manifest's merged prefix.</exception>
    public async Task<string> GetLocalPathAsync(string model, ModelManifest manifest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        RequireSegment(model, nameof(model));
        if (manifest.Validate() is { Count: > 0 } problems)
            throw new ArgumentException($"Invalid ModelManifest for model '{model}': {string.Join("; ", problems)}", nameof(manifest));

        var folder = PathOf(model, manifest.Version);
        if (IsCached(model, manifest.Version))
            return folder;
        var gate = Gate(model, manifest.Version);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!IsCached(model, manifest.Version))
                await DownloadAsync(model, manifest, folder, cancellationToken).ConfigureAwait(false);
            return folder;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Deletes every version of <paramref name="model"/> except those in <paramref name="keep"/>, and leftovers of
    /// interrupted downloads; versions being downloaded right now are left alone. Returns the versions deleted, in
    /// ordinal order.
    /// </summary>
    public IReadOnlyList<string> Prune(string model, IEnumerable<string> keep)
    {
        RequireSegment(model, nameof(model));
        ArgumentNullException.ThrowIfNull(keep);
        var kept = keep.ToHashSet(StringComparer.Ordinal);
        var modelFolder = Path.Combine(Root, model);
        if (!Directory.Exists(modelFolder))
            return [];

        var deleted = new List<string>();
        foreach (var folder in Directory.EnumerateDirectories(modelFolder).Order(StringComparer.Ordinal))
        {
            var version = Path.GetFileName(folder);
            if (version == PartialFolder || kept.Contains(version) || ContractRules.SegmentProblem(version) is not null)
                continue;
            if (WhileIdle(model, version, () => DeleteVersionFolder(folder)))
                deleted.Add(version);
        }
        var partials = Path.Combine(modelFolder, PartialFolder);
        if (Directory.Exists(partials))
        {
            foreach (var partial in Directory.EnumerateDirectories(partials))
                WhileIdle(model, Path.GetFileName(partial), () => Directory.Delete(partial, recursive: true));
        }
        return deleted;
    }

    private async Task DownloadAsync(string model, ModelManifest manifest, string folder, CancellationToken cancellationToken)
    {
        var partial = Path.Combine(Root, model, PartialFolder, manifest.Version);
        if (Directory.Exists(partial))
            Directory.Delete(partial, recursive: true); // left by a process that crashed mid-download
        Directory.CreateDirectory(partial);
        try
        {
            var files = 0;
            long bytes = 0;
            await foreach (var artifact in _store.ListAsync(BlobLayout.Models, manifest.MergedPrefix, cancellationToken)
                               .ConfigureAwait(false))
            {
                bytes += await DownloadFileAsync(artifact, LocalPath(partial, manifest.MergedPrefix, artifact), cancellationToken)
                    .ConfigureAwait(false);
                files++;
            }
            if (files == 0)
                throw new ArtifactNotFoundException(BlobLayout.Models, manifest.MergedPrefix,
                    $"{_store.GetType().Name} (model '{model}' version '{manifest.Version}': no artifact has that prefix)");

            await WriteMarkerAsync(partial, manifest, files, bytes, cancellationToken).ConfigureAwait(false);
            if (Directory.Exists(folder))
                DeleteVersionFolder(folder); // no marker: an interrupted download or delete, never a complete version
            Directory.Move(partial, folder);
        }
        catch
        {
            if (Directory.Exists(partial))
                Directory.Delete(partial, recursive: true);
            throw;
        }
    }

    private async Task<long> DownloadFileAsync(ArtifactInfo artifact, string path, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var source = await _store.OpenReadAsync(artifact.Container, artifact.Name, cancellationToken).ConfigureAwait(false);
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None,
            bufferSize: 1 << 16, FileOptions.Asynchronous);
        await source.CopyToAsync(file, 1 << 20, cancellationToken).ConfigureAwait(false);
        file.Flush(flushToDisk: true);
        if (file.Length != artifact.Length)
            throw new IOException($"Downloaded {file.Length} bytes of '{artifact.Container}/{artifact.Name}', but it was listed with " +
                $"{artifact.Length}: it changed during the download.");
        return file.Length;
    }

    /// <summary>Where an artifact goes inside the download folder; names that would leave it are refused.</summary>
    private static string LocalPath(string partial, string prefix, ArtifactInfo artifact)
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
            throw new InvalidDataException($"Artifact '{artifact.Container}/{artifact.Name}' has the name of the cache's marker file.");
        return Path.Combine(partial, relative.Replace('/', Path.DirectorySeparatorChar));
    }

    private static async Task WriteMarkerAsync(string partial, ModelManifest manifest, int files, long bytes,
        CancellationToken cancellationToken)
    {
        var marker = new { manifest.Version, manifest.MergedPrefix, Files = files, Bytes = bytes, DownloadedAt = DateTimeOffset.UtcNow };
        await using var file = new FileStream(Path.Combine(partial, CompleteMarker), FileMode.CreateNew, FileAccess.Write);
        await JsonSerializer.SerializeAsync(file, marker, JsonDefaults.Indented, cancellationToken).ConfigureAwait(false);
        file.Flush(flushToDisk: true);
    }

    /// <summary>Removes the marker first, so an interrupted delete leaves a folder that is downloaded again.</summary>
    private static void DeleteVersionFolder(string folder)
    {
        File.Delete(Path.Combine(folder, CompleteMarker));
        Directory.Delete(folder, recursive: true);
    }

    private SemaphoreSlim Gate(string model, string version) =>
        _locks.GetOrAdd($"{model}/{version}", _ => new SemaphoreSlim(1, 1));

    /// <summary>Runs <paramref name="action"/> unless the version is being downloaded; returns whether it ran.</summary>
    private bool WhileIdle(string model, string version, Action action)
    {
        var gate = Gate(model, version);
        if (!gate.Wait(0))
            return false;
        try
        {
            action();
            return true;
        }
        finally
        {
            gate.Release();
        }
    }

    private static void RequireSegment(string value, string parameter)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value, parameter);
        if (ContractRules.SegmentProblem(value) is { } problem)
            throw new ArgumentException($"'{value}' cannot name a cache folder: it {problem}.", parameter);
    }
}
