using System.Collections.Concurrent;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.Core.Models;

/// <summary>
/// Local copies of published model versions: <c>{root}/{model}/{version}/</c> holds every artifact under the
/// manifest's <see cref="ModelManifest.MergedPrefix"/> (or an adapter version's prefix) in the <see cref="BlobLayout.Models"/>
/// container, relative paths kept, downloaded by <see cref="StoreFolders.DownloadFolderAsync"/> through <c>{root}/{model}/.partial/{version}/</c>
/// (a crash mid-download never leaves a folder that looks complete: one without the marker is downloaded again).
/// Versions are immutable, so a complete folder is served without asking the store. Concurrent calls for one version
/// download it once. One instance should own a root (the locks are in-process).
/// </summary>
public sealed class ModelCache
{
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
    public bool IsCached(string model, string version) => StoreFolders.IsComplete(PathOf(model, version));

    /// <summary>
    /// The local folder of the manifest's version, downloading it first unless it is cached.
    /// </summary>
    /// <exception cref="ArgumentException">The model name or the manifest is invalid.</exception>
    /// <exception cref="ArtifactNotFoundException">Nothing is stored under the manifest's merged prefix.</exception>
    public Task<string> GetLocalPathAsync(string model, ModelManifest manifest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        RequireSegment(model, nameof(model));
        if (manifest.Validate() is { Count: > 0 } problems)
            throw new ArgumentException($"Invalid ModelManifest for model '{model}': {string.Join("; ", problems)}", nameof(manifest));
        return GetLocalPathAsync(model, manifest.Version, manifest.MergedPrefix, cancellationToken);
    }

    /// <summary>
    /// The local folder of an immutable version stored under <paramref name="prefix"/> in <see cref="BlobLayout.Models"/>
    /// (a merged model, or an adapter), downloading it first unless it is cached.
    /// </summary>
    /// <exception cref="ArgumentException">The model name or version is not one path segment.</exception>
    /// <exception cref="ArtifactNotFoundException">Nothing is stored under the prefix.</exception>
    public async Task<string> GetLocalPathAsync(string model, string version, string prefix, CancellationToken cancellationToken = default)
    {
        var folder = PathOf(model, version);
        if (IsCached(model, version))
            return folder;
        var gate = Gate(model, version);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!IsCached(model, version))
                await DownloadAsync(model, version, prefix, folder, cancellationToken).ConfigureAwait(false);
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
            if (version == PartialFolder || kept.Contains(version) || ArtifactName.SegmentProblem(version) is not null)
                continue;
            if (WhileIdle(model, version, () => StoreFolders.DeleteLocalFolder(folder)))
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

    private async Task DownloadAsync(string model, string version, string prefix, string folder, CancellationToken cancellationToken)
    {
        var partial = Path.Combine(Root, model, PartialFolder, version);
        if (!await _store.DownloadFolderAsync(BlobLayout.Models, prefix, folder, partial, cancellationToken).ConfigureAwait(false))
            throw new ArtifactNotFoundException(BlobLayout.Models, prefix,
                $"{_store.GetType().Name} (model '{model}' version '{version}': no artifact has that prefix)");
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
        if (ArtifactName.SegmentProblem(value) is { } problem)
            throw new ArgumentException($"{ArtifactName.Quote(value)} cannot name a cache folder: it {problem}.", parameter);
    }
}
