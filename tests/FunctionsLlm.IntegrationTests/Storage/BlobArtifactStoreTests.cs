using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using FunctionsLlm.Core;
using FunctionsLlm.Core.Storage;

namespace FunctionsLlm.IntegrationTests.Storage;

/// <summary>The store contract against Azurite, started by scripts/test.sh (FLM_TEST_STORAGE_CONNECTION).</summary>
public sealed class BlobArtifactStoreTests : ArtifactStoreContract
{
    protected override IArtifactStore Store { get; } = new BlobArtifactStore(new BlobServiceClient(Azurite.ConnectionString));

    [Fact]
    public async Task Writes_create_the_container_on_demand()
    {
        var container = $"c{Guid.NewGuid():N}"[..24];
        await Store.WriteTextAsync(container, "a.txt", "hello");

        var service = new BlobServiceClient(Azurite.ConnectionString);
        Assert.True(await service.GetBlobContainerClient(container).ExistsAsync());
        await service.DeleteBlobContainerAsync(container);
    }

    [Fact]
    public async Task A_broken_lease_is_reported_lost_and_can_be_taken_by_another()
    {
        var name = Prefix + "_active/broken";
        await Store.WriteTextAsync(BlobLayout.Checkpoints, name, "job");
        await using var lease = await Store.TryLeaseAsync(BlobLayout.Checkpoints, name, TimeSpan.FromSeconds(15));
        var blob = new BlobServiceClient(Azurite.ConnectionString).GetBlobContainerClient(BlobLayout.Checkpoints).GetBlobClient(name);
        await blob.GetBlobLeaseClient().BreakAsync(TimeSpan.Zero);   // as an operator would, or as if it had lapsed

        await using var taken = await Store.TryLeaseAsync(BlobLayout.Checkpoints, name, TimeSpan.FromSeconds(15));
        Assert.NotNull(taken);
        var lost = await Assert.ThrowsAsync<ArtifactLeaseLostException>(() => lease!.RenewAsync());
        Assert.Contains(name, lost.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArtifactLeaseLostException>(() => lease!.DeleteAsync());
        Assert.True(await Store.ExistsAsync(BlobLayout.Checkpoints, name), "the old holder deleted nothing");
    }
}
