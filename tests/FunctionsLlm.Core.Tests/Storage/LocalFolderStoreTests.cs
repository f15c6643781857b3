using FunctionsLlm.Core;
using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.Core.Tests.Storage;

public sealed class LocalFolderStoreTests : IDisposable
{
    private readonly TempFolder _root = new("flm-local-");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Artifacts_live_under_root_container_and_name()
    {
        var store = new LocalFolderStore(_root);
        await store.WriteTextAsync(BlobLayout.Datasets, BlobLayout.Dataset.Cleaned("run1"), "x");

        Assert.Equal("x", File.ReadAllText(Path.Combine(_root, "datasets", "run1", "cleaned.jsonl")));
    }

    [Fact]
    public async Task A_failed_write_keeps_the_previous_content_and_leaves_no_temporary_file()
    {
        var store = new LocalFolderStore(_root);
        await store.WriteTextAsync(BlobLayout.Models, "m/current.json", "old");

        await Assert.ThrowsAsync<IOException>(() => store.WriteAsync(BlobLayout.Models, "m/current.json", new FailingStream()));

        Assert.Equal("old", await store.ReadTextAsync(BlobLayout.Models, "m/current.json"));
        Assert.Equal(["current.json"], Directory.GetFiles(Path.Combine(_root, "models", "m")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Download_to_a_file_goes_through_a_temporary_file()
    {
        var store = new LocalFolderStore(_root);
        await store.WriteTextAsync(BlobLayout.Runs, "r/summary.json", "{}");
        var target = Path.Combine(_root, "copy", "summary.json");

        await store.DownloadFileAsync(BlobLayout.Runs, "r/summary.json", target);
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => store.DownloadFileAsync(BlobLayout.Runs, "r/missing.json", target + ".2"));

        Assert.Equal("{}", File.ReadAllText(target));
        Assert.Equal(["summary.json"], Directory.GetFiles(Path.GetDirectoryName(target)!).Select(Path.GetFileName));
    }

    private sealed class FailingStream : MemoryStream
    {
        private int _reads;

        public FailingStream() : base(new byte[100_000]) { }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ++_reads > 1 ? throw new IOException("connection reset") : base.ReadAsync(buffer, cancellationToken);
    }
}
