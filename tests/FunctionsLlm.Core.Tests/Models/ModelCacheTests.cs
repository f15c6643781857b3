using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Models;
using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.Core.Tests.Models;

public sealed class ModelCacheTests : IDisposable
{
    private const string Model = "support-bot";

    // What Publish uploaded for support-bot/v1, by path relative to the merged prefix (listing order: ordinal).
    private static readonly Dictionary<string, byte[]> V1 = new()
    {
        ["config.json"] = "{\"model_type\":\"qwen2\"}"u8.ToArray(),
        ["extra/notes.txt"] = "nested paths are kept"u8.ToArray(),
        ["model.safetensors"] = Bytes(2_500_000, seed: 1), // more than one 1 MiB copy buffer
        ["tokenizer.json"] = "{\"model\":{\"type\":\"BPE\"}}"u8.ToArray(),
    };

    private readonly TempFolder _temp = new("flm-cache-");
    private readonly LocalFolderStore _store;

    public ModelCacheTests()
    {
        _store = new LocalFolderStore(Path.Combine(_temp, "store"));
        foreach (var (name, content) in V1)
            Put($"{Model}/v1/{name}", content);
        Put($"{Model}/v10/config.json", "{\"a decoy\":\"v1/ must not match v10/\"}"u8.ToArray());
        Put($"{Model}/v2/config.json", "{\"version\":2}"u8.ToArray());
        Put($"{Model}/v3/config.json", "{\"version\":3}"u8.ToArray());
    }

    private string CacheRoot => Path.Combine(_temp, "cache");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Downloads_every_artifact_under_the_merged_prefix_keeping_relative_paths()
    {
        var path = await new ModelCache(_store, CacheRoot).GetLocalPathAsync(Model, Manifest("v1"));

        Assert.Equal(Path.Combine(CacheRoot, Model, "v1"), path);
        AssertHolds(V1, path);
    }

    [Fact]
    public async Task A_cached_version_is_served_without_the_store()
    {
        var first = await new ModelCache(_store, CacheRoot).GetLocalPathAsync(Model, Manifest("v1"));
        Directory.Delete(Path.Combine(_temp, "store", "models", Model, "v1"), recursive: true);

        var sameInstance = new ObservedStore(_store);
        var cache = new ModelCache(sameInstance, CacheRoot);
        Assert.True(cache.IsCached(Model, "v1"));
        var second = await cache.GetLocalPathAsync(Model, Manifest("v1"));

        Assert.Equal(first, second);
        Assert.Equal(0, sameInstance.Opens);
        AssertHolds(V1, second);
    }

    [Fact]
    public async Task Concurrent_calls_for_one_version_download_it_once()
    {
        var observed = new ObservedStore(_store) { BeforeOpen = (_, ct) => Task.Delay(20, ct) };
        var cache = new ModelCache(observed, CacheRoot);

        var paths = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => cache.GetLocalPathAsync(Model, Manifest("v1")))));

        Assert.All(paths, p => Assert.Equal(Path.Combine(CacheRoot, Model, "v1"), p));
        Assert.Equal(V1.Count, observed.Opens);
        AssertHolds(V1, paths[0]);
    }

    [Fact]
    public async Task A_download_that_fails_midway_leaves_nothing_that_looks_complete()
    {
        var broken = new ObservedStore(_store)
        {
            BeforeOpen = (name, _) => name.EndsWith("model.safetensors", StringComparison.Ordinal)
                ? throw new IOException("connection reset") : Task.CompletedTask,
        };

        await Assert.ThrowsAsync<IOException>(() => new ModelCache(broken, CacheRoot).GetLocalPathAsync(Model, Manifest("v1")));

        Assert.False(Directory.Exists(Path.Combine(CacheRoot, Model, "v1")));
        Assert.Empty(Directory.GetFiles(CacheRoot, "*", SearchOption.AllDirectories));
        var cache = new ModelCache(_store, CacheRoot);
        Assert.False(cache.IsCached(Model, "v1"));
        AssertHolds(V1, await cache.GetLocalPathAsync(Model, Manifest("v1")));
    }

    [Fact]
    public async Task A_cancelled_download_leaves_nothing_behind()
    {
        using var cancel = new CancellationTokenSource();
        var observed = new ObservedStore(_store)
        {
            BeforeOpen = (name, _) =>
            {
                if (name.EndsWith("tokenizer.json", StringComparison.Ordinal))
                    cancel.Cancel();
                return Task.CompletedTask;
            },
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new ModelCache(observed, CacheRoot).GetLocalPathAsync(Model, Manifest("v1"), cancel.Token));

        Assert.Empty(Directory.GetFiles(CacheRoot, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_version_folder_left_without_its_completion_marker_is_downloaded_again()
    {
        // What a crash of some earlier process could leave at the final path: some of the files, no marker.
        var folder = Path.Combine(CacheRoot, Model, "v1");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), "{\"truncated\":");
        File.WriteAllText(Path.Combine(folder, "stale.bin"), "from an older attempt");
        var cache = new ModelCache(_store, CacheRoot);
        Assert.False(cache.IsCached(Model, "v1"));

        AssertHolds(V1, await cache.GetLocalPathAsync(Model, Manifest("v1")));
    }

    [Fact]
    public async Task A_prefix_without_artifacts_is_reported_with_container_and_prefix()
    {
        var e = await Assert.ThrowsAsync<ArtifactNotFoundException>(() =>
            new ModelCache(_store, CacheRoot).GetLocalPathAsync(Model, Manifest("v9")));

        Assert.Equal("models", e.Container);
        Assert.Equal("support-bot/v9/", e.Name);
        Assert.Contains("'models/support-bot/v9/'", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(CacheRoot, Model, "v9")));
    }

    [Fact]
    public async Task Prune_deletes_every_version_but_the_kept_ones()
    {
        var cache = new ModelCache(_store, CacheRoot);
        foreach (var version in new[] { "v1", "v2", "v3" })
            await cache.GetLocalPathAsync(Model, Manifest(version));

        Assert.Equal(["v1", "v2"], cache.Prune(Model, ["v3"]));

        Assert.Equal(["v3"], VersionFolders());
        Assert.True(cache.IsCached(Model, "v3"));
        Assert.False(cache.IsCached(Model, "v1"));
        Assert.Empty(cache.Prune(Model, ["v3"]));
        Assert.Empty(cache.Prune("never-cached", []));
    }

    [Fact]
    public async Task Prune_leaves_a_version_alone_while_it_downloads()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var observed = new ObservedStore(_store)
        {
            BeforeOpen = async (name, ct) =>
            {
                if (name.StartsWith($"{Model}/v2/", StringComparison.Ordinal))
                {
                    started.TrySetResult();
                    await release.Task.WaitAsync(ct);
                }
            },
        };
        var cache = new ModelCache(observed, CacheRoot);
        await cache.GetLocalPathAsync(Model, Manifest("v1"));

        var downloading = cache.GetLocalPathAsync(Model, Manifest("v2"));
        await started.Task;
        var pruned = cache.Prune(Model, []);
        release.SetResult();
        await downloading;

        Assert.Equal(["v1"], pruned);
        Assert.Equal(["v2"], VersionFolders());
        Assert.True(cache.IsCached(Model, "v2"));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData(".hidden")]
    public async Task Names_that_are_not_one_folder_are_refused(string name)
    {
        var cache = new ModelCache(_store, CacheRoot);

        await Assert.ThrowsAsync<ArgumentException>(() => cache.GetLocalPathAsync(name, Manifest("v1")));
        await Assert.ThrowsAsync<ArgumentException>(() => cache.GetLocalPathAsync(Model, Manifest("v1") with { Version = name }));
        Assert.Throws<ArgumentException>(() => cache.Prune(name, []));
    }

    private static ModelManifest Manifest(string version) => new()
    {
        Version = version,
        MergedPrefix = $"{Model}/{version}/",
        CreatedAt = new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.Zero),
    };

    /// <summary>The folder holds exactly the published files (the cache's own dot-file marker aside), byte for byte.</summary>
    private static void AssertHolds(Dictionary<string, byte[]> expected, string folder)
    {
        var actual = Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(n => !Path.GetFileName(n).StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual);
        foreach (var (name, content) in expected)
            Assert.Equal(content, File.ReadAllBytes(Path.Combine(folder, name)));
    }

    private string[] VersionFolders() =>
    [
        .. Directory.GetDirectories(Path.Combine(CacheRoot, Model)).Select(Path.GetFileName).OfType<string>()
            .Where(n => !n.StartsWith('.')).Order(StringComparer.Ordinal),
    ];

    private void Put(string name, byte[] content) =>
        File.WriteAllBytes(CreateParent(_store.PathOf(BlobLayout.Models, name)), content);

    private static string CreateParent(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
