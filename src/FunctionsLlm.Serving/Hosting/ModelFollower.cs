using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Models;
using FunctionsLlm.Core.Storage;
using FunctionsLlm.Serving.Engine;
using Microsoft.Extensions.Logging;

namespace FunctionsLlm.Serving.Hosting;

/// <summary>What a <see cref="ModelFollower"/> follows and how.</summary>
/// <param name="Model">The model name: <c>models/{Model}/current.json</c>, and the id clients pass.</param>
/// <param name="CacheRoot">Local folder for downloaded versions.</param>
/// <param name="ExpectedBaseSha256">When set, versions trained on another base (manifest baseSha256) are refused.</param>
public sealed record ModelFollowerOptions(string Model, string CacheRoot, string? ExpectedBaseSha256 = null)
{
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);

    public EngineOptions Engine { get; init; } = new();
}

/// <summary>
/// Keeps an <see cref="EngineSlot"/> serving the version <c>models/{model}/current.json</c> names: downloads the merged
/// folder once into a local cache, loads it, checks it against its manifest, and swaps it in without dropping
/// in-flight requests. A version that fails (bad manifest, other base, template mismatch, unloadable folder) is
/// refused with <see cref="LastError"/> set, and the current one keeps serving.
/// </summary>
public sealed class ModelFollower(IArtifactStore store, EngineSlot engines, ModelFollowerOptions options, ILogger<ModelFollower> logger)
{
    private readonly ModelCache _cache = new(store, options.CacheRoot);
    private string? _seenETag;

    /// <summary>The version being served, or null before the first one loads.</summary>
    public string? CurrentVersion { get; private set; }

    /// <summary>Why the newest manifest is not being served; null when it is.</summary>
    public string? LastError { get; private set; }

    /// <summary>Polls until cancelled; each failure is logged and retried at the next poll.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Polling.RunAsync(CheckOnceAsync, options.PollInterval, logger, $"Checking models/{options.Model}/current.json", cancellationToken);

    /// <summary>Reads the manifest once; returns true when a new version was swapped in.</summary>
    public async Task<bool> CheckOnceAsync(CancellationToken cancellationToken = default)
    {
        string name = BlobLayout.Model.Current(options.Model);
        var info = await store.GetInfoAsync(BlobLayout.Models, name, cancellationToken);
        if (info is null)
        {
            LastError = $"models/{name} does not exist yet";
            return false;
        }
        if (info.ETag == _seenETag)
            return false;
        string json = await store.ReadTextAsync(BlobLayout.Models, name, cancellationToken);
        _seenETag = info.ETag;

        if (!ModelManifest.TryParse(json, out var manifest, out string? problem))
            return Refuse(problem);
        if (manifest.Version == CurrentVersion)
            return false;
        if (options.ExpectedBaseSha256 is { } expected && manifest.BaseSha256 != expected)
            return Refuse($"version {manifest.Version} was trained on base {manifest.BaseSha256 ?? "(unknown)"}; this app serves base {expected}");

        string folder = await _cache.GetLocalPathAsync(options.Model, manifest, cancellationToken);
        var served = await Task.Run(() => ServedModel.Load(folder, options.Model), cancellationToken);
        if (manifest.ChatTemplate is { } template && served.Tokenizer.ChatTemplate is { } own && template != own)
        {
            served.Dispose();
            return Refuse($"version {manifest.Version}: the manifest's chat template differs from the one in its tokenizer_config.json");
        }
        engines.Swap(new InferenceEngine(served, options.Engine));
        string? previous = CurrentVersion;
        CurrentVersion = manifest.Version;
        LastError = null;
        logger.LogInformation("Serving {Model} version {Version} from {Folder}", options.Model, manifest.Version, folder);
        _cache.Prune(options.Model, previous is null ? [manifest.Version] : [manifest.Version, previous]);
        return true;
    }

    private bool Refuse(string problem)
    {
        LastError = problem;
        logger.LogError("Not serving the new model: {Problem}", problem);
        return false;
    }
}
