using FunctionsLlm.Core.Storage;
using FunctionsLlm.Core.Tests.Models;

namespace FunctionsLlm.Core.Tests.Storage;

public sealed class StoreFoldersTests : IDisposable
{
    private readonly TempFolder _root = new("flm-store-folders-");
    private readonly ObservedStore _store;

    public StoreFoldersTests() => _store = new ObservedStore(new LocalFolderStore(Path.Combine(_root, "store")));

    public void Dispose() => _root.Dispose();

    private string Local(string name) => Path.Combine(_root, name);

    [Fact]
    public async Task A_folder_goes_up_without_its_marker_and_comes_down_complete_once_until_the_store_changes()
    {
        var source = Directory.CreateDirectory(Local("source")).FullName;
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        await File.WriteAllTextAsync(Path.Combine(source, "config.json"), "{}");
        await File.WriteAllTextAsync(Path.Combine(source, "sub", "weights.bin"), "0123456789");
        await File.WriteAllTextAsync(Path.Combine(source, StoreFolders.CompleteMarker), "a marker left by an earlier download");

        await _store.UploadFolderAsync("models", "m/v1/", source, last: "config.json");
        var stored = await _store.ListFolderAsync("models", "m/v1/");
        Assert.Equal(["m/v1/config.json", "m/v1/sub/weights.bin"], stored.Select(i => i.Name).Order(StringComparer.Ordinal));

        string target = Local("target");
        Assert.True(await _store.DownloadFolderAsync("models", "m/v1/", target));
        Assert.True(StoreFolders.IsComplete(target));
        Assert.Equal("0123456789", await File.ReadAllTextAsync(Path.Combine(target, "sub", "weights.bin")));
        Assert.False(Directory.Exists(target + ".partial"));
        Assert.Equal(2, _store.Opens);

        // The same versions: nothing is read again.
        Assert.True(await _store.DownloadFolderAsync("models", "m/v1/", target));
        Assert.Equal(2, _store.Opens);

        // A changed artifact: the folder is replaced whole.
        await File.WriteAllTextAsync(Path.Combine(source, "sub", "weights.bin"), "9876543210-changed");
        await _store.UploadFolderAsync("models", "m/v1/", source);
        Assert.True(await _store.DownloadFolderAsync("models", "m/v1/", target));
        Assert.Equal("9876543210-changed", await File.ReadAllTextAsync(Path.Combine(target, "sub", "weights.bin")));
        Assert.Equal(4, _store.Opens);
    }

    [Fact]
    public async Task A_model_folder_comes_down_without_the_adapters_published_for_it_and_is_not_changed_by_a_new_one()
    {
        await _store.WriteTextAsync("models", "base/config.json", "{}");
        await _store.WriteTextAsync("models", "base/model.safetensors", "weights");
        await _store.WriteTextAsync("models", BlobLayout.Model.AdapterCurrent("base/", "bot"), "{}");
        await _store.WriteTextAsync("models", BlobLayout.Model.AdapterVersionPrefix("base/", "bot", "v1") + "adapter_model.safetensors", "a");

        string target = Local("base");
        Assert.True(await _store.DownloadFolderAsync("models", "base/", target));
        Assert.Equal(["config.json", "model.safetensors"], Directory.GetFiles(target).Select(Path.GetFileName).Where(n => n != StoreFolders.CompleteMarker).Order(StringComparer.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(target, "adapters")));

        int opens = _store.Opens;
        await _store.WriteTextAsync("models", BlobLayout.Model.AdapterVersionPrefix("base/", "bot", "v2") + "adapter_model.safetensors", "b");
        Assert.True(await _store.DownloadFolderAsync("models", "base/", target));
        Assert.Equal(opens, _store.Opens);   // still complete: adapters are not part of the base

        // Nor is a GGUF published beside the model (ModelExports): not part of the folder, its fingerprint or its download.
        await _store.WriteTextAsync("models", "base/model-q8_0.gguf", "gguf");
        Assert.True(await _store.DownloadFolderAsync("models", "base/", target));
        Assert.Equal(opens, _store.Opens);
        Assert.False(File.Exists(Path.Combine(target, "model-q8_0.gguf")));

        // Other containers keep every file: a checkpoint's adapters/ folder is its own.
        await _store.WriteTextAsync("checkpoints", "job/adapters/x.bin", "x");
        Assert.True(await _store.DownloadFolderAsync("checkpoints", "job/", Local("job")));
        Assert.True(File.Exists(Path.Combine(Local("job"), "adapters", "x.bin")));
    }

    [Fact]
    public async Task Nothing_stored_changes_nothing_and_a_failed_download_leaves_no_complete_folder()
    {
        Assert.False(await _store.DownloadFolderAsync("models", "missing/", Local("missing")));
        Assert.False(Directory.Exists(Local("missing")));

        await _store.WriteTextAsync("models", "m/v2/config.json", "{}");
        await _store.WriteTextAsync("models", "m/v2/model.safetensors", "weights");
        _store.BeforeOpen = (name, _) => name.EndsWith("model.safetensors", StringComparison.Ordinal)
            ? throw new IOException("connection reset") : Task.CompletedTask;
        await Assert.ThrowsAsync<IOException>(() => _store.DownloadFolderAsync("models", "m/v2/", Local("v2")));
        Assert.False(Directory.Exists(Local("v2")));
        Assert.False(Directory.Exists(Local("v2") + ".partial"));

        await _store.DeleteFolderAsync("models", "m/v2/");
        Assert.Empty(await _store.ListFolderAsync("models", "m/v2/"));
    }
}
