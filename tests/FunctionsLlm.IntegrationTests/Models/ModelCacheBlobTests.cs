using Azure.Storage.Blobs;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Contracts;
using FunctionsLlm.Core.Models;
using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.IntegrationTests.Models;

/// <summary>The model cache against Azurite, started by scripts/test.sh (FLM_TEST_STORAGE_CONNECTION).</summary>
public sealed class ModelCacheBlobTests : IDisposable
{
    private readonly TempFolder _temp = new("flm-cache-blob-");
    private readonly BlobArtifactStore _store = new(new BlobServiceClient(Azurite.ConnectionString));

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Downloads_a_published_model_folder_then_serves_it_from_disk_without_the_blobs()
    {
        var model = $"m{Guid.NewGuid():N}"[..20];
        var files = new Dictionary<string, byte[]>
        {
            ["config.json"] = "{\"model_type\":\"qwen2\",\"hidden_size\":8}"u8.ToArray(),
            ["model-00001-of-00002.safetensors"] = Bytes(9_000_001, seed: 1), // more than one 8 MiB transfer block
            ["model-00002-of-00002.safetensors"] = Bytes(1_000, seed: 2),
            ["model.safetensors.index.json"] = "{\"weight_map\":{}}"u8.ToArray(),
            ["tokenizer/tokenizer.json"] = "{\"model\":{\"type\":\"BPE\"}}"u8.ToArray(),
        };
        var manifest = new ModelManifest { Version = "v1", MergedPrefix = $"{model}/v1/", CreatedAt = DateTimeOffset.UtcNow };
        foreach (var (name, content) in files)
        {
            await using var stream = new MemoryStream(content, writable: false);
            await _store.WriteAsync(BlobLayout.Models, manifest.MergedPrefix + name, stream);
        }
        var root = Path.Combine(_temp, "cache");

        var path = await new ModelCache(_store, root).GetLocalPathAsync(model, manifest);

        Assert.Equal(Path.Combine(root, model, "v1"), path);
        AssertHolds(files, path);

        foreach (var name in files.Keys)
            Assert.True(await _store.DeleteAsync(BlobLayout.Models, manifest.MergedPrefix + name));
        Assert.Empty(await _store.ListAsync(BlobLayout.Models, manifest.MergedPrefix).ToListAsync());

        var again = await new ModelCache(_store, root).GetLocalPathAsync(model, manifest);

        Assert.Equal(path, again);
        AssertHolds(files, again);
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() =>
            new ModelCache(_store, Path.Combine(_temp, "other-cache")).GetLocalPathAsync(model, manifest));
    }

    /// <summary>The folder holds exactly the uploaded files (the cache's own dot-file marker aside), byte for byte.</summary>
    private static void AssertHolds(Dictionary<string, byte[]> expected, string folder)
    {
        var actual = Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(n => !Path.GetFileName(n).StartsWith('.'))
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual);
        foreach (var (name, content) in expected)
            Assert.Equal(content, File.ReadAllBytes(Path.Combine(folder, name)));
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
