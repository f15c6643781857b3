using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Models;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Serving.Engine;
using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Serving.Hosting;

/// <summary>What an <see cref="AdapterFollower"/> serves and how.</summary>
/// <param name="BaseModelPrefix">The base's folder in <c>models/</c> (ending with '/'); its adapters are under <c>{prefix}adapters/</c>.</param>
/// <param name="CacheRoot">Local folder for the base and downloaded adapter versions.</param>
/// <param name="ModelName">The id clients use for the base; null for the prefix's last segment.</param>
public sealed record AdapterFollowerOptions(string BaseModelPrefix, string CacheRoot, string? ModelName = null)
{
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);

    public EngineOptions Engine { get; init; } = new();

    /// <summary>The id clients pass as <c>model</c> for the bare base.</summary>
    public string ServedName => ModelName ?? BaseModelPrefix.TrimEnd('/').Split('/')[^1];
}

/// <summary>
/// Serves a base model and every adapter the pipeline publishes for it (<c>publish: adapter</c>): loads
/// <c>models/{base}</c> once into an <see cref="EngineSlot"/>, then at each poll reads the adapter manifests
/// <c>models/{base}adapters/{name}/current.json</c> and hot-loads each new version under its name, checked against the
/// base's fingerprint; requests running on an older version finish on it. An adapter whose manifest is removed stops
/// being served. A version that fails is refused (see <see cref="Problems"/>) and the one before keeps serving.
/// </summary>
public sealed class AdapterFollower(IArtifactStore store, EngineSlot engines, AdapterFollowerOptions options, ILogger<AdapterFollower> logger)
{
    private readonly ModelCache _cache = new(store, Path.Combine(options.CacheRoot, "adapters"));
    private readonly Dictionary<string, string> _seenETags = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _versions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _problems = new(StringComparer.Ordinal);

    /// <summary>The served base's fingerprint, once it is loaded.</summary>
    public string? BaseSha256 { get; private set; }

    /// <summary>The adapter versions being served, by adapter name.</summary>
    public IReadOnlyDictionary<string, string> Versions => new Dictionary<string, string>(_versions, StringComparer.Ordinal);

    /// <summary>Why an adapter's newest manifest is not being served, by adapter name.</summary>
    public IReadOnlyDictionary<string, string> Problems => new Dictionary<string, string>(_problems, StringComparer.Ordinal);

    /// <summary>Polls until cancelled; each failure is logged and retried at the next poll.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Polling.RunAsync(CheckOnceAsync, options.PollInterval, logger, $"Following the adapters of models/{options.BaseModelPrefix}", cancellationToken);

    /// <summary>Loads the base if it is not yet, then reads the adapter manifests once; returns the adapters added or replaced.</summary>
    public async Task<int> CheckOnceAsync(CancellationToken cancellationToken = default)
    {
        var engine = engines.Current ?? await LoadBaseAsync(cancellationToken);
        string adapters = BlobLayout.Model.AdaptersPrefix(options.BaseModelPrefix);
        var manifests = new Dictionary<string, ArtifactInfo>(StringComparer.Ordinal);
        await foreach (var item in store.ListAsync(BlobLayout.Models, adapters, cancellationToken))
        {
            string[] parts = item.Name[adapters.Length..].Split('/');
            if (parts is [var name, "current.json"])
                manifests[name] = item;
        }
        int changed = 0;
        foreach (var (name, item) in manifests)
        {
            if (_seenETags.GetValueOrDefault(name) == item.ETag)
                continue;
            string json = await store.ReadTextAsync(BlobLayout.Models, item.Name, cancellationToken);
            _seenETags[name] = item.ETag;
            if (await TryServeAsync(engine, name, json, cancellationToken))
                changed++;
        }
        foreach (string gone in _versions.Keys.Where(n => !manifests.ContainsKey(n)).ToList())
        {
            engine.Adapters.Remove(gone);
            _versions.Remove(gone);
            _seenETags.Remove(gone);
            logger.LogInformation("No longer serving adapter {Adapter}: its manifest was removed", gone);
        }
        return changed;
    }

    private async Task<InferenceEngine> LoadBaseAsync(CancellationToken cancellationToken)
    {
        string folder = Path.Combine(options.CacheRoot, "base");
        if (!await store.DownloadFolderAsync(BlobLayout.Models, options.BaseModelPrefix, folder, cancellationToken: cancellationToken))
            throw new InvalidOperationException($"{BlobLayout.Models}/{options.BaseModelPrefix} holds no model");
        BaseSha256 = await DirectoryFingerprint.ComputeSha256Async(folder, cancellationToken);
        var served = await Task.Run(() => ServedModel.Load(folder, options.ServedName), cancellationToken);
        var engine = new InferenceEngine(served, options.Engine);
        engines.Swap(engine);
        logger.LogInformation("Serving base {Model} from models/{Prefix} ({Sha256})", options.ServedName, options.BaseModelPrefix, BaseSha256);
        return engine;
    }

    private async Task<bool> TryServeAsync(InferenceEngine engine, string name, string json, CancellationToken cancellationToken)
    {
        if (!AdapterManifest.TryParse(json, out var manifest, out string? problem))
            return Refuse(name, problem);
        if (_versions.GetValueOrDefault(name) == manifest.Version)
            return false;
        if (manifest.BaseSha256 != BaseSha256)
            return Refuse(name, $"version {manifest.Version} was trained on base {manifest.BaseSha256}; this app serves base {BaseSha256}");
        string folder;
        try
        {
            folder = await _cache.GetLocalPathAsync(name, manifest.Version, manifest.AdapterPrefix, cancellationToken);
        }
        catch (ArtifactNotFoundException)
        {
            return Refuse(name, $"version {manifest.Version}: {BlobLayout.Models}/{manifest.AdapterPrefix} holds nothing");
        }
        catch (ArgumentException e)
        {
            return Refuse(name, $"version {manifest.Version}: {e.Message}");   // a name no folder can have
        }
        try
        {
            engine.AddAdapter(name, folder, $"{BlobLayout.Models}/{manifest.AdapterPrefix}", manifest.Version, replace: true);
        }
        catch (EngineRejectedException e)
        {
            return Refuse(name, $"version {manifest.Version}: {e.Message}");
        }
        string? previous = _versions.GetValueOrDefault(name);
        _versions[name] = manifest.Version;
        _problems.Remove(name);
        logger.LogInformation("Serving adapter {Adapter} version {Version}", name, manifest.Version);
        // The previous version stays: requests queued for it reload it from there if it was evicted.
        _cache.Prune(name, previous is null ? [manifest.Version] : [manifest.Version, previous]);
        return true;
    }

    private bool Refuse(string name, string problem)
    {
        _problems[name] = problem;
        logger.LogError("Not serving the new version of adapter {Adapter}: {Problem}", name, problem);
        return false;
    }
}
