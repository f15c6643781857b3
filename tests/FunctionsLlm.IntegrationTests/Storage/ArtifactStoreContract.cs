using System.Security.Cryptography;
using System.Text;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.IntegrationTests.Storage;

/// <summary>The behaviour every <see cref="IArtifactStore"/> must have, run against each implementation.</summary>
public abstract class ArtifactStoreContract
{
    protected abstract IArtifactStore Store { get; }

    /// <summary>A fresh prefix per test so runs never see each other's artifacts.</summary>
    protected string Prefix { get; } = $"t{Guid.NewGuid():N}/";

    [Fact]
    public async Task Upload_then_download_returns_the_same_bytes()
    {
        var name = Prefix + "datasets/cleaned.jsonl";
        await Store.WriteTextAsync(BlobLayout.Datasets, name, "{\"instruction\":\"退货\"}\n");

        Assert.Equal("{\"instruction\":\"退货\"}\n", await Store.ReadTextAsync(BlobLayout.Datasets, name));
        var info = await Store.GetInfoAsync(BlobLayout.Datasets, name);
        Assert.NotNull(info);
        Assert.Equal(Encoding.UTF8.GetByteCount("{\"instruction\":\"退货\"}\n"), info.Length);
    }

    [Fact]
    public async Task Overwrite_replaces_content_and_changes_the_etag()
    {
        var name = Prefix + "current.json";
        await Store.WriteTextAsync(BlobLayout.Models, name, "{\"version\":\"v1\"}");
        var first = await Store.GetInfoAsync(BlobLayout.Models, name);
        await Task.Delay(20);
        await Store.WriteTextAsync(BlobLayout.Models, name, "{\"version\":\"v2-longer\"}");
        var second = await Store.GetInfoAsync(BlobLayout.Models, name);

        Assert.Equal("{\"version\":\"v2-longer\"}", await Store.ReadTextAsync(BlobLayout.Models, name));
        Assert.NotEqual(first!.ETag, second!.ETag);
    }

    [Fact]
    public async Task List_returns_exactly_the_artifacts_under_a_prefix_in_name_order()
    {
        foreach (var n in new[] { "b/2.txt", "a/1.txt", "b/1.txt", "c.txt" })
            await Store.WriteTextAsync(BlobLayout.Runs, Prefix + n, n);
        await Store.WriteTextAsync(BlobLayout.Runs, $"other{Guid.NewGuid():N}/b/1.txt", "not mine");

        var all = await Names(Store.ListAsync(BlobLayout.Runs, Prefix));
        var underB = await Names(Store.ListAsync(BlobLayout.Runs, Prefix + "b/"));

        Assert.Equal(new[] { "a/1.txt", "b/1.txt", "b/2.txt", "c.txt" }.Select(n => Prefix + n), all);
        Assert.Equal(new[] { "b/1.txt", "b/2.txt" }.Select(n => Prefix + n), underB);
    }

    [Fact]
    public async Task Listing_an_empty_prefix_or_missing_container_yields_nothing()
    {
        Assert.Empty(await Names(Store.ListAsync(BlobLayout.Checkpoints, Prefix + "nothing/")));
        Assert.Empty(await Names(Store.ListAsync($"missing{Guid.NewGuid():N}"[..20], "")));
    }

    [Fact]
    public async Task Missing_artifact_gives_a_clear_not_found_error()
    {
        var name = Prefix + "does-not-exist.json";
        var error = await Assert.ThrowsAsync<ArtifactNotFoundException>(() => Store.OpenReadAsync(BlobLayout.Models, name));

        Assert.Equal(BlobLayout.Models, error.Container);
        Assert.Equal(name, error.Name);
        Assert.Contains($"models/{name}", error.Message, StringComparison.Ordinal);
        Assert.Null(await Store.GetInfoAsync(BlobLayout.Models, name));
        Assert.False(await Store.DeleteAsync(BlobLayout.Models, name));
    }

    [Fact]
    public async Task Delete_removes_the_artifact()
    {
        var name = Prefix + "x.bin";
        await Store.WriteTextAsync(BlobLayout.Checkpoints, name, "x");
        Assert.True(await Store.DeleteAsync(BlobLayout.Checkpoints, name));
        Assert.False(await Store.ExistsAsync(BlobLayout.Checkpoints, name));
    }

    [Fact]
    public async Task A_large_blob_streams_in_and_out_without_being_held_in_memory()
    {
        const long size = 96L * 1024 * 1024 + 12_345; // several upload blocks, not a multiple of the block size
        var name = Prefix + "large.bin";
        byte[] expectedHash;
        await using (var source = new PatternStream(size))
        {
            await Store.WriteAsync(BlobLayout.Checkpoints, name, source);
            expectedHash = source.Hash();
        }

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long read = 0;
        await using (var stream = await Store.OpenReadAsync(BlobLayout.Checkpoints, name))
        {
            var buffer = new byte[1 << 16];
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                read += n;
            }
        }

        Assert.Equal(size, read);
        Assert.Equal(expectedHash, sha.GetHashAndReset());
        Assert.Equal(size, (await Store.GetInfoAsync(BlobLayout.Checkpoints, name))!.Length);
    }

    [Fact]
    public async Task Invalid_names_are_refused_before_any_io()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.WriteTextAsync(BlobLayout.Runs, "../escape.txt", "x"));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.WriteTextAsync("Bad_Container", "a.txt", "x"));
    }

    [Fact]
    public async Task A_lease_is_exclusive_until_its_holder_releases_it()
    {
        var name = Prefix + "_active/job";
        await Store.WriteTextAsync(BlobLayout.Checkpoints, name, "job");
        var lease = await Store.TryLeaseAsync(BlobLayout.Checkpoints, name, TimeSpan.FromSeconds(15));
        Assert.NotNull(lease);
        await using (lease)
        {
            Assert.Null(await Store.TryLeaseAsync(BlobLayout.Checkpoints, name, TimeSpan.FromSeconds(15)));
            await lease.RenewAsync();
            Assert.Null(await Store.TryLeaseAsync(BlobLayout.Checkpoints, name, TimeSpan.FromSeconds(60)));
            Assert.Equal("job", await Store.ReadTextAsync(BlobLayout.Checkpoints, name));   // a lease does not stop readers
        }
        await using var next = await Store.TryLeaseAsync(BlobLayout.Checkpoints, name, TimeSpan.FromSeconds(15));
        Assert.NotNull(next);
    }

    [Fact]
    public async Task The_holder_deletes_the_leased_artifact_through_its_lease()
    {
        var name = Prefix + "_active/done";
        await Store.WriteTextAsync(BlobLayout.Checkpoints, name, "done");
        await using var lease = await Store.TryLeaseAsync(BlobLayout.Checkpoints, name, TimeSpan.FromSeconds(15));
        await lease!.DeleteAsync();

        Assert.False(await Store.ExistsAsync(BlobLayout.Checkpoints, name));
        var missing = await Assert.ThrowsAsync<ArtifactNotFoundException>(() => Store.TryLeaseAsync(BlobLayout.Checkpoints, name, TimeSpan.FromSeconds(15)));
        Assert.Equal(name, missing.Name);
    }

    [Fact]
    public async Task A_leased_artifact_cannot_be_deleted_without_its_lease()
    {
        var name = Prefix + "_active/held";
        await Store.WriteTextAsync(BlobLayout.Checkpoints, name, "job");
        await using (var lease = await Store.TryLeaseAsync(BlobLayout.Checkpoints, name, TimeSpan.FromSeconds(15)))
        {
            var refused = await Assert.ThrowsAsync<ArtifactLeasedException>(() => Store.DeleteAsync(BlobLayout.Checkpoints, name));
            Assert.Contains(name, refused.Message, StringComparison.Ordinal);
            Assert.True(await Store.ExistsAsync(BlobLayout.Checkpoints, name));
        }
        Assert.True(await Store.DeleteAsync(BlobLayout.Checkpoints, name), "released, anyone may delete it");
    }

    [Theory]
    [InlineData(14)]
    [InlineData(61)]
    public async Task Leases_last_15_to_60_seconds(int seconds)
    {
        var name = Prefix + "_active/x";
        await Store.WriteTextAsync(BlobLayout.Checkpoints, name, "x");
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.TryLeaseAsync(BlobLayout.Checkpoints, name, TimeSpan.FromSeconds(seconds)));
    }

    private static async Task<List<string>> Names(IAsyncEnumerable<ArtifactInfo> items)
    {
        var names = new List<string>();
        await foreach (var item in items)
            names.Add(item.Name);
        return names;
    }
}
